// machd/kern/subsystems.h — the MIG subsystems machd's kernel objects serve.
#pragma once

#include "dispatch.h"

namespace machd::kern {

// Adds every kernel subsystem (mach_port, mach_host, host_priv, task,
// thread_act, vm_map, mach_vm, clock, clock_priv, semaphore, processor,
// processor_set, lock_set, mach_voucher, memory_entry, mach, task_emulation,
// machd_introspect)
// to `d`.
void add_kernel_subsystems(Dispatch& d);

// The entry of GNU Mach's `mach` subsystem (in a file of its own: its
// generated header cannot share one with taskServer.h).
Subsystem mach_subsystem_entry();

}  // namespace machd::kern
