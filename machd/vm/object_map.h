// machd/vm/object_map.h — vm_map of a memory object (a pager's port) into a
// task: the vm_map routines (remote_map.cc) come here when the object port
// is neither null nor a memory entry.
//
// copy=FALSE: the task's agent maps the object's cache memfd MAP_SHARED
//   with cur_protection, then the fault router registers the range on the
//   task's userfaultfd; pages the object holds are mapped at once, the rest
//   fault to the pager. Every task (and every mapping in one task) sees the
//   same pages.
// copy=TRUE: when the pager chose MEMORY_OBJECT_COPY_CALL, machd returns
//   the range's dirty pages to the pager, then asks it for a copy
//   (memory_object_copy with a new object port it then serves) and maps
//   that new object as above. Otherwise a snapshot taken now: the object's
//   pages in the range are made resident (asking the pager), copied to a
//   new private memfd, and that is mapped MAP_PRIVATE. Later writes to the
//   object are not seen. (The whole range is read at vm_map time: O(size).
//   So a snapshot longer than kMaxEagerCopyBytes, eager_copy_bound.h, or
//   one that would take the user of the task that asked past its bytes of
//   eager copies in flight, eager_copy_quota.h, is answered
//   KERN_RESOURCE_SHORTAGE at once, nothing asked of the pager; an object
//   whose pager has not said ready yet is copied this way too. The user's
//   share is held from then until the copy is mapped, fails, or the task
//   mapped into ends.)
// The reply is deferred until the agent answered; the request's send right
// to the object port is taken by the object (or released).
//
// fork: a VM_INHERIT_SHARE mapping is shared with a forked child (the child
// registers it on its own userfaultfd before fork() returns in it,
// MemoryObjects::inherit). NONE and COPY mappings are MADV_DONTFORK, so a
// child never touches the cache unseen; a COPY mapping reaches the child as
// a copy made at fork time with the same machinery as copy=TRUE
// (fork_copies.h). max_protection is checked, not enforced.
#pragma once

#include <mach/mach_types.h>

#include "ipc/kernel.h"
#include "memory_object.h"

namespace machd::vm {

// `fixed`: 0 (anywhere), MAP_FIXED or MAP_FIXED_NOREPLACE at `start`.
// Returns MIG_NO_REPLY (answered later, or at once with an error the
// request's object right is then taken for: KERN_RESOURCE_SHORTAGE for a
// snapshot past either bound) or an error now (the right left to the
// request).
kern_return_t map_memory_object(ipc::TaskId task, uint64_t start, uint64_t len, int fixed, mach_port_t object,
                                uint64_t offset, bool copy, vm_prot_t cur, vm_prot_t max, vm_inherit_t inheritance);

// Maps the object `id` (from its offset 0, `len` bytes) into `task` as
// copy=FALSE does, for the request being served: its reply is deferred
// (the address once mapped and registered, or the error), so the caller
// returns MIG_NO_REPLY. (Anonymous memory under the budget,
// anonymous_memory.h.)
void map_object_shared(ipc::TaskId task, uint64_t start, uint64_t len, int fixed, uint64_t id, vm_prot_t cur,
                       vm_inherit_t inheritance);
// The copy=TRUE machinery (also used by fork, fork_copies.h).
// Whether a copy of `o` for `task` is the pager's (MEMORY_OBJECT_COPY_CALL,
// the object ready, the task able to map objects).
bool copy_call_ok(ipc::TaskId task, const MemoryObject& o);
// COPY_CALL: the dirty pages of [offset, offset+len) go back to o's pager
// (data_return), then memory_object_copy with a new object port; returns
// the new object (no mapping yet: release_if_unused ends it), null on failure.
MemoryObject* copy_call(MemoryObject& o, uint64_t offset, uint64_t len);
// A private memfd holding the bytes [offset, offset+len) of file `from`
// (the caller made them resident: MemoryObject::when_resident); -1 on
// failure. The caller owns the fd.
int snapshot(int from, uint64_t offset, uint64_t len);

}  // namespace machd::vm
