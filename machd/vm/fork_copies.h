// machd/vm/fork_copies.h — fork() of a task whose memory object mappings
// are inherited VM_INHERIT_COPY (Mach's default): the child gets a
// copy-on-write copy of each such range as it was at the fork, at the same
// address, before fork() returns in it. Later writes to the object (by the
// parent or any other task) do not reach the child, and the child's writes
// stay its own.
//
// The exchange (the library's fork hooks, libmach-compat/src/object_fork.cc):
//   parent, before fork (pthread_atfork prepare): MACHD_OP_OBJECTS_FORK_PREPARE
//     → prepare(): a copy of each COPY object mapping of the parent, made
//     with vm_map's copy=TRUE machinery (object_map.h): the pager's copy
//     object when it chose MEMORY_OBJECT_COPY_CALL (its dirty pages in the
//     range returned first, then memory_object_copy), otherwise a private
//     memfd snapshot, for which the range is made resident first (asking the
//     pager: the parent's fork waits for the pager's answers, at most
//     machd's --pager-timeout). Answered once every copy is made, with a
//     token and the copies' ranges (the child reserves them first thing,
//     before anything it maps could land there).
//   child, before fork() returns in it: for each copy, take() (its memfd,
//     address, length and how to map it: a snapshot MAP_PRIVATE, a copy
//     object's cache MAP_SHARED); the child maps it at the same address and,
//     for a copy object, calls mapped() so that machd registers the range on
//     the child's userfaultfd (the copy object's pages fault to the pager).
//     finish() (MACHD_OP_OBJECTS_INHERIT with the token) ends the claim.
//   parent, after fork (pthread_atfork parent): fork_done(): machd finds the
//     child the fork made (the new entry in /proc/PID/task/TID/children of
//     the forking thread).
//
// Contract
//   Only a process whose parent is the task that made the copies, asking
//   with that parent's pid and the token (random: only the parent and,
//   through its memory, the fork's child know it), may claim them; the
//   first take() binds them to its task, and no other task may claim them
//   after (nor any but the fork's child once fork_done found it).
//   Copies no child claims are released (snapshot memfds closed, copy
//   objects ended as an unmapped object is, memory_object_terminate): at
//   fork_done when the fork made no child (it failed, or the child was
//   already reaped); when the fork's child exits without finishing its
//   claim (looked at every kWatchNs); when the claiming task ends; when the
//   parent task ends before fork_done (its child cannot prove it is its
//   child any more); after finish() in every case.
//   A copy has the protection the parent's range has at the fork (a range
//   whose pieces differ is copied piece by piece); its maximum protection
//   is not kept (as for every object mapping, it is checked, not enforced).
//   A copy that cannot be made (the pager failed the range, machd is short
//   of memory) is left out: the child lacks that range, as with NONE. So is
//   a snapshot past the fork's bound (eager_copy_bound.h): the snapshots of
//   one fork, taken in address order, add up to at most kMaxEagerCopyBytes;
//   a range that does not fit in what is left is not asked of its pager
//   (a later, shorter one may still fit). So is a snapshot past what the
//   parent's user may still have in flight (eager_copy_quota.h): each
//   snapshot holds its length of that user's quota from when it is begun
//   until it is released as above (or it failed), whether or not the
//   parent still runs. The pager's copies (COPY_CALL) are not counted.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <mach/mach_types.h>

#include "eager_copy_quota.h"
#include "ipc/kernel.h"
#include "kern/runtime.h"

namespace machd::vm {

class MemoryObjects;

class ForkCopies final : public kern::TaskObserver {
 public:
  // One copy, as the child maps it.
  struct Copy {
    uint64_t start = 0;  // the parent's (and the child's) address
    uint64_t len = 0;
    vm_prot_t prot = VM_PROT_NONE;
    int fd = -1;          // a snapshot: map this memfd MAP_PRIVATE at offset 0
    uint64_t object = 0;  // or a copy object (by id): map its cache MAP_SHARED at offset 0
  };
  // The address and length of each copy, in index order.
  using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;
  // kr KERN_SUCCESS (with token 0 and no ranges when there was nothing to copy).
  using Prepared = std::function<void(kern_return_t kr, uint64_t token, const Ranges& copies)>;

  explicit ForkCopies(MemoryObjects& objects) : objects_(objects) {}
  ~ForkCopies() override;
  ForkCopies(const ForkCopies&) = delete;
  ForkCopies& operator=(const ForkCopies&) = delete;

  // Copies of the COPY object mappings of `parent`, whose thread `tid` is
  // about to fork; `done` is called exactly once, maybe before this returns.
  void prepare(ipc::TaskId parent, pid_t tid, Prepared done);
  // The fork of `token` returned in `parent`.
  kern_return_t fork_done(ipc::TaskId parent, uint64_t token);
  // Copy `index` of `token` for `child` (whose parent is `parent_pid`).
  // *fd: the memfd to hand the child (not to be closed by the caller);
  // *shared: MAP_SHARED (a copy object's cache) rather than MAP_PRIVATE.
  // KERN_INVALID_ARGUMENT: not its child, no such token or index;
  // KERN_MEMORY_ERROR: that copy object has ended.
  kern_return_t take(ipc::TaskId child, pid_t parent_pid, uint64_t token, uint64_t index, Copy* out, int* fd,
                     bool* shared);
  // The child mapped copy `index` (a copy object) at its address: its
  // faults are routed from now on. An error: the child must unmap it.
  kern_return_t mapped(ipc::TaskId child, uint64_t token, uint64_t index);
  // The child's claim is over: what it did not map is released.
  kern_return_t finish(ipc::TaskId child, pid_t parent_pid, uint64_t token);
  // Copies held for forks not claimed or finished yet.
  size_t count() const { return records_.size(); }

  void task_terminating(ipc::TaskId task) override;

  static constexpr uint64_t kWatchNs = 100'000'000;

 private:
  struct Record {
    ipc::TaskId parent = ipc::kNoTask;
    pid_t parent_pid = 0;
    pid_t tid = 0;
    std::set<pid_t> children_before;  // the forking thread's children before the fork
    std::vector<Copy> copies;
    // The user's eager copy quota each snapshot holds, by the index it was
    // begun at (empty for the others): given back with the record.
    std::vector<EagerCopyQuota::Reservation> reserved;
    size_t making = 0;  // copies still being made
    Prepared done;
    pid_t child_pid = 0;          // found by fork_done
    uint64_t child_start = 0;     // its start time (start_time_of)
    ipc::TaskId child = ipc::kNoTask;  // the task that claimed them
  };
  Record* find(uint64_t token);
  // The copies are made (or failed): answer the parent.
  void made(uint64_t token);
  void release(uint64_t token);
  Record* claim(ipc::TaskId child, pid_t parent_pid, uint64_t token);
  void watch();

  MemoryObjects& objects_;
  std::map<uint64_t, Record> records_;  // by token
  uint64_t next_token_ = 1;  // (tokens are random; these only if getrandom fails)
  uint64_t timer_ = 0;
};

}  // namespace machd::vm
