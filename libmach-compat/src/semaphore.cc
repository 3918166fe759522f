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
// (KERN_INVALID_ARGUMENT).
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

long futex(std::atomic<uint32_t>& w, int op, uint32_t val, const timespec* ts) {
  machcompat::NativeScope native;  // never redirected
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(&w), op, val, ts, nullptr, 0);
}

enum class Took { kToken, kTimedOut, kInterrupted };

// Takes a token (deadline on CLOCK_MONOTONIC, or none).
Took take_token(Page& s, const timespec* deadline, bool interruptible) {
  for (;;) {
    uint32_t t = s.tokens().load(std::memory_order_acquire);
    while (t > 0) {
      if (s.tokens().compare_exchange_weak(t, t - 1, std::memory_order_acq_rel)) return Took::kToken;
    }
    if (s.destroyed()) return Took::kToken;
    timespec rel{}, *relp = nullptr;
    if (deadline) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      long long ns = (deadline->tv_sec - now.tv_sec) * 1000000000LL + (deadline->tv_nsec - now.tv_nsec);
      if (ns <= 0) return Took::kTimedOut;
      rel.tv_sec = time_t(ns / 1000000000LL);
      rel.tv_nsec = long(ns % 1000000000LL);
      relp = &rel;
    }
    if (futex(s.tokens(), FUTEX_WAIT, 0, relp) != 0 && errno == EINTR && interruptible) return Took::kInterrupted;
  }
}

kern_return_t wait(Page& s, const timespec* deadline) {
  if (s.count().fetch_sub(1, std::memory_order_acq_rel) > 0) return KERN_SUCCESS;
  const Took took = take_token(s, deadline, true);
  if (took == Took::kToken) return s.destroyed() ? KERN_TERMINATED : KERN_SUCCESS;
  // Timed out or interrupted (XNU: KERN_ABORTED): withdraw, unless a signal
  // already counted us (then its token is ours and is about to be posted).
  int32_t c = s.count().load(std::memory_order_acquire);
  while (c < 0) {
    if (s.count().compare_exchange_weak(c, c + 1, std::memory_order_acq_rel))
      return took == Took::kTimedOut ? KERN_OPERATION_TIMED_OUT : KERN_ABORTED;
  }
  take_token(s, nullptr, false);
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
