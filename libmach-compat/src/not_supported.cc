// libmach-compat/src/not_supported.cc — the rest of the declared Mach API.
//
// These calls are declared by the public headers (a macOS program that names
// them compiles and links) but machd does not provide them yet: threads, host
// and clock objects, exception ports, other tasks' memory, memory entries,
// lock sets. Each fails with KERN_NOT_SUPPORTED and does nothing,
// so a program can tell and fall back. Written out from the header
// declarations; keep in step with them.
#include <mach/mach.h>
#include <mach/mach_host.h>
#include <mach/mach_vm.h>
#include <mach/clock.h>
#include <mach/thread_act.h>
#include <mach/task.h>
#include <mach/vm_map.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"

extern "C" {

// <mach/host_priv.h>

// <mach/mach_vm.h>

// <mach/thread_act.h>

// <mach/clock.h>

// <mach/mach.h>
kern_return_t clock_get_res(mach_port_t clock_serv, clock_res_t *res) { return KERN_NOT_SUPPORTED; }
kern_return_t clock_set_res(mach_port_t clock_serv, clock_res_t res) { return KERN_NOT_SUPPORTED; }

// <mach/task.h>

// <mach/vm_map.h>

// <mach/mach_port.h>: the calls that are not traps are MIG user stubs
// (mach_portUser.c); machd answers those it does not serve with
// KERN_NOT_SUPPORTED.

}  // extern "C"
