// machd/kern/agent.cc — see agent.h. Everything read from the region is
// untrusted: an answer is taken only from a slot machd is waiting on, once.
#include "agent.h"

#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <utility>

#include <spdlog/spdlog.h>

#include "process.h"

namespace machd::kern {

AgentCall mmap_call(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t offset) {
  AgentCall c;
  c.op = MACHD_AGENT_MMAP;
  c.args[0] = addr;
  c.args[1] = len;
  c.args[2] = uint64_t(prot);
  c.args[3] = uint64_t(flags);
  c.args[5] = offset;
  c.fd = fd;
  return c;
}

AgentCall munmap_call(uint64_t addr, uint64_t len) {
  AgentCall c;
  c.op = MACHD_AGENT_MUNMAP;
  c.args[0] = addr;
  c.args[1] = len;
  return c;
}

AgentCall madvise_call(uint64_t addr, uint64_t len, int advice) {
  AgentCall c;
  c.op = MACHD_AGENT_MADVISE;
  c.args[0] = addr;
  c.args[1] = len;
  c.args[2] = uint64_t(advice);
  return c;
}

namespace {
Agent* g_agent = nullptr;

template <typename T>
std::atomic_ref<T> atomic(T& v) { return std::atomic_ref<T>(v); }

void futex_wake(uint32_t* w) { syscall(SYS_futex, w, FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0); }

// Callbacks that must not run inside the call that produced them.
std::vector<std::function<void()>> g_soon;
}  // namespace

Agent& agent() { return *g_agent; }

uint64_t agent_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

Agent::Agent(AgentLink& link) : link_(link) {
  g_agent = this;
  runtime().add_observer(this);
}

Agent::~Agent() {
  runtime().remove_observer(this);
  if (g_agent == this) g_agent = nullptr;
}

machd_agent_header* Agent::header(ipc::TaskId task) {
  return reinterpret_cast<machd_agent_header*>(link_.agent_area(task));
}

void Agent::set_exception_interest(ipc::TaskId task, uint64_t mask) {
  if (machd_agent_header* h = header(task)) std::atomic_ref<uint64_t>(h->exc_interest).store(mask, std::memory_order_release);
}

machd_thread_slot* Agent::slot(ipc::TaskId task, uint32_t index) {
  uint8_t* a = link_.agent_area(task);
  if (a == nullptr || index >= MACHD_THREAD_SLOTS) return nullptr;
  return reinterpret_cast<machd_thread_slot*>(a + MACHD_AGENT_HEADER_SIZE + uint64_t(index) * MACHD_THREAD_SLOT_SIZE);
}

pid_t Agent::agent_tid(ipc::TaskId task) {
  machd_agent_header* h = header(task);
  return h ? pid_t(atomic(h->agent_tid).load(std::memory_order_acquire)) : 0;
}

void Agent::request(ipc::TaskId task, const AgentCall& call, AgentDone done) {
  auto fail = [&](kern_return_t kr) {
    g_soon.push_back([done = std::move(done), kr] { done(AgentResult{kr, {}}); });
  };
  machd_agent_header* h = header(task);
  if (h == nullptr) return fail(KERN_TERMINATED);
  if (call.op >= MACHD_AGENT_OP_COUNT) return fail(KERN_INVALID_ARGUMENT);
  PerTask& pt = tasks_[task];
  uint32_t i = 0;
  for (; i < MACHD_AGENT_CALLS; ++i) {
    if (pt.calls[i].done) continue;
    // A slot machd gave up on (timeout) may still be worked on by the agent.
    uint32_t s = atomic(h->calls[i].state).load(std::memory_order_acquire);
    if (s == MACHD_AC_FREE || s == MACHD_AC_DONE) break;
  }
  if (i == MACHD_AGENT_CALLS) return fail(KERN_RESOURCE_SHORTAGE);
  machd_agent_call& c = h->calls[i];
  for (int k = 0; k < 6; ++k) c.args[k] = call.args[k];
  if (call.op == MACHD_AGENT_MMAP) {
    c.args[4] = 0;
    if (call.fd >= 0) {
      uint64_t tag = 0;
      if (!link_.send_fd(task, call.fd, &tag)) return fail(KERN_RESOURCE_SHORTAGE);
      c.args[4] = tag;
    }
  }
  const uint32_t seq = seq_++;
  c.op = call.op;
  c.seq = seq;
  c.result = 0;
  atomic(c.state).store(MACHD_AC_REQ, std::memory_order_release);
  const uint64_t now = agent_now_ns();
  pt.calls[i] = Pending{seq, now, now + kTimeoutNs, std::move(done)};
  atomic(h->wake).fetch_add(1, std::memory_order_acq_rel);
  futex_wake(&h->wake);
}

void Agent::stop(ipc::TaskId task, uint32_t index, pid_t tid, ParkDone done) {
  machd_thread_slot* ts = slot(task, index);
  const pid_t pid = runtime().host().pid_of(task);
  if (ts == nullptr || pid <= 0 || tid <= 0) {
    g_soon.push_back([done = std::move(done)] { done(KERN_TERMINATED); });
    return;
  }
  atomic(ts->flags).store(0, std::memory_order_relaxed);
  atomic(ts->tid).store(uint32_t(tid), std::memory_order_relaxed);
  atomic(ts->state).store(MACHD_TS_STOPPING, std::memory_order_release);
  PerTask& pt = tasks_[task];
  const uint64_t now = agent_now_ns();
  pt.parks[index] = Park{now, now + kTimeoutNs, std::move(done)};
  siginfo_t si{};
  si.si_signo = MACHD_THREAD_SIGNAL;
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = int(index);
  if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, MACHD_THREAD_SIGNAL, &si) != 0) {
    atomic(ts->state).store(MACHD_TS_FREE, std::memory_order_release);
    ParkDone d = std::move(pt.parks[index].done);
    pt.parks.erase(index);
    g_soon.push_back([d = std::move(d)] { d(KERN_TERMINATED); });
  }
}

