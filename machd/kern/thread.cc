// machd/kern/thread.cc — see thread.h.
#include "thread.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstddef>

namespace machd::kern {

namespace {
Threads* g_threads = nullptr;

bool tid_alive(pid_t pid, pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d", int(pid), int(tid));
  return access(path, F_OK) == 0;
}
}  // namespace

Threads& threads() { return *g_threads; }

Threads::Threads() {
  g_threads = this;
  runtime().add_observer(this);
}

Threads::~Threads() {
  runtime().remove_observer(this);
  if (g_threads == this) g_threads = nullptr;
}

std::vector<pid_t> tids_of(pid_t pid) {
  std::vector<pid_t> out;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", int(pid));
  DIR* d = opendir(path);
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    out.push_back(pid_t(atoi(e->d_name)));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool read_thread_proc(pid_t pid, pid_t tid, ThreadProc& out) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/stat", int(pid), int(tid));
  FILE* f = fopen(path, "r");
  if (f == nullptr) return false;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char* open = strchr(buf, '(');
  char* close = strrchr(buf, ')');
  if (open == nullptr || close == nullptr || close < open) return false;
  out.name.assign(open + 1, close);
  // Fields after the name: 3 state, 14 utime, 15 stime, 18 priority, 19 nice.
  char state = '?';
  unsigned long long ut = 0, st = 0;
  long prio = 0, nice = 0;
  if (sscanf(close + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %ld %ld", &state, &ut, &st,
             &prio, &nice) < 5)
    return false;
  const long hz = sysconf(_SC_CLK_TCK);
  out.state = state;
  out.utime_us = ut * 1000000ull / uint64_t(hz);
  out.stime_us = st * 1000000ull / uint64_t(hz);
  out.priority = int(prio);
  out.nice = int(nice);
  return true;
}

bool idle(const Thread& t);

Thread* Threads::add(ipc::TaskId task, pid_t tid) {
  auto t = std::make_unique<Thread>();
  t->id = next_id_++;
  t->task = task;
  t->tid = tid;
  t->port = runtime().create_port(KType::kThread, t->id);
  if (t->port == MACH_PORT_NULL) return nullptr;
  Thread* raw = t.get();
  by_tid_[{task, tid}] = t->id;
  by_id_[t->id] = std::move(t);
  return raw;
}

void Threads::forget(Thread& t) {
  std::vector<ParkDone> waiters = std::move(t.waiters);
  if (answer_call(t)) t.stop = Thread::Stop::kRunning;  // (EXIT if end() set it)
  const bool had_exception_ports = t.exc != nullptr;
  if (t.exc) clear_exception_ports(*t.exc);
  const ipc::TaskId task = t.task;
  if (t.slot >= 0) {
    if (t.stop != Thread::Stop::kRunning) agent().release(t.task, uint32_t(t.slot));
    slots_[t.task].reset(size_t(t.slot));
  }
  runtime().destroy_port(t.port);
  if (MACH_PORT_VALID(t.read_port)) runtime().destroy_port(t.read_port);
  if (MACH_PORT_VALID(t.inspect_port)) runtime().destroy_port(t.inspect_port);
  by_tid_.erase({t.task, t.tid});
  by_id_.erase(t.id);  // t is gone
  if (had_exception_ports) exception_ports().publish(task);
  for (auto& w : waiters) w(KERN_TERMINATED);
}

uint64_t Threads::exception_interest(ipc::TaskId task) const {
  uint64_t mask = 0;
  for (auto it = by_tid_.lower_bound({task, 0}); it != by_tid_.end() && it->first.first == task; ++it) {
    auto t = by_id_.find(it->second);
    if (t != by_id_.end() && t->second->exc) mask |= kern::exception_interest(*t->second->exc);
  }
  return mask;
}

Thread* Threads::add_frozen(ipc::TaskId task, pid_t tid, const machd_thread_slot& state, const ThreadProc& facts) {
  if (by_tid_.count({task, tid})) return nullptr;
  Thread* t = add(task, tid);
  if (t == nullptr) return nullptr;
  t->frozen = std::make_unique<machd_thread_slot>(state);
  t->frozen_facts = facts;
  t->frozen->state = MACHD_TS_PARKED;
  t->frozen->flags = 0;
  t->frozen->tid = uint32_t(tid);
  t->stop = Thread::Stop::kParked;
  return t;
}

bool Threads::is_frozen_task(ipc::TaskId task) const {
  auto it = by_tid_.lower_bound({task, 0});
  if (it == by_tid_.end() || it->first.first != task) return false;
  auto t = by_id_.find(it->second);
  return t != by_id_.end() && t->second->frozen != nullptr;  // (a corpse has frozen threads only)
}

Thread* Threads::of_tid(ipc::TaskId task, pid_t tid) {
  auto it = by_tid_.find({task, tid});
  if (it != by_tid_.end()) return by_id_[it->second].get();
  if (is_frozen_task(task)) return nullptr;  // a corpse has no other threads
  const pid_t pid = runtime().host().pid_of(task);
  if (pid <= 0 || tid <= 0 || tid == agent().agent_tid(task) || ended_.count({task, tid}) || !tid_alive(pid, tid))
    return nullptr;
  return add(task, tid);
}

Thread* Threads::of_id(uint64_t id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second.get();
}

std::vector<Thread*> Threads::of_task(ipc::TaskId task) {
  const pid_t pid = runtime().host().pid_of(task);
  std::vector<Thread*> out;
  if (is_frozen_task(task)) {
    for (auto it = by_tid_.lower_bound({task, 0}); it != by_tid_.end() && it->first.first == task; ++it)
      out.push_back(by_id_[it->second].get());
    return out;
  }
  if (pid <= 0) return out;
  const std::vector<pid_t> live = tids_of(pid);
  // Drop the threads that ended.
  std::vector<uint64_t> dead;
  for (auto it = by_tid_.lower_bound({task, 0}); it != by_tid_.end() && it->first.first == task; ++it)
    if (!std::binary_search(live.begin(), live.end(), it->first.second)) dead.push_back(it->second);
  for (uint64_t id : dead)
    if (Thread* t = of_id(id)) forget(*t);
  for (auto it = ended_.lower_bound({task, 0}); it != ended_.end() && it->first == task;)
    it = std::binary_search(live.begin(), live.end(), it->second) ? std::next(it) : ended_.erase(it);
  for (pid_t tid : live)
    if (Thread* t = of_tid(task, tid)) out.push_back(t);
  return out;
}

int Threads::take_slot(ipc::TaskId task) {
  auto& bits = slots_[task];
  for (size_t i = 0; i < bits.size(); ++i)
    if (!bits.test(i)) {
      bits.set(i);
      return int(i);
    }
  return -1;
}

void Threads::hold(Thread& t, ParkDone done) {
  ++t.holds;
  if (t.stop == Thread::Stop::kParked) return done(KERN_SUCCESS);
  t.waiters.push_back(std::move(done));
  if (t.stop == Thread::Stop::kStopping) return;
  if (t.slot < 0 && (t.slot = take_slot(t.task)) < 0) {
    --t.holds;
    ParkDone d = std::move(t.waiters.back());
    t.waiters.pop_back();
    return d(KERN_RESOURCE_SHORTAGE);
  }
  t.stop = Thread::Stop::kStopping;
  const uint64_t id = t.id;
  agent().stop(t.task, uint32_t(t.slot), t.tid, [this, id](kern_return_t kr) { stopped(id, kr); });
}

bool Threads::park_from_call(Thread& t, const machd_thread_slot& context, size_t context_size,
                             std::function<void(const machd_thread_slot&)> release) {
  if (t.stop != Thread::Stop::kRunning) return false;
  if (t.slot < 0 && (t.slot = take_slot(t.task)) < 0) return false;
  machd_thread_slot* s = agent().slot(t.task, uint32_t(t.slot));
  if (s == nullptr) return false;
  const size_t fp = std::min<size_t>(context.fp_size, sizeof s->fpstate);
  if (context_size < offsetof(machd_thread_slot, fpstate) + fp) return false;
  s->fs_base = context.fs_base;
  s->gs_base = context.gs_base;
  memcpy(s->gregs, context.gregs, sizeof s->gregs);
  s->fp_kind = context.fp_kind;
  s->fp_size = uint32_t(fp);
  memcpy(s->fpstate, context.fpstate, fp);
  std::atomic_ref<uint32_t>(s->flags).store(0);
  std::atomic_ref<uint32_t>(s->tid).store(uint32_t(t.tid));
  std::atomic_ref<uint32_t>(s->state).store(MACHD_TS_PARKED, std::memory_order_release);
  ++t.holds;
  t.stop = Thread::Stop::kParked;
  t.on_release = std::move(release);
  return true;
}

bool Threads::answer_call(Thread& t) {
  if (!t.on_release || t.slot < 0) return false;
  auto release = std::move(t.on_release);
  t.on_release = nullptr;
  if (machd_thread_slot* s = agent().slot(t.task, uint32_t(t.slot))) {
    std::atomic_ref<uint32_t>(s->state).store(MACHD_TS_RUNNING, std::memory_order_release);
    release(*s);
  }
  return true;
}

void Threads::stopped(uint64_t id, kern_return_t kr) {
  Thread* t = of_id(id);
  if (t == nullptr) return;
  if (kr == KERN_SUCCESS) {
    t->stop = Thread::Stop::kParked;
  } else if (kr == KERN_ABORTED) {
    kr = KERN_SUCCESS;  // let go before it parked (resumed): the stop is moot
  } else {
    t->stop = Thread::Stop::kRunning;
    if (kr == KERN_TERMINATED) {  // the thread is gone
      forget(*t);
      return;
    }
  }
  std::vector<ParkDone> waiters = std::move(t->waiters);
  for (auto& w : waiters) w(kr);
}

void Threads::unhold(Thread& t) {
  if (t.holds == 0) return;
  if (--t.holds > 0) return;
  if (t.stop != Thread::Stop::kRunning && t.slot >= 0) {
    t.stop = Thread::Stop::kRunning;
    if (!answer_call(t)) agent().release(t.task, uint32_t(t.slot));
  }
  if (!t.watched && idle(t)) forget(t);  // nobody holds its port: drop it
}

machd_thread_slot* Threads::parked_slot(Thread& t) {
  if (t.frozen) return t.frozen.get();
  if (t.stop != Thread::Stop::kParked || t.slot < 0) return nullptr;
  return agent().slot(t.task, uint32_t(t.slot));
}

void Threads::end(Thread& t) {
  if (machd_thread_slot* s = parked_slot(t)) std::atomic_ref<uint32_t>(s->flags).fetch_or(MACHD_TSF_EXIT);
  ended_.insert({t.task, t.tid});
  forget(t);  // releases the slot: the thread exits in its handler
}

void Threads::create(ipc::TaskId task, std::function<void(kern_return_t, Thread*)> done) {
  const int slot = take_slot(task);
  machd_thread_slot* s = slot < 0 ? nullptr : agent().slot(task, uint32_t(slot));
  if (s == nullptr) {
    if (slot >= 0) slots_[task].reset(size_t(slot));
    return done(slot < 0 ? KERN_RESOURCE_SHORTAGE : KERN_TERMINATED, nullptr);
  }
  std::atomic_ref<uint32_t>(s->flags).store(0);
  std::atomic_ref<uint32_t>(s->tid).store(0);
  std::atomic_ref<uint32_t>(s->state).store(MACHD_TS_STOPPING, std::memory_order_release);
  AgentCall call;
  call.op = MACHD_AGENT_THREAD_CREATE;
  call.args[0] = uint64_t(slot);
  agent().request(task, call, [this, task, slot, done = std::move(done)](const AgentResult& r) {
    const pid_t tid = pid_t(r.rets[0]);
    machd_thread_slot* s = agent().slot(task, uint32_t(slot));
    Thread* t = nullptr;
    if (r.result == KERN_SUCCESS && s != nullptr && tid > 0 &&
        std::atomic_ref<uint32_t>(s->tid).load() == uint32_t(tid) && by_tid_.count({task, tid}) == 0)
      t = of_tid(task, tid);
    if (t == nullptr) {
      if (s != nullptr) agent().release(task, uint32_t(slot));
      slots_[task].reset(size_t(slot));
      return done(r.result == KERN_SUCCESS ? KERN_FAILURE : r.result, nullptr);
    }
    t->slot = slot;
    t->stop = Thread::Stop::kStopping;
    t->holds = 1;
    t->suspend_count = 1;  // a new thread starts suspended (XNU's thread_create)
    const uint64_t id = t->id;
    t->waiters.push_back([this, id, done](kern_return_t kr) { done(kr, of_id(id)); });
    agent().await_park(task, uint32_t(slot), [this, id](kern_return_t kr) { stopped(id, kr); });
  });
}

// Watching for no-senders starts once a send right exists (armed with no
// sender, the request would fire at once).
mach_port_name_t Threads::reply_send(Thread& t) {
  mach_port_name_t n = runtime().make_send(runtime().kt(), t.port);
  if (!t.watched) t.watched = runtime().kernel().kobject_request_no_senders(t.port) == KERN_SUCCESS;
  return n;
}

mach_port_name_t Threads::send_to(ipc::TaskId task, Thread& t) {
  mach_port_name_t n = runtime().make_send(task, t.port);
  if (n != MACH_PORT_NULL && !t.watched)
    t.watched = runtime().kernel().kobject_request_no_senders(t.port) == KERN_SUCCESS;
  return n;
}

// Policies are not a reason to keep the port (they go with it, a difference from XNU).
// A corpse's thread is its state: it is kept as long as its task.
bool idle(const Thread& t) {
  return !t.frozen && t.holds == 0 && t.suspend_count == 0 && t.waiters.empty() && t.read_port == MACH_PORT_NULL &&
         t.inspect_port == MACH_PORT_NULL && t.exc == nullptr;
}

mach_port_name_t Threads::flavor_reply_send(Thread& t, KType type) {
  mach_port_name_t n = MACH_PORT_NULL;
  if (type == KType::kThread) {
    n = reply_send(t);
  } else {
    mach_port_name_t& port = type == KType::kThreadRead ? t.read_port : t.inspect_port;
    if (!MACH_PORT_VALID(port)) {
      port = runtime().create_port(type, t.id);
      if (!MACH_PORT_VALID(port)) return port = MACH_PORT_NULL;
      n = runtime().make_send(runtime().kt(), port);
      runtime().kernel().kobject_request_no_senders(port);
    } else {
      n = runtime().make_send(runtime().kt(), port);
    }
  }
  if (MACH_PORT_VALID(n)) runtime().after_reply([n] { runtime().release_send(n); });
  return n;
}

void Threads::on_flavor_no_senders(ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount) {
  Thread* t = of_id(ko.id);
  if (t == nullptr) return;
  mach_port_name_t* slot = t->read_port == port ? &t->read_port : t->inspect_port == port ? &t->inspect_port : nullptr;
  if (slot == nullptr) return;
  if (runtime().kernel().kobject_mscount(port) != mscount) {  // sent again since
    runtime().kernel().kobject_request_no_senders(port);
    return;
  }
  *slot = MACH_PORT_NULL;
  runtime().destroy_port(port);
  if (!t->watched && idle(*t)) forget(*t);  // the control port has no sender either
}

void Threads::on_no_senders(uint64_t id, mach_port_mscount_t mscount) {
  Thread* t = of_id(id);
  if (t == nullptr) return;
  t->watched = false;
  if (runtime().kernel().kobject_mscount(t->port) != mscount) {
    t->watched = runtime().kernel().kobject_request_no_senders(t->port) == KERN_SUCCESS;  // sent again since
    return;
  }
  if (idle(*t)) forget(*t);  // else kept: unhold() drops it once idle
}

void Threads::suspend_task(ipc::TaskId task, std::function<void(kern_return_t)> done) {
  if (task_suspends_[task]++ > 0) return done(KERN_SUCCESS);
  std::vector<Thread*> list = of_task(task);
  auto left = std::make_shared<size_t>(list.size() + 1);
  auto finish = [done = std::move(done), left](kern_return_t) {
    if (--*left == 0) done(KERN_SUCCESS);
  };
  for (Thread* t : list) {
    t->task_held = true;
    hold(*t, finish);
  }
  finish(KERN_SUCCESS);
}

kern_return_t Threads::resume_task(ipc::TaskId task) {
  auto it = task_suspends_.find(task);
  if (it == task_suspends_.end()) return KERN_FAILURE;
  if (--it->second > 0) return KERN_SUCCESS;
  task_suspends_.erase(it);
  for (Thread* t : of_task(task)) {
    if (!t->task_held) continue;
    t->task_held = false;
    unhold(*t);
  }
  return KERN_SUCCESS;
}

uint32_t Threads::task_suspensions(ipc::TaskId task) const {
  auto it = task_suspends_.find(task);
  return it == task_suspends_.end() ? 0 : it->second;
}

void Threads::task_terminating(ipc::TaskId task) {
  std::vector<uint64_t> ids;
  for (auto it = by_tid_.lower_bound({task, 0}); it != by_tid_.end() && it->first.first == task; ++it)
    ids.push_back(it->second);
  for (uint64_t id : ids)
    if (Thread* t = of_id(id)) forget(*t);
  slots_.erase(task);
  task_suspends_.erase(task);
  for (auto it = ended_.lower_bound({task, 0}); it != ended_.end() && it->first == task;) it = ended_.erase(it);
}

}  // namespace machd::kern
