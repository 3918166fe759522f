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
// Destroys `task` as its process exiting does (see Kernel::task_terminate).
void task_terminate(Ipc& ipc, TaskId task);

TaskId task_resolve(Ipc& ipc, TaskId caller, mach_port_name_t name);
kern_return_t task_set_bootstrap(Ipc& ipc, mach_port_name_t kernel_name);
kern_return_t task_get_special(Ipc& ipc, TaskId caller, TaskId target, int which,
                               mach_port_name_t* out);
kern_return_t task_set_special(Ipc& ipc, TaskId caller, TaskId target, int which,
                               mach_port_name_t name);

}  // namespace machd::ipc
