// machd/vm/eager_copy_bound.h — how many bytes one request may make machd
// copy eagerly.
//
// An eager copy is a snapshot machd takes of a range of a memory object:
// every page of the range is made resident in the object's cache (asked of
// its pager, or zero-filled for anonymous memory), then copied into a
// private memfd. What it costs machd (the pages asked for, held in the cache
// and again in the copy) follows the length of the range, not the pages the
// task touched, so the length a task may ask for is bounded:
//   - vm_map copy=TRUE of an object whose pager does not make its own copies
//     (not MEMORY_OBJECT_COPY_CALL, or not ready yet): a range longer than
//     kMaxEagerCopyBytes is refused before anything is asked of the pager
//     (object_map.h);
//   - fork: the snapshots made for one fork, of the ranges of pagers'
//     objects inherited VM_INHERIT_COPY, add up to at most
//     kMaxEagerCopyBytes; a range that does not fit in what is left is left
//     out of the child, as a copy that could not be made is (fork_copies.h).
// A copy the pager makes (COPY_CALL) costs machd nothing per page and is not
// counted. Nor is anonymous memory: the task's memory budget bounds it
// already (anonymous_memory.h: objects of at most this size, under the
// budget), and a program's own memory must reach its child whole.
//
// On top of this bound per request, the copies one user's tasks have in
// flight at once are bounded together (eager_copy_quota.h: by default
// kDefaultEagerCopyBytesPerUser, machd --max-eager-copy-per-user).
#pragma once

#include <cstdint>

namespace machd::vm {

// 4 GiB: far above what a task copies in one vm_map in practice, far below
// what would exhaust machd (a terabyte range would ask the pager for a
// terabyte and hold it twice).
inline constexpr uint64_t kMaxEagerCopyBytes = uint64_t(4) << 30;

// 8 GiB: the bytes of eager copies one user's tasks may have in flight at
// once unless machd is told otherwise (eager_copy_quota.h). Two copies at
// the bound per request, far above what a normal program has in flight.
inline constexpr uint64_t kDefaultEagerCopyBytesPerUser = uint64_t(8) << 30;

// The bytes of eager copies one request may still make (a vm_map's one
// copy, a fork's several).
class EagerCopyBudget {
 public:
  explicit EagerCopyBudget(uint64_t bound = kMaxEagerCopyBytes) : left_(bound) {}
  // Whether a copy of `len` bytes fits in what is left; if it does, it is
  // counted. A copy that does not fit takes nothing: a later, smaller one
  // may still fit.
  bool take(uint64_t len);
  uint64_t left() const { return left_; }

 private:
  uint64_t left_;
};

}  // namespace machd::vm
