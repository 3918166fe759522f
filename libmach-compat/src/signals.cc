// libmach-compat/src/signals.cc — see signals.h.
#include "signals.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace machcompat {

namespace {

constexpr int kMaxSig = 65;

// The program's disposition of a claimed signal, behind a sequence lock:
// handlers read it without locking; writers (sigaction) take the spin lock.
struct Recorded {
  std::atomic<uint32_t> seq{0};
  struct sigaction act {};
};
Recorded g_recorded[kMaxSig];
std::atomic<SignalFilter> g_filter[kMaxSig];
std::atomic<bool> g_claimed[kMaxSig];
std::atomic_flag g_write_lock = ATOMIC_FLAG_INIT;
std::atomic<CrashHook> g_crash_hook{nullptr};
std::atomic<bool> g_crash_reported{false};

using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);

SigactionFn real_fn() {
  static std::atomic<SigactionFn> fn{nullptr};
  SigactionFn f = fn.load(std::memory_order_acquire);
  if (f == nullptr) {
    f = reinterpret_cast<SigactionFn>(dlsym(RTLD_NEXT, "sigaction"));
    fn.store(f, std::memory_order_release);
  }
  return f;
}

struct sigaction read_recorded(int sig) {
  Recorded& r = g_recorded[sig];
  struct sigaction out;
  for (;;) {
    const uint32_t s1 = r.seq.load(std::memory_order_acquire);
    if (s1 & 1) continue;
    memcpy(&out, &r.act, sizeof out);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (r.seq.load(std::memory_order_relaxed) == s1) return out;
  }
}

void write_recorded(int sig, const struct sigaction& act) {
  while (g_write_lock.test_and_set(std::memory_order_acquire)) {
  }
  Recorded& r = g_recorded[sig];
  r.seq.fetch_add(1, std::memory_order_acq_rel);
  std::atomic_thread_fence(std::memory_order_release);
  memcpy(&r.act, &act, sizeof act);
  r.seq.fetch_add(1, std::memory_order_release);
  g_write_lock.clear(std::memory_order_release);
}

bool claimed(int sig) { return sig > 0 && sig < kMaxSig && g_claimed[sig].load(std::memory_order_acquire); }

// Signals whose default action is to do nothing (never claimed today, but
// forward_to_program must not kill for them).
bool default_ignores(int sig) {
  return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

// The process dies of `sig` as the kernel would have killed it: the default
// action is restored and the same signal is queued again to this thread; it
// is delivered (and kills, with a core dump where the signal makes one) as
// soon as the handler returns.
[[noreturn]] void die_of(int sig, siginfo_t* si) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  real_sigaction(sig, &dfl, nullptr);
  siginfo_t copy;
  memcpy(&copy, si, sizeof copy);
  copy.si_signo = sig;
  if (syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), sig, &copy) != 0)
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  // Not reached unless the signal is blocked for good: end the process the
  // way the signal would have.
  syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGKILL);
  for (;;) pause();
}

void on_claimed(int sig, siginfo_t* si, void* ucv) {
  const int saved = errno;
  auto* uc = static_cast<ucontext_t*>(ucv);
  SignalFilter f = sig > 0 && sig < kMaxSig ? g_filter[sig].load(std::memory_order_acquire) : nullptr;
  if (f == nullptr || !f(sig, si, uc)) forward_to_program(sig, si, uc);
  errno = saved;
}

}  // namespace

int real_sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  SigactionFn f = real_fn();
  if (f == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return f(sig, act, old);
}

bool claim_signal(int sig, SignalFilter filter, int extra_flags) {
  if (sig <= 0 || sig >= kMaxSig || sig == SIGKILL || sig == SIGSTOP) return false;
  g_filter[sig].store(filter, std::memory_order_release);
  if (g_claimed[sig].load(std::memory_order_acquire)) return true;
  struct sigaction ours {};
  ours.sa_sigaction = on_claimed;
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | extra_flags;
  sigemptyset(&ours.sa_mask);
  struct sigaction previous {};
  if (real_sigaction(sig, &ours, &previous) != 0) return false;
  write_recorded(sig, previous);
  g_claimed[sig].store(true, std::memory_order_release);
  return true;
}

void set_crash_hook(CrashHook hook) { g_crash_hook.store(hook, std::memory_order_release); }

void forward_to_program(int sig, siginfo_t* si, ucontext_t* uc) {
  if (sig <= 0 || sig >= kMaxSig) return;
  struct sigaction act = read_recorded(sig);
  const bool from_kernel = si != nullptr && si->si_code > 0;  // a fault, not kill()/sigqueue()
  if (!(act.sa_flags & SA_SIGINFO) && act.sa_handler == SIG_IGN) {
    if (!from_kernel) return;
    act.sa_handler = SIG_DFL;  // Linux forces a fault it cannot ignore
  }
  if (!(act.sa_flags & SA_SIGINFO) && act.sa_handler == SIG_DFL) {
    if (default_ignores(sig)) return;
    CrashHook hook = g_crash_hook.load(std::memory_order_acquire);
    if (hook != nullptr && !g_crash_reported.exchange(true)) hook(sig, si, uc);
    die_of(sig, si);
  }
  // The program's handler, under the mask the kernel would have set.
  if (act.sa_flags & SA_RESETHAND) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    write_recorded(sig, dfl);
  }
  sigset_t during = uc != nullptr ? uc->uc_sigmask : sigset_t{};
  if (uc == nullptr) pthread_sigmask(SIG_BLOCK, nullptr, &during);
  sigorset(&during, &during, &act.sa_mask);
  if (!(act.sa_flags & SA_NODEFER)) sigaddset(&during, sig);
  sigset_t before;
  pthread_sigmask(SIG_SETMASK, &during, &before);
  if (act.sa_flags & SA_SIGINFO)
    act.sa_sigaction(sig, si, uc);
  else
    act.sa_handler(sig);
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

}  // namespace machcompat

// ---- the program's view ------------------------------------------------------

extern "C" {

int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  using namespace machcompat;
  if (!claimed(sig)) return real_sigaction(sig, act, old);
  if (old != nullptr) *old = read_recorded(sig);
  if (act != nullptr) write_recorded(sig, *act);
  return 0;
}

// glibc's signal() and bsd_signal(): BSD semantics (the handler stays, the
// signal is blocked while it runs, system calls restart).
static sighandler_t install_simple(int sig, sighandler_t handler, int flags, bool block_self) {
  struct sigaction act {};
  act.sa_handler = handler;
  act.sa_flags = flags;
  sigemptyset(&act.sa_mask);
  if (block_self) sigaddset(&act.sa_mask, sig);
  struct sigaction old {};
  if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
  return old.sa_handler;
}

sighandler_t signal(int sig, sighandler_t handler) {
  if (sig <= 0 || sig >= 65 || handler == SIG_ERR) {
    errno = EINVAL;
    return SIG_ERR;
  }
  return install_simple(sig, handler, SA_RESTART, true);
}

sighandler_t bsd_signal(int sig, sighandler_t handler) { return signal(sig, handler); }

// System V semantics: the handler is reset when it runs and does not block
// the signal.
sighandler_t sysv_signal(int sig, sighandler_t handler) {
  if (sig <= 0 || sig >= 65 || handler == SIG_ERR) {
    errno = EINVAL;
    return SIG_ERR;
  }
  return install_simple(sig, handler, SA_RESETHAND | SA_NODEFER, false);
}
sighandler_t __sysv_signal(int sig, sighandler_t handler) { return sysv_signal(sig, handler); }

}  // extern "C"
