// libmach-compat/src/vm_regions.h — the task's Mach-allocated memory.
//
// Large vm_allocate regions are pages of a memfd ("mach-vm") mapped
// MAP_SHARED, so that sending one out-of-line with `deallocate` moves the
// pages to the receiver without a copy: the sender unmaps them and passes
// the memfd. Small regions are ordinary anonymous memory. A registry
// remembers which regions are memfd-backed (and movable).
//
// Inheritance across fork() (vm_inherit on the task itself):
//   COPY (default)  private memory is copied by fork; a "mach-vm" memfd
//                   region is remapped MAP_PRIVATE over itself (same memfd,
//                   contents kept) in the atfork prepare handler, which makes
//                   it copy-on-write for parent and child alike
//   SHARE           the range becomes a MAP_SHARED memfd ("mach-vm-share",
//                   contents copied in) that fork leaves shared
//   NONE            MADV_DONTFORK: absent from the child
// machd reports these from /proc/PID/maps and smaps (vm/address_map.h).
#pragma once

#include <mach/vm_inherit.h>

#include <cstddef>
#include <cstdint>

namespace machcompat {

// Regions of at least this many bytes are memfd-backed.
inline constexpr size_t kMemfdRegionMin = 256 * 1024;

size_t host_page();
inline size_t round_to_page(size_t n) { return (n + host_page() - 1) & ~(host_page() - 1); }

// Maps zeroed read-write pages of `len` bytes (page multiple) at `hint`
// exactly when `fixed` (replacing what is there when `overwrite`), anywhere
// otherwise. Returns the address or MAP_FAILED-like nullptr with errno set.
void* map_zeroed(uintptr_t hint, size_t len, bool fixed, bool overwrite);
// Unmaps [start, start+len) and forgets registry entries inside it.
int unmap(uintptr_t start, size_t len);

// Sets the inheritance of [start, end) (page aligned). Returns a kern_return_t.
int set_inheritance(uintptr_t start, uintptr_t end, vm_inherit_t inheritance);

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

// pthread_atfork handlers.
void vm_before_fork();
void vm_after_fork_parent();
void vm_after_fork_child();

}  // namespace machcompat
