// libmach-compat/src/vm_regions.h — the task's Mach-allocated memory.
//
// Large vm_allocate regions are pages of a memfd mapped MAP_SHARED, so that
// sending one out-of-line with `deallocate` moves the pages to the receiver
// without a copy: the sender unmaps them and passes the memfd. Small regions
// are ordinary anonymous memory. A registry remembers which regions are
// memfd-backed (and movable); fork() turns them into private copies in the
// child, as Mach's default inheritance (copy) requires.
#pragma once

#include <cstddef>
#include <cstdint>

namespace machcompat {

// Regions of at least this many bytes are memfd-backed.
inline constexpr size_t kMemfdRegionMin = 256 * 1024;

size_t host_page();
inline size_t round_to_page(size_t n) { return (n + host_page() - 1) & ~(host_page() - 1); }

// vm_allocate for the task itself: zeroed pages at *addr (anywhere if
// `anywhere`, else exactly there). Returns a kern_return_t.
int allocate(uintptr_t* addr, size_t size, bool anywhere);
// vm_deallocate for the task itself.
int deallocate(uintptr_t addr, size_t size);

// Copies n bytes from src to dst in this address space, failing (instead of
// crashing) on a bad address, as the kernel's copyin does.
bool copy_self(uintptr_t dst, uintptr_t src, size_t n);

// Zeroed anonymous pages for out-of-line data handed to the program (it
// vm_deallocates them later). Null on failure or for size 0.
void* alloc_ool(size_t size);

// If [addr, addr+size) is exactly a registered memfd region, unregisters it
// and returns its fd (the caller owns it); else -1. `size` is rounded to
// pages by the caller.
int take_memfd_region(uintptr_t addr, size_t size);
// Re-registers a region taken by take_memfd_region whose send failed, mapping
// the fd back at addr if the mapping was removed. Takes ownership of fd.
void restore_memfd_region(uintptr_t addr, size_t size, int fd, bool remap);

// pthread_atfork child handler.
void vm_after_fork_child();

}  // namespace machcompat
