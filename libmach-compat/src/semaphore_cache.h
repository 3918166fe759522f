// libmach-compat/src/semaphore_cache.h — the library's map from semaphore
// names to their mapped pages (semaphore.cc), and the events that change
// what a name means.
//
// A cached page is used without asking machd again, so the entry must go
// when the name may come to denote something else: the semaphore was
// destroyed (its page says so: the entry is dropped and the name looked up
// again), or this task released rights under the name through
// mach_port_deallocate / mach_port_mod_refs / mach_port_destroy (the
// library drops the entry; the next use asks machd). Not covered: a send
// right moved away in a message (MACH_MSG_TYPE_MOVE_SEND) whose name is
// then reused for another semaphore before the old name is used again.
#pragma once

#include <mach/port.h>

namespace machcompat {

// This task released rights named `name` in the space of `task`.
void semaphore_name_released(mach_port_t task, mach_port_name_t name);
// fork(): the child is a new task; the parent's names mean nothing there.
void semaphores_after_fork_child();

}  // namespace machcompat
