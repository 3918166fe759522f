// machd/ipc/kobject.h — kernel objects in the IPC core: ports labelled with
// (type, id) so that machd/kern can tell which object a message or a right
// is about (XNU's ip_kobject + ip_kotype).
//
// The core gives the label no meaning but two: a labelled port refuses
// port-destroyed requests (KERN_INVALID_RIGHT, as XNU refuses them on
// kobjects), and the label goes when the port dies. Task ports carry the
// label {kKObjectTaskType, task id}, set by task_create.
#pragma once

#include "types.h"

namespace machd::ipc {

// Allocates a port labelled `ko` with its receive right in `task`'s space.
// KERN_INVALID_ARGUMENT for type 0, KERN_NO_SPACE when the space is full.
kern_return_t kobject_alloc(Ipc& ipc, TaskId task, KObject ko, mach_port_name_t* name);

// The label of the port a send, send-once or receive right `name` of
// `caller` denotes; {0, 0} when there is none or the port is dead.
KObject kobject_of(Ipc& ipc, TaskId caller, mach_port_name_t name);
// The label of `port` ({0, 0}: none); a task port's is {kKObjectTaskType, task}.
KObject port_label(const Port& port);
// The task holding the receive right of the port a right `name` of
// `caller` denotes (kNoTask: no such right, a dead port, or in transit);
// *port_key gets a value unique to the port while it lives (0 if none).
TaskId port_receiver(Ipc& ipc, TaskId caller, mach_port_name_t name, uint64_t* port_key);

// Makes a send right from the receive right `kernel_name` of the kernel task
// and copies it out into `task`: *out is its name there (an existing send
// right to the port gains a user reference).
kern_return_t kobject_make_send(Ipc& ipc, TaskId task, mach_port_name_t kernel_name,
                                mach_port_name_t* out);

// Relabels the port of the kernel task's receive right `kernel_name`.
kern_return_t kobject_set(Ipc& ipc, mach_port_name_t kernel_name, KObject ko);

// Arms a no-senders notification on the kernel task's receive right
// `kernel_name`, delivered to the port itself (msgh_id
// MACH_NOTIFY_NO_SENDERS arrives where the object's requests arrive), as
// XNU's ipc_kobject_nsrequest. Fires at once if no send right exists now.
kern_return_t kobject_request_no_senders(Ipc& ipc, mach_port_name_t kernel_name);

// Current make-send count of the kernel task's receive right `kernel_name`
// (a no-senders notification older than this is stale); 0 if none.
mach_port_mscount_t kobject_mscount(Ipc& ipc, mach_port_name_t kernel_name);

}  // namespace machd::ipc
