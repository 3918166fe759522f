// libmach-compat/src/semaphore.cc — the semaphore traps (XNU's
// semaphore_*_trap, which libsyscall exports as semaphore_signal, ...).
//
// A semaphore is a kernel object machd serves (machd/kern/semaphore.h);
// semaphore_create / semaphore_destroy are its MIG routines on the task port.
// The count lives in a page machd shares with every task holding the
// semaphore (struct machd_semaphore_word, machd_abi.h). The first operation
// on a name fetches that page (MACHD_OP_SEMAPHORE_PAGE) and the library keeps
// it mapped under the name; after that, signal and wait are atomic
// operations on the word, and a futex wait / wake (shared, not PRIVATE: the
// other side may be another process) when a thread must sleep or be woken.
// machd takes no part in them.
//
// count = available units - waiting threads (negative while threads wait).
// A signal that finds waiters posts a wake-up token; a waiter takes one.
// Once machd destroys a semaphore it sets `destroyed` and posts tokens for
// all: waiters return KERN_TERMINATED; the next operation on the name finds
// the bit, forgets the page and answers as for a dead name
// (KERN_INVALID_ARGUMENT). A waiter also sleeps on machd's liveness word,
// and returns KERN_TERMINATED when machd's process ends (see wait()).
#include <linux/futex.h>
#include <mach/mach.h>
#include <mach/semaphore.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <memory>
#include <mutex>
#include <new>
#include <unordered_map>

#include "connection.h"
#include "machd_abi.h"
#include "machd_semaphore.h"
#include "native_syscall.h"
#include "semaphore_cache.h"

namespace {

// One mapped semaphore page (unmapped when no thread uses it any more).
struct Page {
  machd_semaphore_word* w = nullptr;
  ~Page() {
    if (w) munmap(w, MACHD_SEMAPHORE_PAGE_SIZE);
  }
  std::atomic<int32_t>& count() { return *reinterpret_cast<std::atomic<int32_t>*>(&w->count); }
  std::atomic<uint32_t>& tokens() { return *reinterpret_cast<std::atomic<uint32_t>*>(&w->tokens); }
  bool destroyed() { return reinterpret_cast<std::atomic<uint32_t>*>(&w->destroyed)->load(std::memory_order_acquire); }
};
using PagePtr = std::shared_ptr<Page>;

std::mutex g_mu;
std::unordered_map<mach_port_t, PagePtr> g_pages;
std::atomic<size_t> g_cached{0};  // g_pages.size(), read without the lock

PagePtr fetch(semaphore_t s) {
  machcompat::CallResult r = machcompat::call(MACHD_OP_SEMAPHORE_PAGE, {uint64_t(s)});
  if (r.result != KERN_SUCCESS) return nullptr;
  const int fd = machcompat::take_fd(r.rets[0]);
  if (fd < 0) return nullptr;
  void* p = mmap(nullptr, MACHD_SEMAPHORE_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return nullptr;
  auto page = std::make_shared<Page>();
  page->w = static_cast<machd_semaphore_word*>(p);
  return page;
}

// The page of semaphore `s` (null: not a semaphore in this task, or destroyed).
PagePtr find(semaphore_t s) {
  if (!MACH_PORT_VALID(s)) return nullptr;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_pages.find(s);
    if (it != g_pages.end()) {
      if (!it->second->destroyed()) return it->second;
      g_pages.erase(it);  // the name may denote another semaphore now: ask again
      g_cached.store(g_pages.size(), std::memory_order_release);
    }
  }
  PagePtr p = fetch(s);
  if (!p || p->destroyed()) return nullptr;
  std::lock_guard<std::mutex> lk(g_mu);
  PagePtr kept = g_pages.emplace(s, p).first->second;
  g_cached.store(g_pages.size(), std::memory_order_release);
  return kept;
}

// Takes a token if one is posted.
bool try_take(Page& s) {
  uint32_t t = s.tokens().load(std::memory_order_acquire);
  while (t > 0) {
    if (s.tokens().compare_exchange_weak(t, t - 1, std::memory_order_acq_rel)) return true;
  }
  return false;
}

enum class Took { kToken, kTimedOut, kInterrupted, kMachdEnded };

// Takes a token (deadline on CLOCK_MONOTONIC, or none). The sleep also ends
// on a signal handler (kInterrupted) and when machd's process ends
// (connection.h's sleep_on_region_word sleeps on machd's liveness word
// too): then a token already posted, or posted as machd died, is still
// taken; kMachdEnded only when none is.
Took take_token(Page& s, const timespec* deadline) {
  bool ended = false;
  for (;;) {
    if (try_take(s) || s.destroyed()) return Took::kToken;
    if (ended) return Took::kMachdEnded;
    int64_t ns = machcompat::kSleepForever;
    if (deadline) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      ns = (deadline->tv_sec - now.tv_sec) * 1000000000LL + (deadline->tv_nsec - now.tv_nsec);
      if (ns <= 0) return Took::kTimedOut;
    }
    switch (machcompat::sleep_on_region_word(&s.w->tokens, 0, ns)) {
      case machcompat::Woke::kMachdDied: ended = true; break;
      case machcompat::Woke::kInterrupted: return Took::kInterrupted;
      case machcompat::Woke::kChanged:
      case machcompat::Woke::kTimedOut: break;  // look again (the deadline above)
    }
  }
}

