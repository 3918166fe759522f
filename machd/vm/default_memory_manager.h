// machd/vm/default_memory_manager.h — the default memory manager: the pager
// task anonymous memory is paged out to when machd runs with a memory
// budget (machd --memory-limit; vm/anonymous_memory.h). It registers with
// host_default_memory_manager (host_priv.defs) and is then spoken to with
// GNU Mach's memory_object_default.defs (memory_object_create,
// memory_object_data_initialize) and memory_object.defs.
//
// Contract
//   port(): a kernel-task name of a send right to the registered manager,
//     or MACH_PORT_NULL when none is registered or its port died (a dead
//     manager is forgotten: the next registration starts afresh).
//   swap(fresh, task): `fresh` (a send right the kernel task holds, or
//     null), registered by `task`, becomes the manager; the previous right
//     is returned to the caller, who owns it (null if there was none or it
//     died).
//   serves_pageout(task): `task` registered a manager that is still
//     registered. Its own anonymous memory is never paged out (it would
//     page out to itself, and wait on itself for the pages it needs to
//     answer): vm_allocate in it stays plain memory, as a Mach default
//     pager's memory is wired.
//
// host_default_memory_manager(host_priv, &manager, cluster_size) (the
// routine, default_memory_manager.cc) follows GNU Mach: a valid `manager`
// replaces the registered one and the old one comes back (a send right, or
// null); MACH_PORT_NULL asks for the current one (a new send right).
// cluster_size is ignored (machd picks its own clusters). XNU lets only
// the kernel itself replace the manager; on machd the default pager is a
// user task, as on GNU Mach, so a caller with host_priv may, and so may a
// caller machd's operator runs (machd's own uid or root, the rule the
// introspection calls use) with the plain host port, since an
// unprivileged machd's user has no host_priv. Anyone else gets
// KERN_INVALID_HOST (the port is not host_priv).
#pragma once

#include <mach/port.h>

#include "ipc/kernel.h"

namespace machd::vm {

class DefaultMemoryManager {
 public:
  DefaultMemoryManager();
  ~DefaultMemoryManager();
  DefaultMemoryManager(const DefaultMemoryManager&) = delete;
  DefaultMemoryManager& operator=(const DefaultMemoryManager&) = delete;

  mach_port_name_t port();
  mach_port_name_t swap(mach_port_name_t fresh, ipc::TaskId task);
  bool serves_pageout(ipc::TaskId task) { return task == task_ && MACH_PORT_VALID(port()); }

 private:
  mach_port_name_t port_ = MACH_PORT_NULL;
  ipc::TaskId task_ = ipc::kNoTask;
};

// The manager registry of this machd (set by the constructor).
DefaultMemoryManager& default_memory_manager();

}  // namespace machd::vm
