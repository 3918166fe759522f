// machd/vm/advice_server.cc — vm_behavior_set / mach_vm_behavior_set and
// vm_msync / mach_vm_msync on any task (the calling one included): hints
// about a range, given to Linux with madvise through the task's in-task
// agent (kern/agent.h), answered when it has run.
//
//   DEFAULT, RANDOM, SEQUENTIAL (RSEQNTL)  MADV_NORMAL / RANDOM / SEQUENTIAL
//   WILLNEED                               MADV_WILLNEED
//   DONTNEED, FREE, REUSABLE, DEACTIVATE   MADV_COLD (a hint; contents kept,
//                                          which XNU allows)
//   PAGEOUT                                MADV_PAGEOUT
//   REUSE, CAN_REUSE, ZERO_WIRED_PAGES     nothing to do (range checked)
//   ZERO                                   MADV_DONTNEED on private memory
//                                          (zeros); KERN_NOT_SUPPORTED on
//                                          shared memory
// msync: anonymous and memfd memory has no backing store to write to, so
// ASYNCHRONOUS / SYNCHRONOUS succeed; in a memory object mapping they send
// the dirty pages to the object's pager (INVALIDATE: and flush them); KILLPAGES discards private pages
// (MADV_DONTNEED); a file-backed shared range cannot be written back from
// machd (KERN_NOT_SUPPORTED). VM_SYNC_CONTIGUOUS makes a hole
// KERN_INVALID_ADDRESS, as XNU.
#include <mach/mach_types.h>
#include <mach/mig_errors.h>
#include <mach/vm_behavior.h>
#include <mach/vm_sync.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../libmach-compat/src/vm_sanitize.h"
#include "address_map.h"
#include "kern/agent.h"
#include "kern/runtime.h"
#include "memory_objects.h"
#include "kern/translate.h"

extern "C" {
#include "mach_vmServer.h"
#include "vm_mapServer.h"
}

