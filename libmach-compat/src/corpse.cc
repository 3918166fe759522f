// libmach-compat/src/corpse.cc — see corpse.h.
#include "corpse.h"

#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

[[noreturn]] void be_a_corpse() {
  allow_machd_to_read_this_process();
  native(SYS_close_range, 0, long(~0u));
  // The kernel's struct sigaction, all zero: SIG_DFL (raw system calls:
  // the library's own sigaction keeps the program's handlers).
  struct {
    void* handler;
    unsigned long flags;
    void* restorer;
    uint64_t mask;
  } dfl{};
  for (int sig = 1; sig < 65; ++sig) native(SYS_rt_sigaction, sig, long(&dfl), 0, long(sizeof dfl.mask));
  const uint64_t none = 0;
  native(SYS_rt_sigprocmask, SIG_SETMASK, long(&none), 0, long(sizeof none));
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
  // fork() without the program's atfork handlers, and with no exit signal.
  const long child = native(SYS_clone);
  if (child == 0) be_a_corpse();
  return child < 0 ? -1 : pid_t(child);
}

void reap_corpse_process(pid_t pid) {
  if (pid <= 0) return;
  native(SYS_kill, pid, SIGKILL);
  native(SYS_wait4, pid, 0, __WCLONE);
}

}  // namespace machcompat
