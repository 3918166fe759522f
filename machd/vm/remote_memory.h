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
// cache (with its pager) is asked for and the call answers
// KERN_MEMORY_ERROR; a later call finds it (MemoryObject::read_cache).
// A write that fails part-way may have written the part before the fault
// (XNU checks the whole destination first); machd does not pre-check, to
// keep the common case at one system call.
#pragma once

#include <mach/kern_return.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace machd::vm {

kern_return_t read_remote(pid_t pid, uint64_t addr, void* buf, size_t n);
kern_return_t write_remote(pid_t pid, uint64_t addr, const void* buf, size_t n);

// memmove within the task: [src, src+n) to [dst, dst+n), through a bounded
// buffer in machd. The source range is checked readable and the destination
// writable before anything is written.
kern_return_t copy_remote(pid_t pid, uint64_t src, uint64_t dst, size_t n);

}  // namespace machd::vm
