// libmach-compat/src/vm_regions.cc — see vm_regions.h; also vm_allocate & co.
#include "vm_regions.h"

#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <mach/vm_map.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

namespace machcompat {

namespace {
struct Region {
  size_t size;
  int fd;
};
std::mutex g_mu;
std::map<uintptr_t, Region> g_regions;  // memfd-backed, by start address

// Drops registry entries overlapping [addr, addr+size). Caller holds g_mu.
void forget_overlapping(uintptr_t addr, size_t size) {
  auto it = g_regions.upper_bound(addr);
  if (it != g_regions.begin()) --it;
  while (it != g_regions.end() && it->first < addr + size) {
    if (it->first + it->second.size > addr) {
      close(it->second.fd);
      it = g_regions.erase(it);
    } else {
      ++it;
    }
  }
}
}  // namespace

size_t host_page() {
  static const size_t p = size_t(sysconf(_SC_PAGESIZE));
  return p;
}

int allocate(uintptr_t* addr, size_t size, bool anywhere) {
  if (addr == nullptr) return KERN_INVALID_ARGUMENT;
  if (size == 0) {
    if (anywhere) *addr = 0;
    return KERN_SUCCESS;
  }
  size_t len = round_to_page(size);
  if (len < size) return KERN_INVALID_ARGUMENT;
  if (!anywhere && (*addr % host_page()) != 0) return KERN_INVALID_ADDRESS;
  void* hint = anywhere ? nullptr : reinterpret_cast<void*>(*addr);
  int fixed = anywhere ? 0 : MAP_FIXED_NOREPLACE;
  void* p = MAP_FAILED;
  int fd = -1;
  if (len >= kMemfdRegionMin) {
    fd = memfd_create("mach-vm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd >= 0 && ftruncate(fd, off_t(len)) == 0)
      p = mmap(hint, len, PROT_READ | PROT_WRITE, MAP_SHARED | fixed, fd, 0);
    if (p == MAP_FAILED && fd >= 0) {
      close(fd);
      fd = -1;
    }
  }
  if (p == MAP_FAILED) p = mmap(hint, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | fixed, -1, 0);
  if (p == MAP_FAILED) {
    if (fd >= 0) close(fd);
    return errno == EEXIST ? KERN_NO_SPACE : KERN_RESOURCE_SHORTAGE;
  }
  if (!anywhere && p != hint) {  // old kernels ignore MAP_FIXED_NOREPLACE
    munmap(p, len);
    if (fd >= 0) close(fd);
    return KERN_NO_SPACE;
  }
  if (fd >= 0) {
    std::lock_guard<std::mutex> lk(g_mu);
    g_regions[reinterpret_cast<uintptr_t>(p)] = Region{len, fd};
  }
  *addr = reinterpret_cast<uintptr_t>(p);
  return KERN_SUCCESS;
}

int deallocate(uintptr_t addr, size_t size) {
  if (size == 0) return KERN_SUCCESS;
  uintptr_t start = addr & ~(host_page() - 1);
  size_t len = round_to_page(addr + size - start);
  {
    std::lock_guard<std::mutex> lk(g_mu);
    forget_overlapping(start, len);
  }
  if (munmap(reinterpret_cast<void*>(start), len) != 0) return KERN_INVALID_ADDRESS;
  return KERN_SUCCESS;
}

bool copy_self(uintptr_t dst, uintptr_t src, size_t n) {
  if (n == 0) return true;
  iovec local{reinterpret_cast<void*>(dst), n};
  iovec remote{reinterpret_cast<void*>(src), n};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == ssize_t(n);
}

void* alloc_ool(size_t size) {
  if (size == 0) return nullptr;
  void* p = mmap(nullptr, round_to_page(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

int take_memfd_region(uintptr_t addr, size_t size) {
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_regions.find(addr);
  if (it == g_regions.end() || it->second.size != size) return -1;
  int fd = it->second.fd;
  g_regions.erase(it);
  return fd;
}

void restore_memfd_region(uintptr_t addr, size_t size, int fd, bool remap) {
  if (remap) {
    void* p = mmap(reinterpret_cast<void*>(addr), size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
                   fd, 0);
    if (p != reinterpret_cast<void*>(addr)) {
      if (p != MAP_FAILED) munmap(p, size);
      close(fd);
      return;
    }
  }
  std::lock_guard<std::mutex> lk(g_mu);
  g_regions[addr] = Region{size, fd};
}

void vm_after_fork_child() {
  new (&g_mu) std::mutex;
  for (auto& [addr, r] : g_regions) {
    // Replace the shared mapping with a private copy of its contents.
    void* tmp = mmap(nullptr, r.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (tmp != MAP_FAILED) {
      memcpy(tmp, reinterpret_cast<void*>(addr), r.size);
      mremap(tmp, r.size, r.size, MREMAP_MAYMOVE | MREMAP_FIXED, reinterpret_cast<void*>(addr));
    }
    close(r.fd);
  }
  g_regions.clear();
}

}  // namespace machcompat

using machcompat::allocate;
using machcompat::copy_self;
using machcompat::deallocate;

extern "C" {

kern_return_t vm_allocate(vm_map_t target_task, vm_address_t* address, vm_size_t size, int flags) {
  if (!mach_task_is_self(target_task)) return KERN_NOT_SUPPORTED;  // other tasks' memory: not yet
  uintptr_t a = *address;
  kern_return_t kr = allocate(&a, size, (flags & VM_FLAGS_ANYWHERE) != 0);
  if (kr == KERN_SUCCESS) *address = a;
  return kr;
}

kern_return_t vm_deallocate(vm_map_t target_task, vm_address_t address, vm_size_t size) {
  if (!mach_task_is_self(target_task)) return KERN_NOT_SUPPORTED;
  return deallocate(address, size);
}

kern_return_t mach_vm_allocate(vm_map_t target, mach_vm_address_t* address, mach_vm_size_t size, int flags) {
  if (!mach_task_is_self(target)) return KERN_NOT_SUPPORTED;
  uintptr_t a = uintptr_t(*address);
  kern_return_t kr = allocate(&a, size_t(size), (flags & VM_FLAGS_ANYWHERE) != 0);
  if (kr == KERN_SUCCESS) *address = a;
  return kr;
}

kern_return_t mach_vm_deallocate(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size) {
  if (!mach_task_is_self(target)) return KERN_NOT_SUPPORTED;
  return deallocate(uintptr_t(address), size_t(size));
}

static int prot_of(vm_prot_t p) {
  return ((p & VM_PROT_READ) ? PROT_READ : 0) | ((p & VM_PROT_WRITE) ? PROT_WRITE : 0) |
         ((p & VM_PROT_EXECUTE) ? PROT_EXEC : 0);
}

kern_return_t vm_protect(vm_map_t target_task, vm_address_t address, vm_size_t size, boolean_t set_maximum,
                         vm_prot_t new_protection) {
  if (!mach_task_is_self(target_task)) return KERN_NOT_SUPPORTED;
  if (set_maximum) return KERN_NOT_SUPPORTED;  // maximum protections are not tracked
  uintptr_t start = address & ~(machcompat::host_page() - 1);
  if (mprotect(reinterpret_cast<void*>(start), machcompat::round_to_page(address + size - start),
               prot_of(new_protection)) != 0)
    return KERN_INVALID_ADDRESS;
  return KERN_SUCCESS;
}

kern_return_t mach_vm_protect(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                              boolean_t set_maximum, vm_prot_t new_protection) {
  return vm_protect(target_task, vm_address_t(address), vm_size_t(size), set_maximum, new_protection);
}

}  // extern "C"

// ---- copies within the task itself (other tasks: not yet) --------------------
extern "C" {

kern_return_t vm_read(vm_map_read_t target_task, vm_address_t address, vm_size_t size, vm_offset_t* data,
                      mach_msg_type_number_t* dataCnt) {
  if (!mach_task_is_self(target_task)) return KERN_NOT_SUPPORTED;
  if (data == nullptr || dataCnt == nullptr || size > UINT32_MAX) return KERN_INVALID_ARGUMENT;
  void* p = machcompat::alloc_ool(size);
  if (size && p == nullptr) return KERN_RESOURCE_SHORTAGE;
  if (!copy_self(reinterpret_cast<uintptr_t>(p), address, size)) {
    if (p) munmap(p, machcompat::round_to_page(size));
    return KERN_INVALID_ADDRESS;
  }
  *data = reinterpret_cast<vm_offset_t>(p);
  *dataCnt = mach_msg_type_number_t(size);
  return KERN_SUCCESS;
}

kern_return_t vm_write(vm_map_t target_task, vm_address_t address, vm_offset_t data,
                       mach_msg_type_number_t dataCnt) {
  if (!mach_task_is_self(target_task)) return KERN_NOT_SUPPORTED;
  return copy_self(address, data, dataCnt) ? KERN_SUCCESS : KERN_INVALID_ADDRESS;
}

kern_return_t vm_copy(vm_map_t target_task, vm_address_t source_address, vm_size_t size, vm_address_t dest_address) {
  if (!mach_task_is_self(target_task)) return KERN_NOT_SUPPORTED;
  return copy_self(dest_address, source_address, size) ? KERN_SUCCESS : KERN_INVALID_ADDRESS;
}

kern_return_t vm_read_overwrite(vm_map_read_t target_task, vm_address_t address, vm_size_t size, vm_address_t data,
                                vm_size_t* outsize) {
  if (!mach_task_is_self(target_task)) return KERN_NOT_SUPPORTED;
  if (!copy_self(data, address, size)) return KERN_INVALID_ADDRESS;
  if (outsize) *outsize = size;
  return KERN_SUCCESS;
}

kern_return_t mach_vm_read(vm_map_read_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                           vm_offset_t* data, mach_msg_type_number_t* dataCnt) {
  return vm_read(target_task, vm_address_t(address), vm_size_t(size), data, dataCnt);
}

kern_return_t mach_vm_write(vm_map_t target_task, mach_vm_address_t address, vm_offset_t data,
                            mach_msg_type_number_t dataCnt) {
  return vm_write(target_task, vm_address_t(address), data, dataCnt);
}

kern_return_t mach_vm_copy(vm_map_t target_task, mach_vm_address_t source_address, mach_vm_size_t size,
                           mach_vm_address_t dest_address) {
  return vm_copy(target_task, vm_address_t(source_address), vm_size_t(size), vm_address_t(dest_address));
}

kern_return_t mach_vm_read_overwrite(vm_map_read_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                                     mach_vm_address_t data, mach_vm_size_t* outsize) {
  vm_size_t out = 0;
  kern_return_t kr = vm_read_overwrite(target_task, vm_address_t(address), vm_size_t(size), vm_address_t(data), &out);
  if (kr == KERN_SUCCESS && outsize) *outsize = out;
  return kr;
}

}  // extern "C"
