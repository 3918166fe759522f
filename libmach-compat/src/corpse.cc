// libmach-compat/src/corpse.cc — see corpse.h.
#include "corpse.h"

#include <linux/futex.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <ctime>

#include "connection.h"
#include "native_syscall.h"

namespace machcompat {

namespace {

// Every system call here goes through the library's gate: never
// redirected by the task's emulation (a corpse must not end on SIGSYS),
// never a libc wrapper a sanitizer intercepts.
long native(long number, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0) {
  return long(mach_emulation_native(number, a0, a1, a2, a3, 0, 0));
}

// How long a corpse process waits for machd to adopt it before it ends:
// its parent may die, or machd refuse it, before machd knows of it.
constexpr long kAdoptionWaitSeconds = 30;

[[noreturn]] void be_a_corpse() {
  allow_machd_to_read_this_process();
  if (native(SYS_close_range, 0, long(~0u)) < 0) {  // (Linux before 5.9, or a filter refusing it)
    struct {
      uint64_t cur, max;
    } files{};
    native(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, long(&files));
    for (uint64_t fd = 0; fd < std::min<uint64_t>(files.cur, uint64_t(1) << 20); ++fd) native(SYS_close, long(fd));
  }
  // The kernel's struct sigaction, all zero: SIG_DFL (raw system calls:
  // the library's own sigaction keeps the program's handlers).
  struct {
    void* handler;
    unsigned long flags;
    void* restorer;
    uint64_t mask;
  } dfl{};
  // (Not SIGCONT's: setting it to its default, ignore, would discard one
  // machd already sent. It stays blocked, its handler never runs.)
  for (int sig = 1; sig < 65; ++sig)
    if (sig != SIGCONT) native(SYS_rt_sigaction, sig, long(&dfl), 0, long(sizeof dfl.mask));
  // SIGCONT (blocked since the fork) is machd's word that it adopted this
  // process; without it in time, the process ends.
  const uint64_t cont = uint64_t(1) << (SIGCONT - 1);
  native(SYS_rt_sigprocmask, SIG_SETMASK, long(&cont), 0, long(sizeof cont));
  const timespec adoption{kAdoptionWaitSeconds, 0};
  if (native(SYS_rt_sigtimedwait, long(&cont), 0, long(&adoption), long(sizeof cont)) != SIGCONT)
    native(SYS_exit_group, 0);
  // Waits for machd to kill it; ends by itself if machd's process ends
  // first (its liveness word; looked at every second, as the kernel wakes
  // only one sleeper on it).
  const uint32_t* live = machd_liveness_word();
  for (;;) {
    if (live == nullptr) {
      native(SYS_pause);
      continue;
    }
    const uint32_t word = __atomic_load_n(live, __ATOMIC_ACQUIRE);
    if (word & FUTEX_OWNER_DIED) native(SYS_exit_group, 0);
    const timespec second{1, 0};
    native(SYS_futex, long(live), FUTEX_WAIT, long(word), long(&second));
  }
}

}  // namespace

pid_t fork_corpse_process() {
  // fork() without the program's atfork handlers, and with no exit signal;
  // the child is born with SIGCONT blocked, so that machd's cannot be lost.
  const uint64_t cont = uint64_t(1) << (SIGCONT - 1);
  uint64_t old = 0;
  native(SYS_rt_sigprocmask, SIG_BLOCK, long(&cont), long(&old), long(sizeof cont));
  const long child = native(SYS_clone);
  if (child == 0) be_a_corpse();
  native(SYS_rt_sigprocmask, SIG_SETMASK, long(&old), 0, long(sizeof old));
  return child < 0 ? -1 : pid_t(child);
}

void reap_corpse_process(pid_t pid) {
  if (pid <= 0) return;
  native(SYS_kill, pid, SIGKILL);
  native(SYS_wait4, pid, 0, __WCLONE);
}

}  // namespace machcompat
