// machd/vm/eager_copy_quota.h — how many bytes of eager copies one user's
// tasks may have in flight at once.
//
// eager_copy_bound.h bounds what one request may make machd copy (4 GiB);
// several tasks of one user could still each have such a copy in flight,
// and make machd hold N times that. The quota bounds their sum per user
// (the uid of the task that asked): a snapshot reserves its length when it
// is begun, before anything is asked of the pager, and gives it back when
// it is over (mapped, failed, or abandoned). A copy that does not fit is
// refused as one past the bound per request is: vm_map copy=TRUE answers
// KERN_RESOURCE_SHORTAGE (object_map.h), a fork leaves the range out of
// the child (fork_copies.h). What is counted is what the bound per request
// counts: snapshots of pagers' objects, not the pager's own copies
// (COPY_CALL), not anonymous memory.
//
// Contract
//   - reserve(uid, len, task): when uid's bytes in flight plus len are at
//     most bound(), a Reservation holding len bytes of uid's quota;
//     otherwise an empty one (held() false) and nothing is taken: a
//     shorter copy may still fit. len 0 always fits.
//   - A Reservation gives its bytes back exactly once, at the first of:
//     its destruction, reset(), or the end of `task` (task_terminating: the
//     copy it was for is abandoned; held() is false from then on, and the
//     copy must not be made). kNoTask: only the first two (a fork's copy,
//     which outlives the task that asked: its record holds it).
//   - A Reservation may outlive its quota (machd's end): it then gives back
//     nothing.
//   - in_flight(uid): the bytes uid holds now; a user holding nothing is
//     forgotten (its memory does not stay).
//   - user_of(task): the user a task's copies are counted against: its
//     real uid, as admission and the IPC per-user limits count it
//     (ipc::Credentials); nullopt for no such task.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "eager_copy_bound.h"
#include "ipc/kernel.h"
#include "kern/runtime.h"

namespace machd::vm {

class EagerCopyQuota final : public kern::TaskObserver {
  struct State;

 public:
  // Bytes of one user's quota, held for one copy in flight.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& o) noexcept;
    Reservation& operator=(Reservation&& o) noexcept;
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    ~Reservation() { reset(); }
    // Whether it still holds its bytes (not given back, its task not ended).
    bool held() const;
    explicit operator bool() const { return held(); }
    // Gives the bytes back now (nothing if they were already).
    void reset();

   private:
    friend class EagerCopyQuota;
    Reservation(std::weak_ptr<State> state, uint64_t id) : state_(std::move(state)), id_(id) {}
    std::weak_ptr<State> state_;
    uint64_t id_ = 0;
  };

  explicit EagerCopyQuota(uint64_t bound_per_user = kDefaultEagerCopyBytesPerUser);
  EagerCopyQuota(const EagerCopyQuota&) = delete;
  EagerCopyQuota& operator=(const EagerCopyQuota&) = delete;

  Reservation reserve(uid_t uid, uint64_t len, ipc::TaskId task = ipc::kNoTask);
  uint64_t in_flight(uid_t uid) const;
  uint64_t bound() const;
  static std::optional<uid_t> user_of(ipc::TaskId task);

  void task_terminating(ipc::TaskId task) override;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace machd::vm
