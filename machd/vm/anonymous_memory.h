// machd/vm/anonymous_memory.h — anonymous memory under machd's memory
// budget (machd --memory-limit), paged out to the default memory manager.
//
// Without a budget nothing here runs: a task's vm_allocate is a plain
// private mmap done by the library in-process, and Linux pages it.
//
// With a budget, machd is the kernel of that memory, as Mach is of its
// internal objects: the library sends vm_allocate on its own task to machd
// (MACHD_WELCOME_MANAGED_MEMORY), which makes an internal memory object (a
// memfd cache, MemoryObject with internal()) and maps it into the task like
// any memory object (object_map.h), registered on the task's userfaultfd.
// Then:
//   - first touch: machd fills the pages with zeroes (no pager is asked);
//   - when the pages resident in every internal object exceed the budget
//     (checked after each batch of faults), machd pages some out until
//     they are 1/16 under it, taking objects in turn, each from where it
//     stopped last (a clock): dirty pages go to the default memory manager
//     (the first time an object is paged out it is handed over with
//     memory_object_create; pages the manager never had go with
//     memory_object_data_initialize, others with memory_object_data_return),
//     then the pages are dropped from the cache (a hole punched in the
//     memfd, which unmaps them from every task);
//   - a later touch of a page the manager holds is a memory_object_data_request
//     to it, answered with memory_object_data_supply, as for any pager;
//   - vm_deallocate (or the task's end) ends the object:
//     memory_object_terminate to the manager, which frees its copies.
// So a task can use more memory than the budget; the budget bounds what
// the tasks' anonymous memory keeps in RAM.
//
// Without a registered manager (or after it died) nothing can be paged
// out: machd logs it once and lets the memory exceed the budget, as Mach
// keeps dirty anonymous pages it has nowhere to put.
//
// Not under the budget: the tasks' other memory (malloc, stacks, mmap),
// vm_map of anonymous memory, a copy a forked child takes of such a range,
// a single vm_allocate larger than kMaxObjectBytes, the default memory
// manager's own memory.
#pragma once

#include <mach/kern_return.h>

#include <cstdint>
#include <vector>

#include "ipc/kernel.h"
#include "vm/eager_copy_bound.h"

namespace machd::vm {

class AnonymousMemory {
 public:
  // limit_bytes 0: no budget (managed() false).
  explicit AnonymousMemory(uint64_t limit_bytes);
  ~AnonymousMemory();
  AnonymousMemory(const AnonymousMemory&) = delete;
  AnonymousMemory& operator=(const AnonymousMemory&) = delete;

  bool managed() const { return limit_ != 0; }
  uint64_t limit_bytes() const { return limit_; }

  // Whether a vm_allocate of `len` bytes in `task` is made here: a budget
  // is set, the task has a userfaultfd, it is not the default memory
  // manager's (whose memory must never wait on itself), and the range is
  // at most kMaxObjectBytes: a larger reservation stays plain memory,
  // outside the budget. (Not for machd's state of the object, which grows
  // with the pages touched only; but a fork copies a range inherited COPY
  // whole: every page of it is zero-filled in the cache and snapshotted,
  // touched or not. So an object is at most what a fork may snapshot,
  // eager_copy_bound.h.)
  bool takes(ipc::TaskId task, uint64_t len);
  static constexpr uint64_t kMaxObjectBytes = kMaxEagerCopyBytes;

  // vm_allocate in `task` under the budget: a new internal object of `len`
  // bytes mapped read-write at `start` (`fixed`: 0, MAP_FIXED or
  // MAP_FIXED_NOREPLACE, as map_memory_object), inherited COPY. Returns
  // MIG_NO_REPLY (the address is answered once mapped) or an error now:
  // KERN_NOT_SUPPORTED if the task has no userfaultfd,
  // KERN_RESOURCE_SHORTAGE if no object can be made.
  kern_return_t allocate(ipc::TaskId task, uint64_t start, uint64_t len, int fixed);

  // Bytes resident in all internal objects now.
  uint64_t resident_bytes();
  // Pages out while over the budget (machd calls it after each batch of
  // faults; tests call it directly).
  void balance();

 private:
  uint64_t limit_;
  std::vector<uint64_t> ids_;  // the internal objects (ids; dead ones are pruned)
  size_t cursor_ = 0;          // the object balance() starts with next
  bool warned_ = false;        // "cannot page out" was logged
};

// The anonymous memory of this machd (set by the constructor).
AnonymousMemory& anonymous_memory();

}  // namespace machd::vm
