// machd/ipc/task.h — tasks: creation, termination (the space dies and every
// right it held is released), task ports and special ports.
#pragma once

#include "types.h"

namespace machd::ipc {

// The kernel task (created by KernelImpl, never terminated but at the end).
TaskId task_create_kernel(Ipc& ipc);
// A new task: empty space, a task port whose receive right the kernel task
// holds, a send right to it in the new space (task_self), and a copy of the
// kernel-wide bootstrap port as its bootstrap special port.
TaskId task_create(Ipc& ipc, const Credentials& creds);
// Destroys `task` as its process exiting does (see Kernel::task_terminate):
// at once its blocked threads, fast lanes and task port; then its space,
// now or (incremental) by later task_reap calls.
void task_terminate(Ipc& ipc, TaskId task, bool incremental);

// Tears down the spaces of terminated tasks, oldest first, looking at no
// more than `budget` name slots (each right released as task_terminate
// would). True while some remain.
bool task_reap(Ipc& ipc, uint64_t budget);

TaskId task_resolve(Ipc& ipc, TaskId caller, mach_port_name_t name);
kern_return_t task_set_bootstrap(Ipc& ipc, mach_port_name_t kernel_name);
kern_return_t task_get_special(Ipc& ipc, TaskId caller, TaskId target, int which,
                               mach_port_name_t* out);
kern_return_t task_set_special(Ipc& ipc, TaskId caller, TaskId target, int which,
                               mach_port_name_t name);

}  // namespace machd::ipc
