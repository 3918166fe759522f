// libmach-compat/src/vm_map_calls.cc — vm_map, vm_map_64 and mach_vm_map on
// the calling task, in-process (as vm_allocate): anonymous memory, or a
// named memory entry's pages (the entry's memfd, which machd hands over with
// MACHD_OP_MEMORY_ENTRY_MAP) mapped MAP_SHARED — every task mapping the
// entry sees the same pages — or MAP_PRIVATE for copy=TRUE. For any other
// task: the MIG message (_kernelrpc_NAME; machd needs the in-task agent).
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <mach/vm_map.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "connection.h"
#include "machd_abi.h"
#include "vm_attrs.h"
#include "vm_regions.h"
#include "vm_sanitize.h"

extern "C" {
kern_return_t _kernelrpc_mach_vm_map(vm_map_t, mach_vm_address_t*, mach_vm_size_t, mach_vm_offset_t, int,
                                     mem_entry_name_port_t, memory_object_offset_t, boolean_t, vm_prot_t, vm_prot_t,
                                     vm_inherit_t);
kern_return_t _kernelrpc_vm_map(vm_map_t, vm_address_t*, vm_size_t, vm_address_t, int, mem_entry_name_port_t,
                                vm_offset_t, boolean_t, vm_prot_t, vm_prot_t, vm_inherit_t);
kern_return_t _kernelrpc_vm_map_64(vm_map_t, vm_address_t*, vm_size_t, vm_address_t, int, mem_entry_name_port_t,
                                   memory_object_offset_t, boolean_t, vm_prot_t, vm_prot_t, vm_inherit_t);
}

namespace machcompat {

namespace {

int to_linux(vm_prot_t p) {
  return ((p & VM_PROT_READ) ? PROT_READ : 0) | ((p & VM_PROT_WRITE) ? PROT_WRITE : 0) |
         ((p & VM_PROT_EXECUTE) ? PROT_EXEC : 0);
}

struct EntryFd {
  int fd = -1;
  uint64_t offset = 0, size = 0;
  vm_prot_t protection = VM_PROT_NONE;
};

// The memfd of the memory entry `object` names in this task.
kern_return_t entry_fd(mach_port_t object, EntryFd* out) {
  CallResult r = call(MACHD_OP_MEMORY_ENTRY_MAP, {mach_task_self(), object});
  if (r.result != KERN_SUCCESS) return r.result;
  out->fd = take_fd(r.rets[0]);
  out->offset = r.rets[1];
  out->size = r.rets[2];
  out->protection = vm_prot_t(r.rets[3]);
  return out->fd >= 0 ? KERN_SUCCESS : KERN_RESOURCE_SHORTAGE;
}

// An address where `len` bytes aligned to mask+1 are free (reserved
// PROT_NONE; the caller maps over it), or 0.
uint64_t reserve_aligned(uint64_t len, uint64_t mask) {
  void* p = mmap(nullptr, len + mask + 1, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return 0;
  const uint64_t base = reinterpret_cast<uint64_t>(p);
  const uint64_t at = (base + mask) & ~mask;
  if (at > base) munmap(p, at - base);
  const uint64_t tail = base + len + mask + 1 - (at + len);
  if (tail) munmap(reinterpret_cast<void*>(at + len), tail);
  return at;
}

kern_return_t map_self(uint64_t* address, uint64_t size, uint64_t mask, int flags, mach_port_t object,
                       uint64_t offset, bool copy, vm_prot_t cur, vm_prot_t max, vm_inherit_t inheritance) {
  if (address == nullptr) return KERN_INVALID_ARGUMENT;
  if ((flags & ~VM_FLAGS_USER_MAP) != 0) return KERN_INVALID_ARGUMENT;
  if (!prot_ok(cur, 0) || !prot_ok(max, 0) || (cur & max) != cur) return KERN_INVALID_ARGUMENT;
  if (!inherit_ok(inheritance)) return KERN_INVALID_ARGUMENT;
  const bool anywhere = (flags & VM_FLAGS_ANYWHERE) != 0;
  const bool overwrite = (flags & VM_FLAGS_OVERWRITE) != 0;
  if (anywhere && overwrite) return KERN_INVALID_ARGUMENT;
  const uint64_t pm = host_page() - 1;
  SanitizedRange r = sanitize_addr_size(anywhere ? 0 : *address, size, pm);
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty) return KERN_INVALID_ARGUMENT;  // XNU: a zero-size map fails
  const uint64_t len = r.end - r.start;
  mask |= pm;

  EntryFd e;
  if (MACH_PORT_VALID(object)) {
    // KERN_INVALID_OBJECT: a memory object (a pager's port): the caller
    // sends the vm_map message, machd maps it through our agent.
    if (kern_return_t kr = entry_fd(object, &e); kr != KERN_SUCCESS) return kr;
    uint64_t end;
    if ((offset & pm) != 0 || __builtin_add_overflow(offset, len, &end) || end > e.size) {
      close(e.fd);
      return KERN_INVALID_ARGUMENT;
    }
    if (!copy && (max & e.protection) != max) {
      close(e.fd);
      return KERN_INVALID_RIGHT;
    }
  } else if (object != MACH_PORT_NULL) {
    return KERN_INVALID_ARGUMENT;
  }

  uint64_t at = r.start;
  bool fixed = !anywhere;
  if (anywhere && mask > pm) {
    at = reserve_aligned(len, mask);
    if (at == 0) {
      if (e.fd >= 0) close(e.fd);
      return KERN_NO_SPACE;
    }
    fixed = true;
  }
  void* p;
  if (e.fd >= 0) {
    const int how = fixed ? ((overwrite || at != r.start || anywhere) ? MAP_FIXED : MAP_FIXED_NOREPLACE) : 0;
    p = mmap(fixed ? reinterpret_cast<void*>(at) : nullptr, len, to_linux(cur), (copy ? MAP_PRIVATE : MAP_SHARED) | how,
             e.fd, off_t(e.offset + offset));
    const int err = errno;
    close(e.fd);
    if (p == MAP_FAILED) return err == EEXIST ? KERN_NO_SPACE : KERN_INVALID_ADDRESS;
    if (overwrite) vm_attrs::forget(uint64_t(uintptr_t(p)), uint64_t(uintptr_t(p)) + len);
  } else {
    p = map_zeroed(uintptr_t(at), size_t(len), fixed, overwrite || (anywhere && mask > pm));
    if (p == nullptr) return errno == EEXIST || errno == ENOMEM ? KERN_NO_SPACE : KERN_RESOURCE_SHORTAGE;
    vm_attrs::forget(uint64_t(uintptr_t(p)), uint64_t(uintptr_t(p)) + len);
    if (cur != VM_PROT_DEFAULT) mprotect(p, len, to_linux(cur));
  }
  const uint64_t a = reinterpret_cast<uintptr_t>(p);
  if (max != VM_PROT_ALL) vm_attrs::set_max_protection(a, a + len, max);
  if (inheritance != VM_INHERIT_DEFAULT && !(e.fd >= 0 && inheritance == VM_INHERIT_SHARE))
    set_inheritance(uintptr_t(a), uintptr_t(a + len), inheritance);
  *address = a;
  return KERN_SUCCESS;
}

}  // namespace

}  // namespace machcompat

