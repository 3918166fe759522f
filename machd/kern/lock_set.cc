// machd/kern/lock_set.cc — see lock_set.h. Also the routines of
// lock_set.defs and task.defs' lock_set_create / lock_set_destroy.
#include "lock_set.h"

#include <mach/sync_policy.h>

#include "translate.h"

extern "C" {
#include "lock_setServer.h"
#include "taskServer.h"
}

namespace machd::kern {

namespace {
LockSets* g_lock_sets = nullptr;
}  // namespace

LockSets& lock_sets() { return *g_lock_sets; }

LockSets::LockSets() {
  g_lock_sets = this;
  runtime().add_observer(this);
}

LockSets::~LockSets() {
  runtime().remove_observer(this);
  if (g_lock_sets == this) g_lock_sets = nullptr;
}

kern_return_t LockSets::create(ipc::TaskId owner, int n_ulocks, int policy, mach_port_name_t* port) {
  if (n_ulocks <= 0 || policy < 0 || policy > SYNC_POLICY_MAX) return KERN_INVALID_ARGUMENT;
  if (n_ulocks > kMaxULocks) return KERN_RESOURCE_SHORTAGE;
  if (auto n = owned_.find(owner);
      n != owned_.end() && (n->second.sets >= kMaxPerTask || n->second.locks + uint64_t(n_ulocks) > kMaxULocks))
    return KERN_RESOURCE_SHORTAGE;
  const uint64_t id = next_id_++;
  const mach_port_name_t kname = runtime().create_port(KType::kLockSet, id);
  if (!MACH_PORT_VALID(kname)) return KERN_RESOURCE_SHORTAGE;
  // The reply copies a send right (task.defs: COPY_SEND): the kernel task keeps one.
  runtime().make_send(runtime().kt(), kname);
  sets_.emplace(id, Set{owner, kname, std::vector<ULock>(size_t(n_ulocks))});
  Owned& owned = owned_[owner];
  ++owned.sets;
  owned.locks += uint64_t(n_ulocks);
  *port = kname;
  return KERN_SUCCESS;
}

kern_return_t LockSets::destroy(ipc::TaskId task, uint64_t set) {
  auto it = sets_.find(set);
  if (it == sets_.end()) return KERN_INVALID_ARGUMENT;
  if (it->second.owner != task) return KERN_INVALID_RIGHT;
  Set s = std::move(it->second);
  sets_.erase(it);
  Owned& owned = owned_[task];
  owned.locks -= s.locks.size();
  if (--owned.sets == 0) owned_.erase(task);
  Runtime& rt = runtime();
  for (ULock& l : s.locks) {
    for (const Waiter& w : l.acquirers) rt.send_error_reply(w.reply, KERN_LOCK_SET_DESTROYED);
    if (l.handing) rt.send_error_reply(l.handing->reply, KERN_LOCK_SET_DESTROYED);
    if (l.accepting) rt.send_error_reply(l.accepting->reply, KERN_LOCK_SET_DESTROYED);
  }
  rt.destroy_port(s.port);
  return KERN_SUCCESS;
}

LockSets::ULock* LockSets::find(uint64_t set, int lock, kern_return_t* kr) {
  auto it = sets_.find(set);
  if (it == sets_.end()) {
    *kr = KERN_LOCK_SET_DESTROYED;
    return nullptr;
  }
  if (lock < 0 || size_t(lock) >= it->second.locks.size()) {
    *kr = KERN_INVALID_ARGUMENT;
    return nullptr;
  }
  return &it->second.locks[size_t(lock)];
}

kern_return_t LockSets::granted(const ULock& l) const { return l.unstable ? KERN_LOCK_UNSTABLE : KERN_SUCCESS; }

namespace {
// Whether the thread behind a deferred reply still waits for it (its reply
// port lives): a waiter that gave up is skipped instead of given the lock.
bool still_waiting(const DeferredReply& d) {
  mach_port_type_t type = 0;
  Runtime& rt = runtime();
  return rt.kernel().port_type(rt.kt(), d.reply, &type) == KERN_SUCCESS &&
         (type & (MACH_PORT_TYPE_SEND_ONCE | MACH_PORT_TYPE_SEND)) != 0;
}
}  // namespace

void LockSets::pass_on(ULock& l) {
  l.holder = ipc::kNoTask;
  while (!l.acquirers.empty()) {
    Waiter w = l.acquirers.front();
    l.acquirers.pop_front();
    if (!still_waiting(w.reply)) {
      runtime().send_error_reply(w.reply, KERN_ABORTED);  // destroys the dead right
      continue;
    }
    l.holder = w.task;
    runtime().send_error_reply(w.reply, granted(l));
    return;
  }
}

kern_return_t LockSets::acquire(uint64_t set, int lock, ipc::TaskId caller, bool wait) {
  kern_return_t kr = KERN_SUCCESS;
  ULock* l = find(set, lock, &kr);
  if (!l) return kr;
  if (l->holder == ipc::kNoTask) {
    l->holder = caller;
    return granted(*l);
  }
  if (l->holder == caller) return KERN_LOCK_OWNED_SELF;
  if (!wait) return KERN_LOCK_OWNED;
  l->acquirers.push_back(Waiter{caller, runtime().defer()});
  return MIG_NO_REPLY;
}

LockSets::ULock* LockSets::held(uint64_t set, int lock, ipc::TaskId caller, kern_return_t* kr) {
  ULock* l = find(set, lock, kr);
  if (l && l->holder != caller) {
    *kr = KERN_INVALID_RIGHT;
    return nullptr;
  }
  return l;
}

kern_return_t LockSets::release(uint64_t set, int lock, ipc::TaskId caller) {
  kern_return_t kr = KERN_SUCCESS;
  ULock* l = held(set, lock, caller, &kr);
  if (!l) return kr;
  if (l->handing) {  // a thread of the holder waits to hand it off: it is let go instead
    runtime().send_error_reply(l->handing->reply, KERN_ABORTED);
    l->handing.reset();
  }
  pass_on(*l);
  return KERN_SUCCESS;
}

kern_return_t LockSets::make_stable(uint64_t set, int lock, ipc::TaskId caller) {
  kern_return_t kr = KERN_SUCCESS;
  ULock* l = held(set, lock, caller, &kr);
  if (!l) return kr;
  l->unstable = false;
  return KERN_SUCCESS;
}

kern_return_t LockSets::handoff(uint64_t set, int lock, ipc::TaskId caller) {
  kern_return_t kr = KERN_SUCCESS;
  ULock* l = held(set, lock, caller, &kr);
  if (!l) return kr;
  if (l->handing) return KERN_ALREADY_WAITING;
  if (l->accepting) {
    Waiter a = *l->accepting;
    l->accepting.reset();
    l->holder = a.task;
    runtime().send_error_reply(a.reply, KERN_SUCCESS);  // XNU: a woken accepter is not told it is unstable
    return KERN_SUCCESS;
  }
  l->handing = Waiter{caller, runtime().defer()};
  return MIG_NO_REPLY;
}

kern_return_t LockSets::handoff_accept(uint64_t set, int lock, ipc::TaskId caller) {
  kern_return_t kr = KERN_SUCCESS;
  ULock* l = find(set, lock, &kr);
  if (!l) return kr;
  if (l->accepting) return KERN_ALREADY_WAITING;
  if (l->holder == caller) return KERN_LOCK_OWNED_SELF;
  if (l->handing) {
    Waiter h = *l->handing;
    l->handing.reset();
    l->holder = caller;
    runtime().send_error_reply(h.reply, KERN_SUCCESS);
    return granted(*l);
  }
  l->accepting = Waiter{caller, runtime().defer()};
  return MIG_NO_REPLY;
}

void LockSets::task_terminating(ipc::TaskId task) {
  std::vector<uint64_t> owned;
  Runtime& rt = runtime();
  for (auto& [id, s] : sets_) {
    if (s.owner == task) owned.push_back(id);
    for (ULock& l : s.locks) {
      // Its waiting calls: their reply ports die with it (the replies are destroyed).
      std::erase_if(l.acquirers, [&](const Waiter& w) {
        if (w.task == task) rt.send_error_reply(w.reply, KERN_ABORTED);
        return w.task == task;
      });
      if (l.accepting && l.accepting->task == task) {
        rt.send_error_reply(l.accepting->reply, KERN_ABORTED);
        l.accepting.reset();
      }
      if (l.handing && l.handing->task == task) {
        rt.send_error_reply(l.handing->reply, KERN_ABORTED);
        l.handing.reset();
      }
      if (l.holder == task) {
        l.unstable = true;
        pass_on(l);
      }
    }
  }
  for (uint64_t id : owned) destroy(task, id);
}

}  // namespace machd::kern

