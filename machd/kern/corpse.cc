// machd/kern/corpse.cc — see corpse.h.
#include "corpse.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "exception_delivery.h"
#include "exception_ports.h"
#include "process.h"
#include "task.h"
#include "thread.h"
#include "translate.h"

namespace machd::kern {

namespace {
Corpses* g_corpses = nullptr;

constexpr int64_t kOsReasonSignal = 2;  // XNU's OS_REASON_SIGNAL

// Copies every live action of `from` into `to` (a reference each).
void copy_actions(const ExceptionActions& from, ExceptionActions& to) {
  for (size_t i = 0; i < from.size(); ++i)
    if (MACH_PORT_VALID(from[i].port))
      write_exception_ports(to, exception_mask_t(1) << i, from[i].port, from[i].behavior, from[i].flavor);
}
// Holds each thread of `ids`; `then` runs once, in a later turn of machd's
// loop, when all are parked (or gone), or after `wait_ns` without those
// that are not (they stay held). (A hold's answer may come from inside the
// task's end: `then` never runs from there.)
void hold_all(const std::vector<uint64_t>& ids, uint64_t wait_ns, std::function<void()> then) {
  struct Wait {
    size_t waiting = 1;  // one more until every hold was asked
    bool done = false;
    uint64_t timer = 0;
    std::function<void()> then;
  };
  auto w = std::make_shared<Wait>();
  w->then = std::move(then);
  auto finish = [w] {
    if (w->done) return;
    w->done = true;
    if (w->timer != 0) runtime().timers().cancel(w->timer);
    runtime().timers().add(0, [w] { w->then(); });
  };
  for (uint64_t id : ids) {
    Thread* t = threads().of_id(id);
    if (t == nullptr) continue;
    ++w->waiting;
    threads().hold(*t, [w, finish](kern_return_t) {
      if (--w->waiting == 0) finish();
    });
  }
  if (--w->waiting == 0) return finish();
  w->timer = runtime().timers().add(agent_now_ns() + wait_ns, [w, finish] {
    w->timer = 0;
    finish();
  });
}
}  // namespace

Corpses* corpses_if_any() { return g_corpses; }

bool is_corpse_object(ipc::KObject ko) {
  if (g_corpses == nullptr) return false;
  if (type_of(ko) == KType::kTask) return g_corpses->is_corpse(ipc::TaskId(ko.id));
  if (type_of(ko) != KType::kThread) return false;
  const Thread* t = threads().of_id(ko.id);
  return t != nullptr && t->frozen != nullptr;
}

Corpses::Corpses(Dispatch& dispatch) {
  g_corpses = this;
  runtime().add_observer(this);
  dispatch.on_no_senders(KType::kTask, [this](ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount) {
    on_no_senders(ko, port, mscount);
  });
}

Corpses::~Corpses() {
  runtime().remove_observer(this);
  for (auto& [task, c] : by_task_) {
    if (c.pidfd >= 0) {
      syscall(SYS_pidfd_send_signal, c.pidfd, SIGKILL, nullptr, 0);
      close(c.pidfd);
    }
  }
  if (g_corpses == this) g_corpses = nullptr;
}

// Corpses, offers and generations in progress all count.
uint32_t Corpses::count_of_user(uint32_t uid) const {
  uint32_t n = 0;
  for (const auto& [task, c] : by_task_) n += c.uid == uid;
  for (const auto& [task, offer] : offers_) n += offer.uid == uid;
  if (auto g = generating_.find(uid); g != generating_.end()) n += g->second;
  return n;
}

bool Corpses::may_offer(ipc::TaskId task) const {
  const ipc::Credentials* c = runtime().kernel().credentials(task);
  return c != nullptr && !is_corpse(task) && !offers_.count(task) && count_of_user(c->uid) < kMaxPerUser;
}

bool Corpses::offer(ipc::TaskId task, pid_t tid, const machd_thread_slot& context, int64_t crash_code,
                    std::function<bool()> ready) {
  if (!may_offer(task)) return false;  // (one per task: another thread's crash came first)
  Offer& o = offers_[task];
  o.uid = runtime().kernel().credentials(task)->uid;
  o.tid = tid;
  o.context = std::make_shared<const machd_thread_slot>(context);
  o.crash_code = crash_code;
  std::vector<uint64_t> others;
  for (Thread* t : threads().of_task(task))
    if (t->tid != tid) others.push_back(t->id);
  hold_all(others, kOthersParkNs, [this, task, others, ready = std::move(ready)] {
    if (auto it = offers_.find(task); it != offers_.end()) it->second.others = contexts_of(others);
    if (ready()) return;
    // Nobody will fork: the other threads go on, and the offer is no more.
    offers_.erase(task);
    for (uint64_t id : others)
      if (Thread* t = threads().of_id(id)) threads().unhold(*t);
  });
  return true;
}

std::vector<Corpses::FrozenThread> Corpses::contexts_of(const std::vector<uint64_t>& ids) {
  std::vector<FrozenThread> frozen;
  for (uint64_t id : ids) {
    Thread* t = threads().of_id(id);
    machd_thread_slot* slot = t ? threads().parked_slot(*t) : nullptr;
    if (slot != nullptr) frozen.push_back({t->tid, std::make_shared<const machd_thread_slot>(*slot)});
  }
  return frozen;
}

kern_return_t Corpses::adopt(ipc::TaskId task, pid_t tid, pid_t child) {
  auto it = offers_.find(task);
  if (it == offers_.end() || it->second.tid != tid) return KERN_INVALID_ARGUMENT;
  Offer offer = std::move(it->second);
  offers_.erase(it);

  std::vector<FrozenThread> frozen{FrozenThread{offer.tid, offer.context}};  // the crashed thread first
  frozen.insert(frozen.end(), offer.others.begin(), offer.others.end());
  const ipc::TaskId corpse = make(task, child, frozen);
  if (corpse == ipc::kNoTask) return KERN_INVALID_ARGUMENT;
  Corpse& c = by_task_[corpse];
  c.crashed = task;
  const int signal = int((offer.crash_code >> 24) & 0xff);
  c.facts.exception_type = EXC_CRASH;
  c.facts.codes[0] = EXC_CRASH;
  c.facts.codes[1] = (kOsReasonSignal << 32) | signal;
  return KERN_SUCCESS;
}

ipc::TaskId Corpses::make(ipc::TaskId from, pid_t child, const std::vector<FrozenThread>& frozen) {
  Runtime& rt = runtime();
  const ipc::Credentials* cr = rt.kernel().credentials(from);
  const pid_t pid = rt.host().pid_of(from);
  // The child must be this task's: checked before and after its pidfd is
  // taken, so that the pidfd cannot name a later process with the pid.
  if (cr == nullptr || pid <= 0 || child <= 0 || frozen.empty() || parent_of(child) != pid) return ipc::kNoTask;
  const int pidfd = int(syscall(SYS_pidfd_open, child, 0));
  if (pidfd < 0) return ipc::kNoTask;
  if (parent_of(child) != pid) {
    close(pidfd);
    return ipc::kNoTask;
  }
  const ipc::Credentials creds = *cr;  // the corpse is the process it was made of, as far as identity goes
  const ipc::TaskId corpse = rt.create_task(creds);
  if (corpse == ipc::kNoTask || !rt.host().add_process(corpse, child, pidfd)) {
    if (corpse != ipc::kNoTask) rt.end_task(corpse);
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    close(pidfd);
    return ipc::kNoTask;
  }
  Corpse& c = by_task_[corpse];
  c.task = corpse;
  c.uid = creds.uid;
  c.child = child;
  c.pidfd = pidfd;
  // Read now: the crashed process may be gone when a handler asks.
  if (!read_corpse_facts(pid, c.facts)) read_corpse_facts(child, c.facts);
  c.facts.pid = pid;
  c.facts.uid = creds.uid;
  c.facts.gid = creds.gid;
  c.facts.crashed_thread = uint64_t(frozen.front().tid);
  // The corpse ends if its process does (killed by someone else): its
  // memory is gone, and its pid may name another process later.
  auto token = std::make_shared<uint64_t>(0);
  *token = rt.host().watch_fd(pidfd, [this, corpse, token] {
    runtime().host().unwatch_fd(*token);
    *token = 0;
    runtime().timers().add(0, [this, corpse] { end(corpse); });
  });
  c.watch = token;
  rt.notify_task_created(corpse);
  // No rights of its own: its send right to itself would keep it forever.
  rt.kernel().port_deallocate(corpse, rt.kernel().task_self_name(corpse));

  ExceptionActions& table = exception_ports().task_table(corpse);
  clear_exception_ports(table);
  if (const ExceptionActions* actions = exception_ports().find_task_table(from)) copy_actions(*actions, table);
  for (const FrozenThread& f : frozen) {
    ThreadProc facts;
    read_thread_proc(pid, f.tid, facts);  // (all zero if it is gone)
    Thread* t = threads().add_frozen(corpse, f.tid, *f.context, facts);
    if (t == nullptr) continue;
    if (c.thread == 0) c.thread = t->id;
    const Thread* original = threads().of_tid(from, f.tid);
    if (original != nullptr && original->exc) {
      t->exc = std::make_unique<ExceptionActions>();
      copy_actions(*original->exc, *t->exc);
    }
  }
  if (c.thread == 0) {
    end(corpse);
    return ipc::kNoTask;
  }
  // Adopted: the process waits for this before it waits for good (it ends
  // by itself otherwise, libmach-compat/src/corpse.h).
  syscall(SYS_pidfd_send_signal, pidfd, SIGCONT, nullptr, 0);
  spdlog::debug("task {} (pid {}): corpse task {} ({} threads, process {})", from, pid, corpse, frozen.size(), child);
  return corpse;
}

struct Corpses::Generation {
  ipc::TaskId task = ipc::kNoTask;
  uint32_t uid = 0;
  std::vector<uint64_t> held;  // Thread::id of each thread held for it
  Generated done;
};

kern_return_t Corpses::generate(ipc::TaskId task, Generated done) {
  const ipc::Credentials* cr = runtime().kernel().credentials(task);
  if (cr == nullptr || is_corpse(task)) return KERN_INVALID_ARGUMENT;  // XNU: no corpse of a corpse
  if (count_of_user(cr->uid) >= kMaxPerUser) return KERN_RESOURCE_SHORTAGE;
  auto g = std::make_shared<Generation>();
  g->task = task;
  g->uid = cr->uid;
  g->done = std::move(done);
  ++generating_[g->uid];
  for (Thread* t : threads().of_task(task)) g->held.push_back(t->id);
  // Threads that cannot be parked are left out, as for a crash.
  hold_all(g->held, kOthersParkNs, [this, g] { fork_generated(g); });
  return KERN_SUCCESS;
}

void Corpses::fork_generated(const std::shared_ptr<Generation>& g) {
  // Every thread is parked (or gone, or left out): their contexts now, then the fork.
  std::vector<FrozenThread> frozen = contexts_of(g->held);
  if (runtime().kernel().credentials(g->task) == nullptr) return finish_generation(g, KERN_INVALID_TASK);
  if (frozen.empty()) return finish_generation(g, KERN_FAILURE);  // (XNU's corpses always have a thread)
  AgentCall call;
  call.op = MACHD_AGENT_FORK_CORPSE;
  agent().request(g->task, call, [this, g, frozen = std::move(frozen)](const AgentResult& r) {
    if (runtime().kernel().credentials(g->task) == nullptr) return finish_generation(g, KERN_INVALID_TASK);
    if (r.result != KERN_SUCCESS)
      return finish_generation(g, r.result == KERN_RESOURCE_SHORTAGE ? r.result : KERN_FAILURE);
    const ipc::TaskId corpse = make(g->task, pid_t(r.rets[0]), frozen);
    if (corpse == ipc::kNoTask) reap(g->task, pid_t(r.rets[0]), -1);
    finish_generation(g, corpse == ipc::kNoTask ? KERN_FAILURE : KERN_SUCCESS, corpse);
  });
}

void Corpses::finish_generation(const std::shared_ptr<Generation>& g, kern_return_t kr, ipc::TaskId corpse) {
  for (uint64_t id : g->held)
    if (Thread* t = threads().of_id(id)) threads().unhold(*t);
  if (--generating_[g->uid] == 0) generating_.erase(g->uid);
  if (corpse == ipc::kNoTask) return g->done(kr, MACH_PORT_NULL);
  by_task_[corpse].maker = g->task;
  by_task_[corpse].notifying = true;  // never notified
  by_task_[corpse].facts.generated = true;
  Runtime& rt = runtime();
  const mach_port_name_t port = rt.kernel().task_port_kernel_name(corpse);
  const mach_port_name_t send = rt.make_send(rt.kt(), port);
  if (!MACH_PORT_VALID(send)) {
    end(corpse);
    return g->done(KERN_RESOURCE_SHORTAGE, MACH_PORT_NULL);
  }
  g->done(KERN_SUCCESS, send);
  // The reply holds the only send right now (or destroyed it): the corpse
  // ends when it goes.
  rt.kernel().kobject_request_no_senders(port);
}

void Corpses::task_terminating(ipc::TaskId task) {
  offers_.erase(task);
  if (auto it = by_task_.find(task); it != by_task_.end()) {  // a corpse ends
    const Corpse c = it->second;
    by_task_.erase(it);
    if (c.watch && *c.watch) runtime().host().unwatch_fd(*c.watch);
    reap(c.maker, c.child, c.pidfd);
    return;
  }
  // A crashed task ends: its corpses' handlers are told once it is gone
  // (the next turn of machd's loop, after its rights were released).
  for (auto& [corpse, c] : by_task_) {
    if (c.crashed != task || c.notifying) continue;
    c.notifying = true;
    c.crashed = ipc::kNoTask;
    const ipc::TaskId id = corpse;
    runtime().timers().add(0, [this, id] { notify(id); });
  }
}

void Corpses::notify(ipc::TaskId corpse) {
  auto it = by_task_.find(corpse);
  if (it == by_task_.end()) return;
  Corpse& c = it->second;
  Runtime& rt = runtime();
  const mach_port_name_t port = rt.kernel().task_port_kernel_name(corpse);
  // machd holds a send right while it delivers: the corpse ends when the
  // last other one goes after that (or at once if nobody took it).
  const mach_port_name_t own = rt.make_send(rt.kt(), port);
  Thread* t = threads().of_id(c.thread);
  if (!MACH_PORT_VALID(own) || t == nullptr) return end(corpse);
  rt.kernel().kobject_request_no_senders(port);
  exception_delivery().raise_from_kernel(corpse, *t, EXC_CORPSE_NOTIFY, c.facts.codes[0], c.facts.codes[1],
                                         [own] { runtime().release_send(own); });
}

void Corpses::on_no_senders(ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount) {
  const ipc::TaskId task = ipc::TaskId(ko.id);
  auto it = by_task_.find(task);
  if (it == by_task_.end()) return;  // not a corpse (nobody asks for others)
  if (runtime().kernel().kobject_mscount(port) != mscount) {  // sent again since
    runtime().kernel().kobject_request_no_senders(port);
    return;
  }
  end(task);
}

void Corpses::reap(ipc::TaskId maker, pid_t child, int pidfd) {
  if (pidfd >= 0) {
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    close(pidfd);
  }
  // A live task's corpse process is its child: its agent kills (if machd
  // could not) and reaps it.
  if (maker == ipc::kNoTask || child <= 0 || runtime().kernel().credentials(maker) == nullptr) return;
  AgentCall call;
  call.op = MACHD_AGENT_REAP_CORPSE;
  call.args[0] = uint64_t(child);
  agent().request(maker, call, [](const AgentResult&) {});
}

void Corpses::end(ipc::TaskId corpse) {
  if (!by_task_.count(corpse)) return;
  spdlog::debug("corpse task {} ends", corpse);
  runtime().end_task(corpse);  // task_terminating kills the child
}

}  // namespace machd::kern
