// machd/vm/remote_memory.h — reading and writing another task's memory.
//
// machd copies with process_vm_readv / process_vm_writev (the task allows
// it: same user, or PR_SET_PTRACER where YAMA asks; machd never attaches).
// Linux honours the target's page protections, so a failed or short copy
// is classified against the task's map as XNU's copyin/copyout answer:
//   a hole in the range          KERN_INVALID_ADDRESS
//   mapped without the access    KERN_PROTECTION_FAILURE
//   process gone                 KERN_INVALID_TASK
//   not permitted (ptrace rules) KERN_FAILURE
// Ranges mapped from memory objects (a pager's, or anonymous memory under
// the budget) are copied through the objects' caches instead, never
// through the task's page tables: a fault there would wait on the task's
// userfaultfd, which machd itself serves. A page that is not in machd's
// cache (with its pager) stops the copy there with KERN_MEMORY_ERROR; the
// routine waits for it (serve_again_when_resident) and runs again, as a
// Mach kernel's copy waits for the page. Without `missing` the page is
// asked for and the caller answers the error (a later call finds it).
// A write that fails part-way may have written the part before the fault
// (XNU checks the whole destination first); machd does not pre-check, to
// keep the common case at one system call.
#pragma once

#include <mach/kern_return.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace machd::vm {

// Pages of a memory object a copy stopped at: not in machd's cache yet.
struct MissingPages {
  uint64_t object = 0;  // the object's id; 0: none missing
  uint64_t offset = 0;  // object offset and length of the piece copied
  uint64_t length = 0;
  pid_t pid = 0;        // the process whose mapping of the object it is
  explicit operator bool() const { return object != 0; }
};

// On KERN_MEMORY_ERROR, *missing (if given) says which pages stopped the
// copy (or stays empty: the object is gone or its pager refused).
kern_return_t read_remote(pid_t pid, uint64_t addr, void* buf, size_t n, MissingPages* missing = nullptr);
kern_return_t write_remote(pid_t pid, uint64_t addr, const void* buf, size_t n, MissingPages* missing = nullptr);

// memmove within the task: [src, src+n) to [dst, dst+n), through a bounded
// buffer in machd. The source range is checked readable and the destination
// writable before anything is written. Between overlapping ranges,
// *missing is set (when given) only before the first write: run again, a
// copy stopped later would not find its source as it was.
kern_return_t copy_remote(pid_t pid, uint64_t src, uint64_t dst, size_t n, MissingPages* missing = nullptr);

// For a routine whose copy stopped at `missing`: asks the request to be
// served again once those pages are in the cache, once the wait fails, or
// once the task of missing.pid ends (its memory is gone: the routine then
// answers at once, not at the pager's timeout)
// (kern::Runtime::serve_again_when; the object stays pinned meanwhile).
// True if it will be: the routine then returns MIG_NO_REPLY. False (no
// pages missing, or the request waited enough): answer the error.
bool serve_again_when_resident(const MissingPages& missing);

}  // namespace machd::vm
