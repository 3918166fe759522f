// machd/kern/subsystems.h — the MIG subsystems machd's kernel objects serve.
#pragma once

#include "dispatch.h"

namespace machd::kern {

// Adds every kernel subsystem (mach_port, mach_host, host_priv, task,
// thread_act, vm_map, mach_vm, clock, clock_priv, semaphore, processor,
// processor_set, lock_set, mach_voucher, memory_entry) to `d`.
void add_kernel_subsystems(Dispatch& d);

}  // namespace machd::kern
