// machd/kern/process.h — what /proc says about a Linux process.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace machd::kern {

// The parent of process `pid` (/proc/PID/stat's fourth field), 0 if unknown.
pid_t parent_of(pid_t pid);

// When process `pid` started (/proc/PID/stat's 22nd field, in clock ticks
// since boot), 0 if there is no such process or it has exited (a zombie).
// It stays the same across execve and tells a process from a later one
// that reuses its pid.
uint64_t start_time_of(pid_t pid);

// A pidfd (close-on-exec) of process `pid` if it is still the process that
// started at `start_time`: -1 when it has exited or the pid now names a
// later process.
int open_process_fd(pid_t pid, uint64_t start_time);

// Whether process `pid` is getting on with what it was asked: some thread
// of it is running or waiting for a CPU ('R'), in an uninterruptible wait
// in the kernel ('D'), or stopped ('T', 't': SIGSTOP, a debugger). False
// when every thread sleeps ('S', 'I': each waits for something that is not
// coming, as far as a caller that already woke it can tell), or when there
// is no such process. Reads /proc/PID/task/*/stat.
bool may_still_answer(pid_t pid);

}  // namespace machd::kern
