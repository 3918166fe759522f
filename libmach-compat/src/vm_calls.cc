// libmach-compat/src/vm_calls.cc — see vm_self.h: vm_allocate, vm_deallocate,
// vm_protect and vm_inherit (and their mach_vm_ forms) for the calling task
// in-process; for any other task (or a null one) the MIG message to machd.
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <mach/vm_map.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "connection.h"
#include "vm_attrs.h"
#include "vm_regions.h"
#include "vm_sanitize.h"
#include "vm_self.h"

// The MIG user stubs of the routines served here, renamed by the build
// (rename_kernelrpc.py; their header's guard is the public header's).
extern "C" {
kern_return_t _kernelrpc_mach_vm_allocate(vm_map_t, mach_vm_address_t*, mach_vm_size_t, int);
kern_return_t _kernelrpc_mach_vm_deallocate(vm_map_t, mach_vm_address_t, mach_vm_size_t);
kern_return_t _kernelrpc_mach_vm_protect(vm_map_t, mach_vm_address_t, mach_vm_size_t, boolean_t, vm_prot_t);
kern_return_t _kernelrpc_mach_vm_inherit(vm_map_t, mach_vm_address_t, mach_vm_size_t, vm_inherit_t);
kern_return_t _kernelrpc_vm_allocate(vm_map_t, vm_address_t*, vm_size_t, int);
kern_return_t _kernelrpc_vm_deallocate(vm_map_t, vm_address_t, vm_size_t);
kern_return_t _kernelrpc_vm_protect(vm_map_t, vm_address_t, vm_size_t, boolean_t, vm_prot_t);
kern_return_t _kernelrpc_vm_inherit(vm_map_t, vm_address_t, vm_size_t, vm_inherit_t);
}

namespace machcompat {

namespace {

uint64_t page_mask() { return host_page() - 1; }

// The lowest address a fixed mapping may take (vm.mmap_min_addr; XNU's
// page zero is never mappable either).
uint64_t min_fixed_address() {
  static const uint64_t v = [] {
    unsigned long n = 65536;
    if (FILE* f = fopen("/proc/sys/vm/mmap_min_addr", "re")) {
      if (fscanf(f, "%lu", &n) != 1) n = 65536;
      fclose(f);
    }
    return n < host_page() ? uint64_t(host_page()) : uint64_t(n);
  }();
  return v;
}

// The top of the user address space (x86-64, 4-level paging).
constexpr uint64_t kUserTop = uint64_t(1) << 47;

int to_linux(vm_prot_t p) {
  return ((p & VM_PROT_READ) ? PROT_READ : 0) | ((p & VM_PROT_WRITE) ? PROT_WRITE : 0) |
         ((p & VM_PROT_EXECUTE) ? PROT_EXEC : 0);
}

// Whether every page of [start, end) is mapped (mincore fails on holes).
bool fully_mapped(uint64_t start, uint64_t end) {
  unsigned char vec[4096];
  const uint64_t step = sizeof vec * host_page();
  for (uint64_t at = start; at < end; at += step) {
    uint64_t len = end - at < step ? end - at : step;
    if (mincore(reinterpret_cast<void*>(at), len, vec) != 0) return false;
  }
  return true;
}

// Permanent pages never go: what would remove them leaves them with no
// access (current and maximum), as XNU's vm_map_delete does.
void strip_permanent(uint64_t start, uint64_t end) {
  for (const vm_attrs::Piece& p : vm_attrs::pieces(start, end)) {
    if (!p.permanent) continue;
    mprotect(reinterpret_cast<void*>(p.start), p.end - p.start, PROT_NONE);
    vm_attrs::set_max_protection(p.start, p.end, VM_PROT_NONE);
  }
}

}  // namespace

kern_return_t allocate_self(uint64_t* addr, uint64_t size, int flags) {
  if (addr == nullptr) return KERN_INVALID_ARGUMENT;
  if (!allocate_flags_ok(flags)) return KERN_INVALID_ARGUMENT;
  const bool anywhere = (flags & VM_FLAGS_ANYWHERE) != 0;
  const bool overwrite = (flags & VM_FLAGS_OVERWRITE) != 0;
  if (anywhere && overwrite) return KERN_INVALID_ARGUMENT;
  SanitizedRange r = sanitize_addr_size(anywhere ? 0 : *addr, size, page_mask());
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty) {  // size 0 succeeds and answers address 0
    *addr = 0;
    return KERN_SUCCESS;
  }
  const uint64_t len = r.end - r.start;
  if (!anywhere) {
    if (r.start < min_fixed_address() || r.end > kUserTop) return KERN_INVALID_ADDRESS;
    if (overwrite && vm_attrs::any_permanent(r.start, r.end)) {
      strip_permanent(r.start, r.end);
      return KERN_NO_SPACE;
    }
  }
  void* p = map_zeroed(uintptr_t(r.start), size_t(len), !anywhere, overwrite);
  if (p == nullptr) return errno == EEXIST ? KERN_NO_SPACE : (errno == ENOMEM ? KERN_NO_SPACE : KERN_RESOURCE_SHORTAGE);
  const uint64_t at = reinterpret_cast<uintptr_t>(p);
  vm_attrs::forget(at, at + len);
  if (flags & VM_FLAGS_PERMANENT) vm_attrs::set_permanent(at, at + len);
  *addr = at;
  return KERN_SUCCESS;
}