namespace machd::vm {

namespace {

uint64_t page_mask() { return uint64_t(sysconf(_SC_PAGESIZE)) - 1; }

kern_return_t advise(ipc::TaskId t, uint64_t start, uint64_t end, int advice) {
  kern::AgentCall c;
  c.op = MACHD_AGENT_MADVISE;
  c.args[0] = start;
  c.args[1] = end - start;
  c.args[2] = uint64_t(advice);
  kern::DeferredReply d = kern::runtime().defer();
  kern::agent().request(t, c, [d](const kern::AgentResult& r) {
    kern_return_t kr = r.result;
    if (kr == KERN_TERMINATED || kr == KERN_OPERATION_TIMED_OUT) kr = KERN_INVALID_TASK;
    kern::runtime().send_error_reply(d, kr);  // RetCode only
  });
  return MIG_NO_REPLY;
}

// Whether every entry over [start, end) is private (not MAP_SHARED).
bool all_private(const std::vector<MapEntry>& map, uint64_t start, uint64_t end) {
  for (const MapEntry& e : map)
    if (e.end > start && e.start < end && e.shared) return false;
  return true;
}

bool any_shared_file(const std::vector<MapEntry>& map, uint64_t start, uint64_t end) {
  for (const MapEntry& e : map)
    if (e.end > start && e.start < end && e.shared && !e.path.empty() && e.path[0] == '/' &&
        e.path.compare(0, 7, "/memfd:") != 0 && e.path.compare(0, 6, "/SYSV0") != 0)
      return true;
  return false;
}

struct Target {
  ipc::TaskId task = ipc::kNoTask;
  std::vector<MapEntry> map;
};

kern_return_t target_of(mach_port_t port, Target* out) {
  auto t = kern::translate(port, {kern::KType::kTask});
  if (!t) return KERN_INVALID_ARGUMENT;
  out->task = ipc::TaskId(*t);
  auto map = read_map(kern::runtime().host().pid_of(out->task), false);
  if (!map) return KERN_INVALID_TASK;
  out->map = std::move(*map);
  return KERN_SUCCESS;
}

kern_return_t behavior_set(mach_port_t task, uint64_t address, uint64_t size, vm_behavior_t behavior) {
  if (behavior < VM_BEHAVIOR_DEFAULT || behavior > VM_BEHAVIOR_ZERO) return KERN_INVALID_ARGUMENT;
  machcompat::SanitizedRange r = machcompat::sanitize_addr_size(address, size, page_mask());
  if (r.kr != KERN_SUCCESS) return r.kr;
  Target t;
  if (kern_return_t kr = target_of(task, &t); kr != KERN_SUCCESS) return kr;
  if (r.empty) return KERN_SUCCESS;
  if (check_range(t.map, r.start, r.end, VM_PROT_NONE) != KERN_SUCCESS) return KERN_INVALID_ADDRESS;
  switch (behavior) {
    case VM_BEHAVIOR_DEFAULT: return advise(t.task, r.start, r.end, MADV_NORMAL);
    case VM_BEHAVIOR_RANDOM: return advise(t.task, r.start, r.end, MADV_RANDOM);
    case VM_BEHAVIOR_SEQUENTIAL:
    case VM_BEHAVIOR_RSEQNTL: return advise(t.task, r.start, r.end, MADV_SEQUENTIAL);
    case VM_BEHAVIOR_WILLNEED: return advise(t.task, r.start, r.end, MADV_WILLNEED);
    case VM_BEHAVIOR_DONTNEED:
    case VM_BEHAVIOR_FREE:
    case VM_BEHAVIOR_REUSABLE: return advise(t.task, r.start, r.end, MADV_COLD);
    case VM_BEHAVIOR_PAGEOUT: return advise(t.task, r.start, r.end, MADV_PAGEOUT);
    case VM_BEHAVIOR_ZERO:
      if (!all_private(t.map, r.start, r.end)) return KERN_NOT_SUPPORTED;
      return advise(t.task, r.start, r.end, MADV_DONTNEED);
    default:  // REUSE, CAN_REUSE, ZERO_WIRED_PAGES
      return KERN_SUCCESS;
  }
}

kern_return_t msync_range(mach_port_t task, uint64_t address, uint64_t size, vm_sync_t flags) {
  if ((flags & VM_SYNC_ASYNCHRONOUS) && (flags & VM_SYNC_SYNCHRONOUS)) return KERN_INVALID_ARGUMENT;
  machcompat::SanitizedRange r = machcompat::sanitize_addr_size(address, size, page_mask());
  if (r.kr != KERN_SUCCESS) return r.kr;
  Target t;
  if (kern_return_t kr = target_of(task, &t); kr != KERN_SUCCESS) return kr;
  if (r.empty) return KERN_SUCCESS;
  if ((flags & VM_SYNC_CONTIGUOUS) && check_range(t.map, r.start, r.end, VM_PROT_NONE) != KERN_SUCCESS)
    return KERN_INVALID_ADDRESS;
  if ((flags & (VM_SYNC_SYNCHRONOUS | VM_SYNC_ASYNCHRONOUS)) && any_shared_file(t.map, r.start, r.end))
    return KERN_NOT_SUPPORTED;
  // Memory objects mapped there: their dirty pages go to their pagers
  // (invalidate: and leave the cache).
  if (flags & (VM_SYNC_SYNCHRONOUS | VM_SYNC_ASYNCHRONOUS | VM_SYNC_INVALIDATE))
    memory_objects().sync(t.task, r.start, r.end, (flags & VM_SYNC_INVALIDATE) != 0);
  if (flags & VM_SYNC_KILLPAGES) {
    if (!all_private(t.map, r.start, r.end)) return KERN_NOT_SUPPORTED;
    return advise(t.task, r.start, r.end, MADV_DONTNEED);
  }
  if (flags & (VM_SYNC_DEACTIVATE | VM_SYNC_REUSABLEPAGES)) return advise(t.task, r.start, r.end, MADV_COLD);
  return KERN_SUCCESS;
}

}  // namespace
}  // namespace machd::vm

using machd::vm::behavior_set;
using machd::vm::msync_range;

extern "C" {

kern_return_t mach_vm_behavior_set(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                                   vm_behavior_t new_behavior) {
  return behavior_set(target_task, address, size, new_behavior);
}

kern_return_t vm_behavior_set(vm_map_t target_task, vm_address_t address, vm_size_t size,
                              vm_behavior_t new_behavior) {
  return behavior_set(target_task, address, size, new_behavior);
}

kern_return_t mach_vm_msync(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                            vm_sync_t sync_flags) {
  return msync_range(target_task, address, size, sync_flags);
}

kern_return_t vm_msync(vm_map_t target_task, vm_address_t address, vm_size_t size, vm_sync_t sync_flags) {
  return msync_range(target_task, address, size, sync_flags);
}

}  // extern "C"
