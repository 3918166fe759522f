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

namespace machcompat {

namespace {

[[noreturn]] void be_a_corpse() {
  allow_machd_to_read_this_process();
  syscall(SYS_close_range, 0, ~0u, 0);
  // The kernel's struct sigaction, all zero: SIG_DFL (raw system calls:
  // the library's own sigaction keeps the program's handlers).
  struct {
    void* handler;
    unsigned long flags;
    void* restorer;
    uint64_t mask;
  } dfl{};
  for (int sig = 1; sig < 65; ++sig) syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
  const uint64_t none = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof none);
  // Waits for machd to kill it; ends by itself if machd's process ends
  // first (its liveness word; looked at every second, as the kernel wakes
  // only one sleeper on it).
  const uint32_t* live = machd_liveness_word();
  for (;;) {
    if (live == nullptr) {
      syscall(SYS_pause);
      continue;
    }
    const uint32_t word = __atomic_load_n(live, __ATOMIC_ACQUIRE);
    if (word & FUTEX_OWNER_DIED) syscall(SYS_exit_group, 0);
    const timespec second{1, 0};
    syscall(SYS_futex, live, FUTEX_WAIT, word, &second, nullptr, 0);
  }
}

}  // namespace

pid_t fork_corpse_process() {
  // fork() without the program's atfork handlers, and with no exit signal.
  const long child = syscall(SYS_clone, 0, 0, 0, 0, 0);
  if (child == 0) be_a_corpse();
  return child < 0 ? -1 : pid_t(child);
}

void reap_corpse_process(pid_t pid) {
  if (pid <= 0) return;
  syscall(SYS_kill, pid, SIGKILL);
  syscall(SYS_wait4, pid, nullptr, __WCLONE, nullptr);
}

}  // namespace machcompat
