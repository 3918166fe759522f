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

}  // namespace machd::kern
