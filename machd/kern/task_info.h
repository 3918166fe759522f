// machd/kern/task_info.h — what task_info() reports about a task, read from
// what Linux knows about its process (/proc/PID/{stat,statm,status,io,maps,
// task/*/stat}) and from the identity machd verified when it connected.
//
// Flavors and count rules are XNU's (osfmk/kern/task.c task_info): a count
// below the flavor's (oldest) size is KERN_INVALID_ARGUMENT; TASK_VM_INFO and
// TASK_POWER_INFO_V2 answer the newest revision the count has room for; an
// unknown flavor is KERN_INVALID_ARGUMENT. Where Linux has no equivalent
// (Mach message counts, wakeup bins, GPU energy, compressor) the field is 0.
// Times: "terminated threads" are the process's total minus its live
// threads, "live threads" the sum of /proc/PID/task/*/stat.
#pragma once

#include <mach/task_info.h>
#include <sys/types.h>

#include "ipc/kernel.h"

namespace machd::kern {

// Fills `out` (room for *count integers) for the process `pid` whose
// verified identity is `creds`. A process that went away is KERN_FAILURE
// for the flavors read from /proc.
kern_return_t task_info_of(pid_t pid, const ipc::Credentials& creds, task_flavor_t flavor, integer_t* out,
                           mach_msg_type_number_t* count);

// Puts `suspensions` (machd's count of the task's suspensions, XNU's
// user_stop_count) in the suspend_count field of the answer `out` that
// task_info_of gave for a basic flavor (BASIC 32/64, BASIC2,
// MACH_TASK_BASIC_INFO); any other flavor's answer is left as it is.
void set_suspend_count(task_flavor_t flavor, integer_t* out, uint32_t suspensions);

}  // namespace machd::kern
