// pagers/common/sandbox.h — a pager program, once it serves, runs under
// machd's seccomp filter for pagers (machd/daemon/syscall_filter.h,
// FilterProfile::kPager): the system calls a Mach task and its store need,
// and no exec, fork, ptrace, mount, namespaces, module loading, ...
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

namespace pagerprog {

// Installs the filter on every thread; on failure says why on stderr
// ("<program>: running without a system-call filter: ...") and goes on.
void restrict_system_calls(const char* program);

}  // namespace pagerprog
