// machd/kern/host_special_ports.cc — host_get_special_port and
// host_set_special_port (host_priv.defs), with XNU's rules
// (osfmk/kern/host.c, *_from_user):
//   get: host_priv only; HOST_SECURITY_PORT or an index outside
//        [HOST_MIN_SPECIAL_PORT, HOST_MAX_SPECIAL_PORT] is
//        KERN_INVALID_ARGUMENT; HOST_PORT / HOST_PRIV_PORT are the host's
//        own ports, HOST_IO_MAIN_PORT is null (no IOKit), the others what
//        was set (null when unset). `node` is ignored.
//   set: host_priv only; only the user indices (above
//        HOST_MAX_SPECIAL_KERNEL_PORT) are settable, others
//        KERN_INVALID_ARGUMENT. XNU lets only launchd (initproc) set them,
//        others KERN_NO_ACCESS; machd has no initproc and lets a root task
//        (euid 0) set them. MACH_PORT_NULL clears the slot; the slot keeps
//        the send right the request carried.
#include <mach/host_special_ports.h>
#include <mach/kern_return.h>

#include "host.h"
#include "runtime.h"
#include "translate.h"

extern "C" {
#include "host_privServer.h"
}

using machd::kern::Host;
using machd::kern::host;
using machd::kern::KType;
using machd::kern::runtime;
using machd::kern::translate;

extern "C" {

kern_return_t host_get_special_port(host_priv_t host_priv, int /*node*/, int which, mach_port_t* port) {
  if (!translate(host_priv, {KType::kHostPriv})) return KERN_INVALID_ARGUMENT;
  if (which == HOST_SECURITY_PORT || which < HOST_MIN_SPECIAL_PORT || which > HOST_MAX_SPECIAL_PORT)
    return KERN_INVALID_ARGUMENT;
  switch (which) {
    case HOST_PORT: *port = host().host_port(); break;
    case HOST_PRIV_PORT: *port = host().host_priv_port(); break;
    default: *port = host().special(which); break;  // HOST_IO_MAIN_PORT: never set, null
  }
  return KERN_SUCCESS;
}

kern_return_t host_set_special_port(host_priv_t host_priv, int which, mach_port_t port) {
  kern_return_t kr = KERN_SUCCESS;
  if (!translate(host_priv, {KType::kHostPriv}) || which <= HOST_MAX_SPECIAL_KERNEL_PORT ||
      which > HOST_MAX_SPECIAL_PORT)
    kr = KERN_INVALID_ARGUMENT;
  else if (!Host::privileged(runtime().request().sender))
    kr = KERN_NO_ACCESS;
  if (kr != KERN_SUCCESS) return kr;  // an error reply destroys the request's rights
  host().set_special(which, port);
  return KERN_SUCCESS;
}

}  // extern "C"
