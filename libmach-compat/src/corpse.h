// libmach-compat/src/corpse.h — a corpse's process (machd/kern/corpse.h):
// a copy of this process that keeps its memory for machd to read and does
// nothing else until machd kills it.
#pragma once

#include <sys/types.h>

namespace machcompat {

// Forks the corpse process: the child closes every descriptor (a reader of
// a pipe the process writes still sees its end), takes every signal as its
// default action (a signal to the process group ends it too), runs none of
// the program's code and waits: for machd's SIGCONT (adopted) at most 30 s,
// then for machd's SIGKILL or machd's end. It has no exit signal: its end sends this
// process no SIGCHLD and the program's wait() never reaps it
// (reap_corpse_process does). Only system calls: safe in a signal handler
// and after the program's memory is damaged. Returns the child's pid, or
// -1.
pid_t fork_corpse_process();

// Ends the corpse process `pid` (SIGKILL, if machd did not already) and
// reaps it.
void reap_corpse_process(pid_t pid);

}  // namespace machcompat
