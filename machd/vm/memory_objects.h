// machd/vm/memory_objects.h — every memory object machd holds, found by
// its pager's port (vm_map) or its control port (the pager's calls).
//
// Contract
//   object_for(pager): the object of the memory object port `pager` (a
//     kernel-task name of a send right the current request carried). One
//     object per port, however many tasks map it (machd is one kernel: one
//     memory_object_init, one control port). A new object takes the
//     request's send right and sends memory_object_init; for a known one
//     the request's right is released. Null if machd cannot make one.
//   An object lives while a mapping or a map in progress (pin) holds it,
//     as a Mach vm_object lives while references to it remain (vm_map
//     holds one from the lookup of the port on, which its map entry then
//     keeps). It ends when:
//     - the last mapping goes, no map of it is in progress, and the pager
//       did not allow caching (may_cache FALSE): dirty and precious pages
//       are returned, then memory_object_terminate;
//     - the pager calls memory_object_destroy: terminate is sent, later
//       faults fail;
//     - the pager's port dies: waiting and later faults fail, the memory
//       is released. (Noticed within kLivenessNs while a fault waits: the
//       kernel task's names are shared with machd's other servers, so it
//       takes no dead-name request of its own on a pager's port.)
//   A later vm_map of the same port then makes a new object.
//   Request deadlines (--pager-timeout) are kept on machd's timer queue.
//   The eager copies (snapshots) of vm_map copy=TRUE and of forks draw on
//   one per-user quota (eager_copy_quota.h, --max-eager-copy-per-user).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "kern/runtime.h"
#include "eager_copy_quota.h"
#include "fault_router.h"
#include "fork_copies.h"
#include "memory_object.h"
#include "pager_link.h"

namespace machd::vm {

class MemoryObjects {
 public:
  // eager_copy_per_user: the bound of eager_copies().
  MemoryObjects(kern::TaskHost& host, uint64_t timeout_ns,
                uint64_t eager_copy_per_user = kDefaultEagerCopyBytesPerUser);
  ~MemoryObjects();
  MemoryObjects(const MemoryObjects&) = delete;
  MemoryObjects& operator=(const MemoryObjects&) = delete;

  FaultRouter& router() { return router_; }
  MessagePagerLink& link() { return link_; }
  // The copies made for forked children (VM_INHERIT_COPY mappings).
  ForkCopies& fork_copies() { return forks_; }
  // The bytes of eager copies each user's tasks have in flight.
  EagerCopyQuota& eager_copies() { return eager_copies_; }

  MemoryObject* object_for(mach_port_name_t pager);
  // A new internal object: anonymous memory, with no pager until it is
  // first paged out (MemoryObject, vm/anonymous_memory.h). Null if machd
  // cannot make one.
  MemoryObject* create_internal();
  // Called after each batch of faults served (anonymous memory's budget is
  // checked there).
  void after_faults(std::function<void()> f) { after_faults_ = std::move(f); }
  // The object whose control port `kernel_name` is (a name the kernel task
  // received), or null.
  MemoryObject* by_control(mach_port_name_t kernel_name);
  MemoryObject* by_id(uint64_t id);
  size_t count() const { return objects_.size(); }

  // Ends object `id` if nothing maps or pins it (after a vm_map that
  // failed or only copied from it), as the last unmap does.
  void release_if_unused(uint64_t id);
  // A map (or copy) of object `id` is in progress: from finding the object
  // until its mapping is registered, or its pages are copied, or it
  // failed. The object is not ended meanwhile, even if another task's
  // last mapping of it goes: the map then finds it alive. Each pin is
  // ended by one unpin.
  void pin(uint64_t id);
  // The map in progress is done: the object ends if nothing else maps or
  // pins it, as after the last unmap (release_if_unused). Nothing for an
  // object not pinned.
  void unpin(uint64_t id);
  // unpin on the loop's next turn: for a when_resident callback, which
  // runs inside the object's own call (the supply that completed the wait)
  // and must not end the object under it.
  void unpin_soon(uint64_t id);
  // vm_msync on [start, end) of `task`: the dirty pages of the memory
  // objects mapped there go back to their pagers now (data_return);
  // invalidate: and leave the cache (flushed). Ranges without objects are
  // untouched.
  void sync(ipc::TaskId task, uint64_t start, uint64_t end, bool invalidate);
  // fork: `child` (a task whose process's parent is `parent_pid`, asking
  // before fork() returns in it) takes over the parent task's object
  // mappings inherited VM_INHERIT_SHARE: they are registered on the child's
  // userfaultfd at the same addresses, so its faults reach the pager and
  // its writes are tracked. *count: how many. KERN_INVALID_ARGUMENT if
  // parent_pid is not the child's parent or no task. A nonzero
  // `copy_token` (the parent's fork made copies of its VM_INHERIT_COPY
  // mappings, fork_copies.h) ends the child's claim of them: what it did
  // not map is released.
  kern_return_t inherit(ipc::TaskId child, pid_t parent_pid, uint64_t copy_token, uint64_t* count);
  // The object mappings overlapping [start, end) of the task whose process
  // is `pid`, in address order (none if it is no task).
  std::vector<const ObjectMapping*> mappings_of_pid(pid_t pid, uint64_t start, uint64_t end);
  // The pager destroyed the object (memory_object_destroy).
  void destroy(MemoryObject* o);
  // Re-arms the timer for the earliest request deadline (after anything
  // that may have asked a pager).
  void arm();

 private:
  static constexpr uint64_t kLivenessNs = 100'000'000;
  void pager_died(uint64_t id);
  // The object stops being found by its pager port.
  void unlink_pager_port(uint64_t id);
  bool pager_alive(uint64_t id);
  void check_pagers();
  void unmapped(MemoryObject* o);
  // Nothing maps the object and no map of it is in progress.
  bool unused(const MemoryObject& o) const;
  void erase(uint64_t id);

  FaultRouter router_;
  MessagePagerLink link_;
  uint64_t timeout_ns_;
  std::unordered_map<uint64_t, std::unique_ptr<MemoryObject>> objects_;
  std::unordered_map<mach_port_name_t, uint64_t> by_pager_;
  std::unordered_map<uint64_t, uint32_t> pins_;  // object id → maps in progress
  uint64_t next_id_ = 1;
  std::function<void()> after_faults_;
  uint64_t timer_ = 0;
  uint64_t timer_deadline_ = 0;
  EagerCopyQuota eager_copies_;  // (before forks_: the fork records hold reservations)
  ForkCopies forks_{*this};
};

// The objects of this machd (set by the constructor).
MemoryObjects& memory_objects();
// The same, or null before there is one (code also used without a daemon).
MemoryObjects* memory_objects_if_any();

}  // namespace machd::vm