using machd::kern::KType;
using machd::kern::lock_sets;
using machd::kern::runtime;
using machd::kern::translate;

namespace {
// The task that sent the request being served.
machd::ipc::TaskId caller() { return runtime().request().sender; }
}  // namespace

extern "C" {

kern_return_t lock_set_create(task_t task, lock_set_t* new_lock_set, int n_ulocks, int policy) {
  auto t = translate(task, {KType::kTask});
  if (!t) return KERN_INVALID_ARGUMENT;
  mach_port_name_t port = MACH_PORT_NULL;
  kern_return_t kr = lock_sets().create(machd::ipc::TaskId(*t), n_ulocks, policy, &port);
  if (kr == KERN_SUCCESS) *new_lock_set = port;
  return kr;
}

kern_return_t lock_set_destroy(task_t task, lock_set_t lock_set) {
  auto t = translate(task, {KType::kTask});
  auto s = translate(lock_set, {KType::kLockSet});
  if (!t || !s) return KERN_INVALID_ARGUMENT;
  kern_return_t kr = lock_sets().destroy(machd::ipc::TaskId(*t), *s);
  if (kr == KERN_SUCCESS) runtime().release_send(lock_set);
  return kr;
}

#define LOCK_ROUTINE(NAME, CALL)                                   \
  kern_return_t NAME(lock_set_t lock_set, int lock_id) {           \
    auto s = translate(lock_set, {KType::kLockSet});               \
    if (!s) return KERN_INVALID_ARGUMENT;                          \
    if (caller() == machd::ipc::kNoTask) return KERN_INVALID_TASK; \
    return lock_sets().CALL;                                       \
  }

LOCK_ROUTINE(lock_acquire, acquire(*s, lock_id, caller(), true))
LOCK_ROUTINE(lock_try, acquire(*s, lock_id, caller(), false))
LOCK_ROUTINE(lock_release, release(*s, lock_id, caller()))
LOCK_ROUTINE(lock_make_stable, make_stable(*s, lock_id, caller()))
LOCK_ROUTINE(lock_handoff, handoff(*s, lock_id, caller()))
LOCK_ROUTINE(lock_handoff_accept, handoff_accept(*s, lock_id, caller()))

}  // extern "C"
