// libmach-compat/src/semaphore.cc — Mach semaphores.
//
// A semaphore is named by a real port name of the task (a receive right the
// library allocates, so the name is valid and unique in the IPC space), and
// its count lives in this process: waits and signals are futex operations
// with no trip to machd. Limitation: a semaphore right sent to another task
// does not carry the semaphore (operations there get KERN_INVALID_ARGUMENT).
//
// count = available units - waiting threads (negative while threads wait).
// A signal that finds waiters posts a wake-up token; a waiter takes one.
#include <linux/futex.h>
#include <mach/mach.h>
#include <mach/semaphore.h>
#include <mach/task.h>
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

namespace {

struct Semaphore {
  std::atomic<int32_t> count{0};
  std::atomic<uint32_t> tokens{0};  // futex word: posted wake-ups
  std::atomic<bool> destroyed{false};
};

std::mutex g_mu;
std::unordered_map<mach_port_t, std::shared_ptr<Semaphore>> g_sems;

std::shared_ptr<Semaphore> find(semaphore_t s) {
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_sems.find(s);
  return it == g_sems.end() ? nullptr : it->second;
}

long futex(std::atomic<uint32_t>* w, int op, uint32_t val, const timespec* ts) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), op, val, ts, nullptr, 0);
}

void post(Semaphore& s, uint32_t n) {
  s.tokens.fetch_add(n, std::memory_order_release);
  futex(&s.tokens, FUTEX_WAKE_PRIVATE, n, nullptr);
}

void signal_one(Semaphore& s) {
  if (s.count.fetch_add(1, std::memory_order_acq_rel) < 0) post(s, 1);
}

// Takes a token; false on timeout (deadline on CLOCK_MONOTONIC, or none).
bool take_token(Semaphore& s, const timespec* deadline) {
  for (;;) {
    uint32_t t = s.tokens.load(std::memory_order_acquire);
    while (t > 0) {
      if (s.tokens.compare_exchange_weak(t, t - 1, std::memory_order_acq_rel)) return true;
    }
    if (s.destroyed.load()) return true;
    timespec rel{}, *relp = nullptr;
    if (deadline) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      long long ns = (deadline->tv_sec - now.tv_sec) * 1000000000LL + (deadline->tv_nsec - now.tv_nsec);
      if (ns <= 0) return false;
      rel.tv_sec = time_t(ns / 1000000000LL);
      rel.tv_nsec = long(ns % 1000000000LL);
      relp = &rel;
    }
    futex(&s.tokens, FUTEX_WAIT_PRIVATE, 0, relp);
  }
}

kern_return_t wait(Semaphore& s, const timespec* deadline) {
  if (s.count.fetch_sub(1, std::memory_order_acq_rel) > 0) return KERN_SUCCESS;
  if (take_token(s, deadline)) return s.destroyed.load() ? KERN_TERMINATED : KERN_SUCCESS;
  // Timed out: withdraw, unless a signal already counted us (then its token
  // is ours and is about to be, or has been, posted).
  int32_t c = s.count.load(std::memory_order_acquire);
  while (c < 0) {
    if (s.count.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) return KERN_OPERATION_TIMED_OUT;
  }
  take_token(s, nullptr);
  return KERN_SUCCESS;
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
// fork(): the child is a new task; the parent's semaphore names mean nothing there.
void semaphores_after_fork_child() {
  new (&g_mu) std::mutex;
  g_sems.clear();
}
}  // namespace machcompat

extern "C" {

kern_return_t semaphore_create(task_t task, semaphore_t* semaphore, int policy, int value) {
  if (task != mach_task_self() || semaphore == nullptr || value < 0 || policy < 0 || policy > SYNC_POLICY_MAX)
    return KERN_INVALID_ARGUMENT;
  mach_port_t name = MACH_PORT_NULL;
  kern_return_t kr = mach_port_allocate(task, MACH_PORT_RIGHT_RECEIVE, &name);
  if (kr != KERN_SUCCESS) return kr;
  auto s = std::make_shared<Semaphore>();
  s->count.store(value);
  std::lock_guard<std::mutex> lk(g_mu);
  g_sems[name] = std::move(s);
  *semaphore = name;
  return KERN_SUCCESS;
}

kern_return_t semaphore_destroy(task_t task, semaphore_t semaphore) {
  if (task != mach_task_self()) return KERN_INVALID_ARGUMENT;
  std::shared_ptr<Semaphore> s;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_sems.find(semaphore);
    if (it == g_sems.end()) return KERN_INVALID_ARGUMENT;
    s = it->second;
    g_sems.erase(it);
  }
  // Waiters wake with KERN_TERMINATED.
  s->destroyed.store(true);
  post(*s, uint32_t(INT32_MAX / 2));
  mach_port_mod_refs(task, semaphore, MACH_PORT_RIGHT_RECEIVE, -1);
  return KERN_SUCCESS;
}

kern_return_t semaphore_signal(semaphore_t semaphore) {
  auto s = find(semaphore);
  if (!s) return KERN_INVALID_ARGUMENT;
  signal_one(*s);
  return KERN_SUCCESS;
}

kern_return_t semaphore_signal_all(semaphore_t semaphore) {
  auto s = find(semaphore);
  if (!s) return KERN_INVALID_ARGUMENT;
  // Wakes the threads waiting now; with none waiting the count is unchanged.
  int32_t c = s->count.load(std::memory_order_acquire);
  while (c < 0) {
    if (s->count.compare_exchange_weak(c, 0, std::memory_order_acq_rel)) {
      post(*s, uint32_t(-c));
      break;
    }
  }
  return KERN_SUCCESS;
}

kern_return_t semaphore_signal_thread(semaphore_t semaphore, thread_act_t thread) {
  if (thread != MACH_PORT_NULL) return KERN_NOT_SUPPORTED;  // no thread ports
  auto s = find(semaphore);
  if (!s) return KERN_INVALID_ARGUMENT;
  if (s->count.load() >= 0) return KERN_NOT_WAITING;
  signal_one(*s);
  return KERN_SUCCESS;
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
  signal_one(*s);
  return wait(*w, nullptr);
}

kern_return_t semaphore_timedwait_signal(semaphore_t wait_semaphore, semaphore_t signal_semaphore,
                                         mach_timespec_t wait_time) {
  auto w = find(wait_semaphore), s = find(signal_semaphore);
  if (!w || !s) return KERN_INVALID_ARGUMENT;
  signal_one(*s);
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