// Takes the token a signaller that already counted this waiter is about to
// post (it posts right after counting): only that token ends the wait.
void take_owed_token(Page& s) {
  while (!try_take(s) && !s.destroyed()) {
    machcompat::NativeScope native;  // never redirected
    syscall(SYS_futex, &s.w->tokens, FUTEX_WAIT, 0, nullptr, nullptr, 0);
  }
}

// The wait of semaphore_wait and its variants.
//
// When machd's process ends, a waiter no signal reached gives up with
// KERN_TERMINATED: the semaphore is a kernel object of machd's, so machd's
// end ends it as semaphore_destroy would, and KERN_TERMINATED is what XNU
// answers a waiter whose semaphore is destroyed. (KERN_ABORTED would be
// wrong: it says "interrupted, try again", and callers such as libdispatch
// retry it in a loop, which here would never end.) A signal that arrived
// first is consumed as usual: KERN_SUCCESS.
kern_return_t wait(Page& s, const timespec* deadline) {
  if (s.count().fetch_sub(1, std::memory_order_acq_rel) > 0) return KERN_SUCCESS;
  const Took took = take_token(s, deadline);
  if (took == Took::kToken) return s.destroyed() ? KERN_TERMINATED : KERN_SUCCESS;
  if (took == Took::kMachdEnded) machcompat::note_machd_gone();
  // Timed out, interrupted (XNU: KERN_ABORTED) or machd ended: withdraw,
  // unless a signal already counted us (then its token is ours and is about
  // to be posted).
  int32_t c = s.count().load(std::memory_order_acquire);
  while (c < 0) {
    if (s.count().compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) {
      switch (took) {
        case Took::kTimedOut: return KERN_OPERATION_TIMED_OUT;
        case Took::kInterrupted: return KERN_ABORTED;
        default: return KERN_TERMINATED;
      }
    }
  }
  take_owed_token(s);
  return s.destroyed() ? KERN_TERMINATED : KERN_SUCCESS;
}

timespec deadline_after(mach_timespec_t t) {
  timespec d{};
  clock_gettime(CLOCK_MONOTONIC, &d);
  d.tv_sec += t.tv_sec;
  d.tv_nsec += t.tv_nsec;
  if (d.tv_nsec >= 1000000000L) {
    d.tv_sec += 1;
    d.tv_nsec -= 1000000000L;
  }
  return d;
}

}  // namespace

