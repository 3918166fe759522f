// machd/kern/host.h — the host object: the host name port every task can
// have (mach_host_self) and the privileged host port (host_priv, root only),
// as XNU's realhost. The mach_host and host_priv routines are in host.cc.
#pragma once

#include <mach/port.h>

#include "ipc/kernel.h"

namespace machd::kern {

class Host {
 public:
  // Creates the host and host_priv ports (served by machd).
  Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Kernel-task names of the two ports.
  mach_port_name_t host_port() const { return host_; }
  mach_port_name_t host_priv_port() const { return host_priv_; }

  // mach_host_self(): a send right to the host port in `task`.
  mach_port_name_t host_self(ipc::TaskId task);

 private:
  mach_port_name_t host_ = MACH_PORT_NULL;
  mach_port_name_t host_priv_ = MACH_PORT_NULL;
};

// The host of this machd (set by the Host constructor).
Host& host();

}  // namespace machd::kern
