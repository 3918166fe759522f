// machd/kern/thread_state.h — a parked thread's context (the thread slot the
// library's handler filled, machd_abi.h) seen as Mach's x86 thread-state
// flavors, as XNU's machine_thread_get_state/set_state present them.
//
// Pure functions: no I/O. `slot` is the machd copy of the region's slot or
// the slot itself (the thread is parked: nothing else writes it).
//   get: *count in = room (natural_t units), out = what was written.
//        KERN_INVALID_ARGUMENT for an unknown flavor or too little room.
//   set: count must be at least the flavor's; user-mode segments and the
//        RFLAGS bits a user may not change are kept. Marks the slot DIRTY.
// Debug registers are not in the slot (Linux keeps them for ptrace): the
// caller passes its stored copy (`debug`), which set_state updates.
#pragma once

#include <mach/kern_return.h>
#include <mach/thread_status.h>

#include "machd_abi.h"

namespace machd::kern {

kern_return_t get_thread_state(const machd_thread_slot& slot, const x86_debug_state64_t& debug, int flavor,
                               natural_t* out, mach_msg_type_number_t* count);
kern_return_t set_thread_state(machd_thread_slot& slot, x86_debug_state64_t& debug, int flavor,
                               const natural_t* in, mach_msg_type_number_t count);

}  // namespace machd::kern
