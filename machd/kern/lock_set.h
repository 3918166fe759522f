// machd/kern/lock_set.h — Mach lock sets (Apple's lock_set.defs as the Mach
// kernel documentation and XNU's sync_lock.c before they were retired
// describe them): a set of n ulocks behind one kernel object port.
//
//   lock_acquire    free: the caller holds it (KERN_LOCK_UNSTABLE if its last
//                   holder died holding it, else KERN_SUCCESS); held by the
//                   caller: KERN_LOCK_OWNED_SELF; held by another: the reply
//                   is deferred (machd never blocks) and sent when the lock
//                   is passed to the caller, in FIFO order.
//   lock_release    only the holder (KERN_INVALID_RIGHT): ownership passes
//                   to the first waiting acquirer, if any.
//   lock_try        as acquire, but held by another: KERN_LOCK_OWNED.
//   lock_make_stable  the holder clears the unstable state.
//   lock_handoff    the holder gives the lock to a thread waiting in
//                   lock_handoff_accept, waiting (deferred) for one if none.
//   lock_handoff_accept  takes a handed-off lock, waiting for a handoff if
//                   none is pending; one accepter at a time
//                   (KERN_ALREADY_WAITING).
// A lock id outside the set: KERN_INVALID_ARGUMENT. After lock_set_destroy
// (only the creating task: KERN_INVALID_RIGHT otherwise) every waiting call
// answers KERN_LOCK_SET_DESTROYED and the port dies.
//
// A task owns at most kMaxPerTask lock sets holding at most kMaxULocks
// locks in all at once (then KERN_RESOURCE_SHORTAGE), so what it costs
// machd is bounded; a lock nobody waits for allocates nothing. (XNU has
// dropped lock sets: its task.defs skips these routines.)
//
// Ownership is per task, not per thread (machd does not know which thread
// of a task sent a request): two threads of one task share the locks it
// holds. A task that dies holding a lock leaves it unstable and passed on;
// its waiting calls are dropped; the lock sets it created are destroyed.
#pragma once

#include <mach/port.h>

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "runtime.h"

namespace machd::kern {

class LockSets final : public TaskObserver {
 public:
  static constexpr uint32_t kMaxPerTask = 1024;
  static constexpr int kMaxULocks = 1 << 16;

  LockSets();
  ~LockSets() override;
  LockSets(const LockSets&) = delete;
  LockSets& operator=(const LockSets&) = delete;

  kern_return_t create(ipc::TaskId owner, int n_ulocks, int policy, mach_port_name_t* port);
  kern_return_t destroy(ipc::TaskId task, uint64_t set);

  // The lock operations of `caller` on lock `lock` of `set`. MIG_NO_REPLY:
  // the request's reply was deferred (runtime().defer()) and will be sent.
  kern_return_t acquire(uint64_t set, int lock, ipc::TaskId caller, bool wait);
  kern_return_t release(uint64_t set, int lock, ipc::TaskId caller);
  kern_return_t make_stable(uint64_t set, int lock, ipc::TaskId caller);
  kern_return_t handoff(uint64_t set, int lock, ipc::TaskId caller);
  kern_return_t handoff_accept(uint64_t set, int lock, ipc::TaskId caller);

  size_t live() const { return sets_.size(); }

  void task_terminating(ipc::TaskId task) override;

 private:
  struct Waiter {
    ipc::TaskId task;
    DeferredReply reply;
  };
  struct ULock {
    ipc::TaskId holder = ipc::kNoTask;
    bool unstable = false;
    std::list<Waiter> acquirers;      // (a list: empty, it allocates nothing)
    std::optional<Waiter> handing;    // the holder waiting in lock_handoff
    std::optional<Waiter> accepting;  // a task waiting in lock_handoff_accept
  };
  struct Set {
    ipc::TaskId owner;
    mach_port_name_t port;
    std::vector<ULock> locks;
  };
  ULock* find(uint64_t set, int lock, kern_return_t* kr);
  ULock* held(uint64_t set, int lock, ipc::TaskId caller, kern_return_t* kr);  // find, held by caller
  kern_return_t granted(const ULock& l) const;
  void pass_on(ULock& l);  // the holder let go: the next acquirer gets it

  std::unordered_map<uint64_t, Set> sets_;
  struct Owned {
    uint32_t sets = 0;
    uint64_t locks = 0;
  };
  std::unordered_map<ipc::TaskId, Owned> owned_;  // what each owner's lock sets hold
  uint64_t next_id_ = 1;
};

LockSets& lock_sets();

}  // namespace machd::kern
