// libmach-compat/src/syscall_filter.h — the seccomp filter that makes the
// redirected system calls of this process raise SIGSYS (SECCOMP_RET_TRAP).
//
// One filter per growth of the redirected set: Linux never removes a
// filter, so a number stays trapped for the life of the process (and across
// execve); the SIGSYS handler runs a trapped call that is no longer
// redirected for real. Numbers the filter does not name are allowed without
// running it (the kernel's per-number cache of constant answers). A call
// made from the native gate (native_syscall.h) is always allowed.
#pragma once

#include <bitset>

namespace machcompat {

constexpr int kSyscallNumbers = 512;
using SyscallSet = std::bitset<kSyscallNumbers>;

// Installs a filter trapping `numbers` in every thread of the process
// (SECCOMP_FILTER_FLAG_TSYNC; threads created later inherit it). Sets
// no_new_privs first. Returns 0, or the errno of the refusal.
int install_trap_filter(const SyscallSet& numbers);

}  // namespace machcompat