using machcompat::map_self;

extern "C" {

kern_return_t mach_vm_map(vm_map_t target_task, mach_vm_address_t* address, mach_vm_size_t size,
                          mach_vm_offset_t mask, int flags, mem_entry_name_port_t object,
                          memory_object_offset_t offset, boolean_t copy, vm_prot_t cur_protection,
                          vm_prot_t max_protection, vm_inherit_t inheritance) {
  if (!mach_task_is_self(target_task))
    return _kernelrpc_mach_vm_map(target_task, address, size, mask, flags, object, offset, copy, cur_protection,
                                  max_protection, inheritance);
  if (address == nullptr) return KERN_INVALID_ARGUMENT;
  uint64_t a = *address;
  kern_return_t kr =
      map_self(&a, size, mask, flags, object, offset, copy != 0, cur_protection, max_protection, inheritance);
  if (kr == KERN_INVALID_OBJECT)
    return _kernelrpc_mach_vm_map(target_task, address, size, mask, flags, object, offset, copy, cur_protection,
                                  max_protection, inheritance);
  if (kr == KERN_SUCCESS) *address = a;
  return kr;
}

kern_return_t vm_map_64(vm_map_t target_task, vm_address_t* address, vm_size_t size, vm_address_t mask, int flags,
                        mem_entry_name_port_t object, memory_object_offset_t offset, boolean_t copy,
                        vm_prot_t cur_protection, vm_prot_t max_protection, vm_inherit_t inheritance) {
  if (!mach_task_is_self(target_task))
    return _kernelrpc_vm_map_64(target_task, address, size, mask, flags, object, offset, copy, cur_protection,
                                max_protection, inheritance);
  if (address == nullptr) return KERN_INVALID_ARGUMENT;
  uint64_t a = *address;
  kern_return_t kr =
      map_self(&a, size, mask, flags, object, offset, copy != 0, cur_protection, max_protection, inheritance);
  if (kr == KERN_INVALID_OBJECT)
    return _kernelrpc_vm_map_64(target_task, address, size, mask, flags, object, offset, copy, cur_protection,
                                max_protection, inheritance);
  if (kr == KERN_SUCCESS) *address = vm_address_t(a);
  return kr;
}

kern_return_t vm_map(vm_map_t target_task, vm_address_t* address, vm_size_t size, vm_address_t mask, int flags,
                     mem_entry_name_port_t object, vm_offset_t offset, boolean_t copy, vm_prot_t cur_protection,
                     vm_prot_t max_protection, vm_inherit_t inheritance) {
  if (!mach_task_is_self(target_task))
    return _kernelrpc_vm_map(target_task, address, size, mask, flags, object, offset, copy, cur_protection,
                             max_protection, inheritance);
  return vm_map_64(target_task, address, size, mask, flags, object, offset, copy, cur_protection, max_protection,
                   inheritance);
}

}  // extern "C"
