// machd/daemon/liveness.cc — see liveness.h.
#include "liveness.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "machd_abi.h"

namespace machd {

namespace {

// The page's layout: the futex word first (what tasks read), then the
// robust list machd's sentinel registers (only machd's mapping is written).
struct LivenessPage {
  uint32_t word;                 // MACHD_LIVENESS_WORD_OFFSET
  uint32_t pad;
  robust_list entry;             // the one lock the sentinel holds
  robust_list_head head;         // the sentinel's robust list
};
static_assert(offsetof(LivenessPage, word) == MACHD_LIVENESS_WORD_OFFSET, "liveness word");

// The sentinel: takes the word, registers it as its only robust futex, and
// sleeps for the rest of machd's life.
void sentinel(LivenessPage* p, std::atomic<bool>* ready) {
  p->entry.next = &p->head.list;
  p->head.list.next = &p->entry;
  p->head.futex_offset = long(offsetof(LivenessPage, word)) - long(offsetof(LivenessPage, entry));
  p->head.list_op_pending = nullptr;
  // FUTEX_WAITERS: the kernel, as it marks the word, then also wakes one
  // task asleep on it (who wakes the rest).
  std::atomic_ref<uint32_t>(p->word).store(uint32_t(gettid()) | FUTEX_WAITERS, std::memory_order_release);
  // This thread uses no glibc robust mutex: replacing its list loses nothing.
  syscall(SYS_set_robust_list, &p->head, sizeof p->head);
  ready->store(true, std::memory_order_release);
  for (;;) pause();
}

}  // namespace

Liveness::Liveness() {
  const long page = sysconf(_SC_PAGESIZE);
  int fd = memfd_create("machd-alive", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0 || ftruncate(fd, page) != 0) {
    if (fd >= 0) close(fd);
    spdlog::warn("liveness page: {}; tasks notice machd's death more slowly", strerror(errno));
    return;
  }
  void* m = mmap(nullptr, size_t(page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  // No one else may map it writable, nor resize it.
  if (m == MAP_FAILED ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    spdlog::warn("liveness page: {}; tasks notice machd's death more slowly", strerror(errno));
    if (m != MAP_FAILED) munmap(m, size_t(page));
    close(fd);
    return;
  }
  auto* p = static_cast<LivenessPage*>(m);
  std::atomic<bool> ready{false};
  // The sentinel takes no signal: SIGTERM and the rest stay with the loop's
  // signalfd.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  try {
    std::thread(sentinel, p, &ready).detach();
  } catch (const std::system_error& e) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    spdlog::warn("liveness sentinel: {}; tasks notice machd's death more slowly", e.what());
    munmap(m, size_t(page));
    close(fd);
    return;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  while (!ready.load(std::memory_order_acquire)) std::this_thread::yield();
  page_ = m;
  fd_ = fd;
}

Liveness::~Liveness() {
  // The sentinel lives as long as the process (it holds the page).
  if (fd_ >= 0) close(fd_);
}

}  // namespace machd