void Agent::await_park(ipc::TaskId task, uint32_t index, ParkDone done) {
  machd_thread_slot* ts = slot(task, index);
  if (ts == nullptr) {
    g_soon.push_back([done = std::move(done)] { done(KERN_TERMINATED); });
    return;
  }
  if (atomic(ts->state).load(std::memory_order_acquire) == MACHD_TS_PARKED) {
    g_soon.push_back([done = std::move(done)] { done(KERN_SUCCESS); });  // parked before we asked
    return;
  }
  const uint64_t now = agent_now_ns();
  tasks_[task].parks[index] = Park{now, now + kTimeoutNs, std::move(done)};
}

void Agent::release(ipc::TaskId task, uint32_t index) {
  machd_thread_slot* ts = slot(task, index);
  if (ts == nullptr) return;
  atomic(ts->state).store(MACHD_TS_RUNNING, std::memory_order_release);
  futex_wake(&ts->state);
  auto it = tasks_.find(task);
  if (it == tasks_.end()) return;
  auto p = it->second.parks.find(index);
  if (p == it->second.parks.end()) return;
  ParkDone d = std::move(p->second.done);
  it->second.parks.erase(p);
  g_soon.push_back([d = std::move(d)] { d(KERN_ABORTED); });
}

void Agent::on_doorbell(ipc::TaskId task) {
  machd_agent_header* h = header(task);
  if (h == nullptr) return;
  if (atomic(h->done).exchange(0, std::memory_order_acq_rel) == 0) return;
  auto it = tasks_.find(task);
  if (it == tasks_.end()) return;
  std::vector<std::function<void()>> run;
  collect(task, h, it->second, run);
  for (auto& f : run) f();
}

