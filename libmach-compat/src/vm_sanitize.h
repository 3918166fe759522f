// libmach-compat/src/vm_sanitize.h — the argument checks XNU's vm_sanitize
// makes on the calls the library serves for the task itself (allocate,
// deallocate, protect, inherit), so a wrong argument gets XNU's answer
// before anything is done. Pure functions.
#pragma once

#include <mach/kern_return.h>
#include <mach/vm_inherit.h>
#include <mach/vm_prot.h>
#include <mach/vm_statistics.h>

#include <cstdint>

namespace machcompat {

// A page-aligned range [start, end) derived from (addr, size) as
// vm_sanitize_addr_size does without GET_UNALIGNED_VALUES: the start rounded
// down, the end rounded up. `empty` when size is 0 (SIZE_ZERO_SUCCEEDS: the
// call succeeds doing nothing).
struct SanitizedRange {
  kern_return_t kr = KERN_SUCCESS;
  uint64_t start = 0, end = 0;
  bool empty = false;
};

inline SanitizedRange sanitize_addr_size(uint64_t addr, uint64_t size, uint64_t page_mask) {
  SanitizedRange r;
  if (size == 0) {
    r.empty = true;
    return r;
  }
  uint64_t end_unaligned;
  if (__builtin_add_overflow(addr, size, &end_unaligned)) {
    r.kr = KERN_INVALID_ARGUMENT;
    return r;
  }
  r.start = addr & ~page_mask;
  r.end = (end_unaligned + page_mask) & ~page_mask;  // 0 when it wraps
  if (r.end <= r.start) r.kr = KERN_INVALID_ARGUMENT;
  return r;
}

// Protections a task may ask for (vm_sanitize_prot): read, write, execute,
// plus VM_PROT_COPY where the call allows it.
inline bool prot_ok(vm_prot_t p, vm_prot_t extra) { return (p & ~(VM_PROT_ALL | extra)) == 0; }

// vm_sanitize_inherit: SHARE, COPY or NONE.
inline bool inherit_ok(vm_inherit_t i) { return i <= VM_INHERIT_LAST_VALID; }

// mach_vm_allocate_external: flags outside VM_FLAGS_USER_ALLOCATE are an
// invalid argument.
inline bool allocate_flags_ok(int flags) { return (flags & ~VM_FLAGS_USER_ALLOCATE) == 0; }

}  // namespace machcompat
