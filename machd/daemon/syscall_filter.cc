// machd/daemon/syscall_filter.cc — see syscall_filter.h.
#include "syscall_filter.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include <atomic>

namespace machd {

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// What machd does while it serves (found by tracing every test suite's
// machd, plus the calls of the same families its error and rare paths,
// glibc and spdlog make).
const char* const kAllowed[] = {
    // descriptors and files
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "close", "close_range", "dup", "dup2", "dup3", "fcntl", "openat", "open", "lseek", "newfstatat", "fstat",
    "stat", "lstat", "statx", "getdents64", "readlink", "readlinkat", "access", "faccessat", "faccessat2",
    "fstatfs", "statfs", "fsync", "fdatasync", "unlink", "unlinkat", "ftruncate", "fallocate",
    "copy_file_range", "sendfile", "splice", "memfd_create", "ioctl", "poll", "ppoll", "pselect6", "select",
    // memory
    "mmap", "munmap", "mremap", "mprotect", "madvise", "brk", "mincore", "membarrier",
    // threads, time, signals
    "futex", "set_robust_list", "get_robust_list", "rseq", "sched_yield", "sched_getaffinity", "getcpu",
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigtimedwait", "restart_syscall",
    "exit", "exit_group", "getrandom", "prctl",
    // identity and the host
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
    "getgroups", "uname", "sysinfo", "getrlimit", "prlimit64", "getrusage", "times",
    // tasks: their memory, their processes
    "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "kill", "tgkill",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "waitid", "wait4",
    // event loops and timers
    "io_uring_enter", "io_uring_register", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
    "epoll_pwait2", "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime", "signalfd4",
    // sockets: accepting tasks, talking to them, journald and sd_notify
    "socket", "connect", "accept", "accept4", "getsockopt", "setsockopt", "getsockname", "getpeername",
    "sendmsg", "recvmsg", "sendto", "recvfrom", "sendmmsg", "recvmmsg", "shutdown", "socketpair",
};

// What a Mach task's library needs beyond machd's list.
// futex_waitv: a blocked call also sleeps on machd's liveness word.
const char* const kPagerExtra[] = {"mlock", "munlock", "userfaultfd", "sched_setaffinity", "futex_waitv"};
// What a network server needs beyond a Mach task's list.
const char* const kNetworkExtra[] = {"bind", "listen"};

std::atomic<uint64_t> g_refused_seen[8];  // one bit per system call number below 512

// SIGSYS from a refused call: says so once per call number, and the call
// fails with ENOSYS. (Async-signal-safe: write(2) and atomics only.)
void on_sigsys(int, siginfo_t* info, void* context) {
  const int nr = info->si_syscall;
  auto* uc = static_cast<ucontext_t*>(context);
  uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
  if (nr >= 0 && nr < 512) {
    const uint64_t bit = uint64_t(1) << (nr % 64);
    if (g_refused_seen[nr / 64].fetch_or(bit) & bit) return;
  }
  char msg[96] = "machd: system call ";
  size_t n = strlen(msg);
  char digits[12];
  int d = 0;
  unsigned v = nr < 0 ? 0u : unsigned(nr);
  do digits[d++] = char('0' + v % 10); while ((v /= 10) != 0 && d < 11);
  while (d > 0) msg[n++] = digits[--d];
  const char tail[] = " refused by machd's system-call filter (ENOSYS)\n";
  memcpy(msg + n, tail, sizeof tail - 1);
  n += sizeof tail - 1;
  (void)!write(STDERR_FILENO, msg, n);
}

}  // namespace

bool syscall_filter_supported() { return !kSanitized; }

bool install_syscall_filter(FilterProfile profile, std::string* why_not) {
  if (kSanitized) {
    if (why_not) *why_not = "a sanitizer build (its leak checker needs ptrace at exit)";
    return false;
  }
  const bool daemon = profile == FilterProfile::kDaemon;
  if (daemon) {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, nullptr) != 0) {
      if (why_not) *why_not = std::string("sigaction(SIGSYS): ") + strerror(errno);
      return false;
    }
  }
  scmp_filter_ctx ctx = seccomp_init(daemon ? SCMP_ACT_TRAP : SCMP_ACT_ERRNO(ENOSYS));
  if (ctx == nullptr) {
    if (why_not) *why_not = "seccomp_init failed";
    return false;
  }
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  auto allow = [&](const char* name) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr != __NR_SCMP_ERROR && rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);  // (else: not on this architecture)
  };
  for (const char* name : kAllowed) allow(name);
  if (!daemon)
    for (const char* name : kPagerExtra) allow(name);
  if (profile == FilterProfile::kNetwork)
    for (const char* name : kNetworkExtra) allow(name);
  // Threads of its own only: clone with CLONE_THREAD; clone3 (whose flags
  // seccomp cannot see) fails with ENOSYS, so glibc falls back to clone.
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
  // (For a pager ENOSYS is the default already; libseccomp refuses a rule
  // that repeats it.)
  if (rc == 0 && daemon) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc == 0) rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) {
    if (why_not) *why_not = std::string("seccomp: ") + strerror(-rc);
    return false;
  }
  return true;
}

}  // namespace machd