void Agent::collect(ipc::TaskId task, machd_agent_header* h, PerTask& pt, std::vector<std::function<void()>>& run) {
  for (uint32_t i = 0; i < MACHD_AGENT_CALLS; ++i) {
    Pending& p = pt.calls[i];
    if (!p.done) continue;
    machd_agent_call& c = h->calls[i];
    if (atomic(c.state).load(std::memory_order_acquire) != MACHD_AC_DONE) continue;
    AgentResult r;
    const uint32_t seq = c.seq;
    r.result = c.result;
    r.rets[0] = c.rets[0];
    r.rets[1] = c.rets[1];
    atomic(c.state).store(MACHD_AC_FREE, std::memory_order_release);
    if (seq != p.seq) r = AgentResult{KERN_FAILURE, {}};  // the agent broke the protocol
    run.push_back([d = std::move(p.done), r] { d(r); });
    p.done = nullptr;
  }
  for (uint32_t w = 0; w < MACHD_THREAD_SLOTS / 64; ++w) {
    uint64_t bits = atomic(h->parked[w]).exchange(0, std::memory_order_acq_rel);
    while (bits) {
      const uint32_t index = w * 64 + uint32_t(__builtin_ctzll(bits));
      bits &= bits - 1;
      auto p = pt.parks.find(index);
      if (p == pt.parks.end()) continue;
      machd_thread_slot* ts = slot(task, index);
      if (atomic(ts->state).load(std::memory_order_acquire) != MACHD_TS_PARKED) continue;
      run.push_back([d = std::move(p->second.done)] { d(KERN_SUCCESS); });
      pt.parks.erase(p);
    }
  }
}

bool Agent::patient(uint64_t posted, uint64_t now, bool moving) { return moving && now - posted < kPatienceNs; }

std::optional<uint64_t> Agent::next_deadline() const {
  if (!g_soon.empty()) return 0;
  std::optional<uint64_t> d;
  for (const auto& [t, pt] : tasks_) {
    for (const Pending& p : pt.calls)
      if (p.done && (!d || p.deadline < *d)) d = p.deadline;
    for (const auto& [i, p] : pt.parks)
      if (!d || p.deadline < *d) d = p.deadline;
  }
  return d;
}

void Agent::expire(uint64_t now) {
  std::vector<std::function<void()>> run;
  run.swap(g_soon);
  for (auto& [t, pt] : tasks_) {
    bool overdue = false;
    for (const Pending& p : pt.calls) overdue |= p.done && p.deadline <= now;
    for (const auto& [i, p] : pt.parks) overdue |= p.deadline <= now;
    if (!overdue) continue;
    // Whether the task may still answer is read before its answers are
    // collected: a task that answers while its threads' states are read
    // (continued by SIGCONT right then, it answers and sleeps again) has its
    // answer collected, not timed out.
    const bool moving = may_still_answer(runtime().host().pid_of(t));
    // An answer may be in the area with its doorbell not read yet.
    if (machd_agent_header* h = header(t)) collect(t, h, pt, run);
    for (Pending& p : pt.calls) {
      if (!p.done || p.deadline > now) continue;
      if (patient(p.posted, now, moving)) {
        p.deadline = now + kRecheckNs;
        continue;
      }
      spdlog::warn("task {}: its agent did not answer a call in {} ms; the call fails", t, (now - p.posted) / 1000000);
      run.push_back([d = std::move(p.done)] { d(AgentResult{KERN_OPERATION_TIMED_OUT, {}}); });
      p.done = nullptr;
    }
    for (auto it = pt.parks.begin(); it != pt.parks.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      if (patient(it->second.posted, now, moving)) {
        it->second.deadline = now + kRecheckNs;
        ++it;
        continue;
      }
      spdlog::warn("task {}: thread slot {} did not stop in {} ms", t, it->first, (now - it->second.posted) / 1000000);
      run.push_back([d = std::move(it->second.done)] { d(KERN_OPERATION_TIMED_OUT); });
      it = pt.parks.erase(it);
    }
  }
  for (auto& f : run) f();
}

void Agent::fail_all(PerTask& pt, kern_return_t kr) {
  std::vector<std::function<void()>> run;
  for (Pending& p : pt.calls) {
    if (!p.done) continue;
    run.push_back([d = std::move(p.done), kr] { d(AgentResult{kr, {}}); });
    p.done = nullptr;
  }
  for (auto& [i, p] : pt.parks) run.push_back([d = std::move(p.done), kr] { d(kr); });
  pt.parks.clear();
  for (auto& f : run) f();
}

void Agent::task_terminating(ipc::TaskId task) {
  auto it = tasks_.find(task);
  if (it == tasks_.end()) return;
  PerTask pt = std::move(it->second);
  tasks_.erase(it);
  fail_all(pt, KERN_TERMINATED);
}

}  // namespace machd::kern
