// libmach-compat/src/emulation.h — this task's system call redirection
// (<mach/emulation.h>): the working copy of its emulation vector and
// server, the SIGSYS handler that enters them, and their life across fork
// and exec. machd holds the record (machd/kern/emulation.h); the copy here
// is refreshed from it by emulation_sync().
#pragma once

#include <mach/kern_return.h>

namespace machcompat {

// MACHD_AGENT_EMULATION (on the agent thread): fetches the task's vector
// and server from machd, claims SIGSYS, and installs a filter for the
// numbers not trapped yet. KERN_NOT_SUPPORTED when Linux refuses the
// filter (the copy is then left as it was).
kern_return_t emulation_sync();

// In a fork child, once it is a task: takes its parent's emulation from
// machd (the child inherited the filter and this copy, not the rights).
void emulation_after_fork_child();

// At the library's start: an exec'd process still under a filter takes
// back its redirections to the server.
void emulation_at_start();

}  // namespace machcompat
