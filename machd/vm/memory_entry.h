// machd/vm/memory_entry.h — named memory entries (kMemoryEntry ports).
//
// An entry is a range of a memfd machd holds: a new object
// (MAP_MEM_NAMED_CREATE), the memfd behind a task's shared mapping (the
// library's large vm_allocate regions and SHARE regions are memfds; machd
// takes the fd from the task with pidfd_getfd), a snapshot of a task's
// memory (MAP_MEM_VM_COPY), or a sub-range of another entry. A task maps an
// entry with vm_map on itself: the library asks for the memfd with
// MACHD_OP_MEMORY_ENTRY_MAP and maps it MAP_SHARED (copy=TRUE: MAP_PRIVATE),
// so every task mapping one entry sees the same pages. vm_map of an entry
// into another task: the task's agent maps the memfd (vm/remote_map.cc). The entry lives while
// send rights to its port exist (no-senders destroys it and closes the fd).
#pragma once

#include <mach/mach_types.h>

#include <cstdint>
#include <unordered_map>

#include "ipc/kernel.h"
#include "kern/dispatch.h"

namespace machd::vm {

struct MemoryEntry {
  int fd = -1;            // owned
  uint64_t offset = 0;    // of the entry's first byte in fd
  uint64_t size = 0;      // page multiple
  vm_prot_t protection = VM_PROT_NONE;
  bool purgable = false;
  int purgable_state = 0;  // VM_PURGABLE_NONVOLATILE...
  mach_port_name_t port = MACH_PORT_NULL;  // kernel-task name of the entry's port
};

class MemoryEntries {
 public:
  explicit MemoryEntries(kern::Dispatch& dispatch);
  ~MemoryEntries();
  MemoryEntries(const MemoryEntries&) = delete;
  MemoryEntries& operator=(const MemoryEntries&) = delete;

  // A new entry over [offset, offset+size) of fd (taken, also on failure).
  // Returns a send right the kernel task holds (for a reply to move), or
  // MACH_PORT_NULL.
  mach_port_name_t create(int fd, uint64_t offset, uint64_t size, vm_prot_t protection, bool purgable);
  // The entry a kernel-task name (or a name in `task`'s space) denotes.
  MemoryEntry* find(mach_port_name_t kernel_name);
  MemoryEntry* find_in(ipc::TaskId task, mach_port_name_t name);
  size_t count() const { return entries_.size(); }

 private:
  void destroy(uint64_t id);
  std::unordered_map<uint64_t, MemoryEntry> entries_;
  uint64_t next_id_ = 1;
};

// The task's fd (taken with pidfd_getfd) whose file is inode `ino`: the
// memfd behind one of its shared mappings. -1 if none.
int task_fd_of_inode(ipc::TaskId task, pid_t pid, uint64_t ino);

// The entries of this machd (set by the constructor).
MemoryEntries& memory_entries();

}  // namespace machd::vm
