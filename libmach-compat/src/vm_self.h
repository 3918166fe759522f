// libmach-compat/src/vm_self.h — the VM calls the library serves for the
// calling task itself, in-process, as XNU's libsyscall traps do: allocate,
// deallocate, protect and inherit (vm_calls.cc). Arguments are checked as
// XNU's vm_sanitize does (vm_sanitize.h); the answers are XNU's. For any
// other task the public calls send the MIG message (_kernelrpc_NAME).
#pragma once

#include <mach/kern_return.h>
#include <mach/vm_inherit.h>
#include <mach/vm_prot.h>

#include <cstdint>

namespace machcompat {

kern_return_t allocate_self(uint64_t* addr, uint64_t size, int flags);
kern_return_t deallocate_self(uint64_t addr, uint64_t size);
kern_return_t protect_self(uint64_t addr, uint64_t size, bool set_maximum, vm_prot_t prot);
kern_return_t inherit_self(uint64_t addr, uint64_t size, vm_inherit_t inheritance);

}  // namespace machcompat