namespace machcompat {

void semaphore_name_released(mach_port_t task, mach_port_name_t name) {
  if (task != mach_task_self() || g_cached.load(std::memory_order_acquire) == 0) return;
  std::lock_guard<std::mutex> lk(g_mu);
  g_pages.erase(name);
  g_cached.store(g_pages.size(), std::memory_order_release);
}

void semaphores_after_fork_child() {
  new (&g_mu) std::mutex;
  g_pages.clear();
  g_cached.store(0);
}

}  // namespace machcompat

extern "C" {

kern_return_t semaphore_signal(semaphore_t semaphore) {
  auto s = find(semaphore);
  if (!s) return KERN_INVALID_ARGUMENT;
  machd_sem_signal(s->w);
  return KERN_SUCCESS;
}

kern_return_t semaphore_signal_all(semaphore_t semaphore) {
  auto s = find(semaphore);
  if (!s) return KERN_INVALID_ARGUMENT;
  machd_sem_signal_all(s->w, UINT32_MAX);
  return KERN_SUCCESS;
}

kern_return_t semaphore_signal_thread(semaphore_t semaphore, thread_act_t thread) {
  if (thread != MACH_PORT_NULL) return KERN_NOT_SUPPORTED;  // a chosen thread: not provided
  auto s = find(semaphore);
  if (!s) return KERN_INVALID_ARGUMENT;
  return machd_sem_signal_waiter(s->w, UINT32_MAX) ? KERN_SUCCESS : KERN_NOT_WAITING;
}

kern_return_t semaphore_wait(semaphore_t semaphore) {
  auto s = find(semaphore);
  return s ? wait(*s, nullptr) : KERN_INVALID_ARGUMENT;
}

kern_return_t semaphore_timedwait(semaphore_t semaphore, mach_timespec_t wait_time) {
  auto s = find(semaphore);
  if (!s) return KERN_INVALID_ARGUMENT;
  if (wait_time.tv_nsec >= 1000000000) return KERN_INVALID_VALUE;
  timespec d = deadline_after(wait_time);
  return wait(*s, &d);
}

kern_return_t semaphore_wait_signal(semaphore_t wait_semaphore, semaphore_t signal_semaphore) {
  auto w = find(wait_semaphore), s = find(signal_semaphore);
  if (!w || !s) return KERN_INVALID_ARGUMENT;
  machd_sem_signal(s->w);
  return wait(*w, nullptr);
}

kern_return_t semaphore_timedwait_signal(semaphore_t wait_semaphore, semaphore_t signal_semaphore,
                                         mach_timespec_t wait_time) {
  auto w = find(wait_semaphore), s = find(signal_semaphore);
  if (!w || !s) return KERN_INVALID_ARGUMENT;
  if (wait_time.tv_nsec >= 1000000000) return KERN_INVALID_VALUE;
  machd_sem_signal(s->w);
  timespec d = deadline_after(wait_time);
  return wait(*w, &d);
}

kern_return_t semaphore_signal_trap(mach_port_name_t s) { return semaphore_signal(s); }
kern_return_t semaphore_signal_all_trap(mach_port_name_t s) { return semaphore_signal_all(s); }
kern_return_t semaphore_signal_thread_trap(mach_port_name_t s, mach_port_name_t t) {
  return semaphore_signal_thread(s, t);
}
kern_return_t semaphore_wait_trap(mach_port_name_t s) { return semaphore_wait(s); }
kern_return_t semaphore_wait_signal_trap(mach_port_name_t w, mach_port_name_t s) {
  return semaphore_wait_signal(w, s);
}
kern_return_t semaphore_timedwait_trap(mach_port_name_t s, unsigned int sec, clock_res_t nsec) {
  mach_timespec_t t{sec, nsec};
  return semaphore_timedwait(s, t);
}
kern_return_t semaphore_timedwait_signal_trap(mach_port_name_t w, mach_port_name_t s, unsigned int sec,
                                              clock_res_t nsec) {
  mach_timespec_t t{sec, nsec};
  return semaphore_timedwait_signal(w, s, t);
}

}  // extern "C"