kern_return_t deallocate_self(uint64_t addr, uint64_t size) {
  SanitizedRange r = sanitize_addr_size(addr, size, page_mask());
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty) return KERN_SUCCESS;
  if (r.end > kUserTop) return r.start >= kUserTop ? KERN_SUCCESS : KERN_INVALID_ADDRESS;
  if (!vm_attrs::any_permanent(r.start, r.end)) {
    unmap(uintptr_t(r.start), size_t(r.end - r.start));
    vm_attrs::forget(r.start, r.end);
    return KERN_SUCCESS;
  }
  for (const vm_attrs::Piece& p : vm_attrs::pieces(r.start, r.end)) {
    if (p.permanent) continue;
    unmap(uintptr_t(p.start), size_t(p.end - p.start));
    vm_attrs::forget(p.start, p.end);
  }
  strip_permanent(r.start, r.end);
  return KERN_SUCCESS;
}

kern_return_t protect_self(uint64_t addr, uint64_t size, bool set_maximum, vm_prot_t prot) {
  if (!prot_ok(prot, VM_PROT_COPY)) return KERN_INVALID_ARGUMENT;
  prot &= ~VM_PROT_COPY;  // private copies are what Linux gives already
  SanitizedRange r = sanitize_addr_size(addr, size, page_mask());
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty) return KERN_SUCCESS;
  if (r.end > kUserTop || !fully_mapped(r.start, r.end)) return KERN_INVALID_ADDRESS;
  vm_prot_t max = vm_attrs::max_protection(r.start, r.end);
  // On x86-64 XNU lets set_maximum add execute to the maximum.
  if (set_maximum) max |= (prot & VM_PROT_EXECUTE);
  if ((prot & max) != prot) return KERN_PROTECTION_FAILURE;
  if (set_maximum) {
    vm_attrs::set_max_protection(r.start, r.end, prot);
    // The current protection keeps only what the new maximum allows.
    FILE* f = fopen("/proc/self/maps", "re");
    if (f) {
      char line[512];
      while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char perms[5] = {};
        if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) != 3 || e <= r.start || s >= r.end) continue;
        vm_prot_t cur = (perms[0] == 'r' ? VM_PROT_READ : 0) | (perms[1] == 'w' ? VM_PROT_WRITE : 0) |
                        (perms[2] == 'x' ? VM_PROT_EXECUTE : 0);
        uint64_t a = s < r.start ? r.start : s, b = e > r.end ? r.end : e;
        mprotect(reinterpret_cast<void*>(a), b - a, to_linux(cur & prot));
      }
      fclose(f);
    }
    return KERN_SUCCESS;
  }
  if (mprotect(reinterpret_cast<void*>(r.start), r.end - r.start, to_linux(prot)) != 0)
    return errno == ENOMEM ? KERN_INVALID_ADDRESS : KERN_PROTECTION_FAILURE;
  return KERN_SUCCESS;
}

