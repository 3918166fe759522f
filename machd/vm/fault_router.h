// machd/vm/fault_router.h — real page faults of every task, routed to the
// memory objects they hit.
//
// Each task hands machd its userfaultfd when it connects (the library
// creates it; MACHD_HELLO_UFFD). The router registers every object mapping
// of the task on it (missing + minor + write-protect modes), reads the
// task's fault and unmap events on machd's loop, and turns them into
// MemoryObject::fault calls; the object answers through MappingOps, which
// the router does with the same fd (UFFDIO_CONTINUE, WRITEPROTECT, POISON).
//
// Contract
//   attach_task(task, fd, features): takes fd; faults of the task are
//     served from now on. A task without one (userfaultfd refused by the
//     system) cannot map memory objects: add_mapping says ENOSYS.
//   add_mapping: the range is already mapped in the task (the agent mapped
//     the object's memfd there); registers it and hands it to the object.
//     Returns 0 or an errno (the caller then unmaps it).
//   The task unmapping (munmap, mremap, vm_deallocate in-process) reaches
//     the router as uffd events: mappings shrink, split or move with it.
//   A task that goes (task_terminating) loses its mappings; objects left
//     with none are reported to on_unmapped.
//   A fault on an address no mapping covers (a race with an unmap) is woken
//     and faults again or hits what is there now.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "kern/runtime.h"
#include "memory_object.h"

namespace machd::vm {

class FaultRouter final : public MappingOps, public kern::TaskObserver {
 public:
  explicit FaultRouter(kern::TaskHost& host);
  ~FaultRouter() override;
  FaultRouter(const FaultRouter&) = delete;
  FaultRouter& operator=(const FaultRouter&) = delete;

  void attach_task(ipc::TaskId task, int fd, uint64_t features);
  bool has_userfaultfd(ipc::TaskId task) const { return tasks_.count(task) != 0; }

  int add_mapping(ipc::TaskId task, uint64_t start, uint64_t end, uint64_t offset, vm_prot_t prot,
                  MemoryObject* object, vm_inherit_t inheritance = VM_INHERIT_NONE);
  // The object mapping of `task` containing addr (null if none).
  const ObjectMapping* find(ipc::TaskId task, uint64_t addr) const;
  // The object mappings of `task` overlapping [start, end), in address order.
  std::vector<const ObjectMapping*> mappings_in(ipc::TaskId task, uint64_t start, uint64_t end) const;
  // Every mapping of `object` goes (the object is being destroyed).
  void forget_object(MemoryObject* object);
  // Called when an object has no mapping left (after the last one went).
  void on_unmapped(std::function<void(MemoryObject*)> f) { on_unmapped_ = std::move(f); }
  // Called after each batch of events drained (the objects may have asked
  // their pagers something: deadlines to watch).
  void after_events(std::function<void()> f) { after_events_ = std::move(f); }

  void task_terminating(ipc::TaskId task) override;

  // MappingOps
  bool map_cached(const ObjectMapping& m, uint64_t addr, uint64_t len, bool write_protect) override;
  bool write_protect(const ObjectMapping& m, uint64_t addr, uint64_t len, bool protect) override;
  void unmap_pages(const ObjectMapping& m, uint64_t addr, uint64_t len) override;
  void fail(const ObjectMapping& m, uint64_t addr, uint64_t len) override;

  // Reads and serves every event pending on the task's fd (the loop calls
  // it when the fd is readable; tests call it directly).
  void drain(ipc::TaskId task);


 private:
  struct PerTask {
    int fd = -1;
    uint64_t features = 0;
    uint64_t watch = 0;
    std::map<uint64_t, std::unique_ptr<ObjectMapping>> maps;  // by start
  };
  PerTask* per_task(ipc::TaskId task);
  void drain_events(ipc::TaskId task);
  void remove_range(PerTask& pt, uint64_t start, uint64_t end);
  void move_range(PerTask& pt, uint64_t from, uint64_t to, uint64_t len);
  void drop(std::unique_ptr<ObjectMapping> m);
  // An operation the task's changing map refused (EAGAIN): done again
  // shortly, after the pending events were read.
  void retry_later(ipc::TaskId task, std::function<void()> op);
  void run_retries();
  // Makes the threads waiting on [addr, addr+len) of `task` fail (SIGBUS).
  void poison(ipc::TaskId task, uint64_t addr, uint64_t len, int attempt);
  static constexpr int kPoisonAttempts = 3;

  // A poisoned page is reset this long after (so a later access faults to
  // the pager again, as after data_error on Mach).
  static constexpr uint64_t kPoisonResetNs = 100'000'000;

  kern::TaskHost& host_;
  bool continue_wp_ = true;  // the kernel maps write-protected on UFFDIO_CONTINUE
  std::unordered_map<ipc::TaskId, PerTask> tasks_;
  std::function<void(MemoryObject*)> on_unmapped_;
  std::function<void()> after_events_;
  std::vector<std::pair<ipc::TaskId, std::function<void()>>> retries_;
  uint64_t retry_timer_ = 0;
  static constexpr uint64_t kRetryNs = 200'000;
};

}  // namespace machd::vm
