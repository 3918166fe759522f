// machd/daemon/syscall_filter.h — machd's own seccomp filter (libseccomp):
// once machd listens, the system calls it makes while serving are the only
// ones it may make. The pager programs install it too (kPager), once they
// serve, and so does mach-netmsgd (kNetwork).
//
// Contract
//   install_syscall_filter(): installs the filter on every thread of machd
//     (TSYNC). Allowed: the calls machd's loops, its kernel objects, the
//     fault router and logging make (file descriptors, memory, memfds and
//     seals, userfaultfd ioctls, io_uring and epoll, sockets it accepts and
//     sends on, process_vm_*, pidfds, signals to its tasks, clocks, threads
//     of its own — clone with CLONE_THREAD only). Everything else — exec,
//     fork, ptrace, mount, namespaces, module loading, bpf, keys, setuid,
//     creating a userfaultfd, ... — is refused: the call fails with ENOSYS
//     and machd logs it once per system call number ("refused by machd's
//     system-call filter"), so a call machd should have been allowed costs
//     one request an error, never machd or every task's kernel.
//     Returns false (with a reason) if the filter could not be installed;
//     machd then runs without it and says so.
//   Operations submitted through io_uring are not system calls and pass no
//     seccomp filter: machd's ring is registered, before it runs, to carry
//     only the operations machd submits (polls, accepts, cancellations,
//     timeouts; event_loop.cc), so it is no way around the filter.
//   A sanitizer build (ASan/LSan, which stop the world with ptrace at exit)
//     skips the filter and says so (syscall_filter_supported() false).
#pragma once

#include <string>

namespace machd {

// Who the filter is for. kPager: the pager programs shipped with machd
// (pagers/*), Mach tasks whose library serves machd's agent requests:
// machd's list plus what a task's library needs of its own (mlock for
// vm_wire, a new userfaultfd when it reconnects), and a refused call simply
// fails with ENOSYS (no SIGSYS handler: a task's library may own SIGSYS).
// kNetwork: mach-netmsgd, a Mach task like the pagers that also listens
// for and connects to other hosts (kPager's list plus bind and listen).
enum class FilterProfile { kDaemon, kPager, kNetwork };

bool syscall_filter_supported();
bool install_syscall_filter(FilterProfile profile, std::string* why_not);

}  // namespace machd