kern_return_t inherit_self(uint64_t addr, uint64_t size, vm_inherit_t inheritance) {
  if (!inherit_ok(inheritance)) return KERN_INVALID_ARGUMENT;
  SanitizedRange r = sanitize_addr_size(addr, size, page_mask());
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty) return KERN_SUCCESS;
  if (r.end > kUserTop) return KERN_INVALID_ADDRESS;
  return set_inheritance(uintptr_t(r.start), uintptr_t(r.end), inheritance);
}

}  // namespace machcompat

using namespace machcompat;

extern "C" {

// Under machd's memory budget machd makes the task's anonymous memory
// (vm/anonymous_memory.h), except permanent ranges, which stay the
// library's (vm_attrs).
static bool allocate_in_machd(int flags) { return anonymous_memory_managed() && !(flags & VM_FLAGS_PERMANENT); }

kern_return_t mach_vm_allocate(vm_map_t target, mach_vm_address_t* address, mach_vm_size_t size, int flags) {
  if (!mach_task_is_self(target) || allocate_in_machd(flags))
    return _kernelrpc_mach_vm_allocate(target, address, size, flags);
  if (address == nullptr) return KERN_INVALID_ARGUMENT;
  uint64_t a = *address;
  kern_return_t kr = allocate_self(&a, size, flags);
  if (kr == KERN_SUCCESS) *address = a;
  return kr;
}

kern_return_t vm_allocate(vm_map_t target_task, vm_address_t* address, vm_size_t size, int flags) {
  if (!mach_task_is_self(target_task) || allocate_in_machd(flags))
    return _kernelrpc_vm_allocate(target_task, address, size, flags);
  if (address == nullptr) return KERN_INVALID_ARGUMENT;
  uint64_t a = *address;
  kern_return_t kr = allocate_self(&a, size, flags);
  if (kr == KERN_SUCCESS) *address = vm_address_t(a);
  return kr;
}

kern_return_t mach_vm_deallocate(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size) {
  if (!mach_task_is_self(target)) return _kernelrpc_mach_vm_deallocate(target, address, size);
  return deallocate_self(address, size);
}

kern_return_t vm_deallocate(vm_map_t target_task, vm_address_t address, vm_size_t size) {
  if (!mach_task_is_self(target_task)) return _kernelrpc_vm_deallocate(target_task, address, size);
  return deallocate_self(address, size);
}

kern_return_t mach_vm_protect(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                              boolean_t set_maximum, vm_prot_t new_protection) {
  if (!mach_task_is_self(target_task))
    return _kernelrpc_mach_vm_protect(target_task, address, size, set_maximum, new_protection);
  return protect_self(address, size, set_maximum != 0, new_protection);
}

kern_return_t vm_protect(vm_map_t target_task, vm_address_t address, vm_size_t size, boolean_t set_maximum,
                         vm_prot_t new_protection) {
  if (!mach_task_is_self(target_task))
    return _kernelrpc_vm_protect(target_task, address, size, set_maximum, new_protection);
  return protect_self(address, size, set_maximum != 0, new_protection);
}

kern_return_t mach_vm_inherit(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                              vm_inherit_t new_inheritance) {
  if (!mach_task_is_self(target_task)) return _kernelrpc_mach_vm_inherit(target_task, address, size, new_inheritance);
  return inherit_self(address, size, new_inheritance);
}

kern_return_t vm_inherit(vm_map_t target_task, vm_address_t address, vm_size_t size, vm_inherit_t new_inheritance) {
  if (!mach_task_is_self(target_task)) return _kernelrpc_vm_inherit(target_task, address, size, new_inheritance);
  return inherit_self(address, size, new_inheritance);
}

}  // extern "C"
