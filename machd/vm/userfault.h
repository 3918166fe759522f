// machd/vm/userfault.h — the userfaultfd operations machd performs on a
// task's userfaultfd (the task created it and handed it to machd at
// connect, machd_abi.h "MACHD_HELLO_UFFD"). Every operation acts on the
// task's address space, whichever process issues it.
//
// Contract: each call is one or a few ioctls, never blocks (the fd is
// O_NONBLOCK), and reports failure as an errno value (0 = success). A range
// is page aligned. Definitions newer than the build machine's
// <linux/userfaultfd.h> (POISON, CONTINUE_MODE_WP, WP_ASYNC...) are
// provided here with the kernel's values.
#pragma once

#include <linux/userfaultfd.h>

#include <cstddef>
#include <cstdint>

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1)
#endif

namespace machd::vm::uffd {

// Registers [start, start+len) for missing, minor and write-protect faults
// (the modes an object mapping needs). Returns 0 or the errno.
int register_range(int fd, uint64_t start, uint64_t len, bool write_protect);
// Stops routing faults of the range (the mapping goes away or is handed back).
int unregister_range(int fd, uint64_t start, uint64_t len);

// Maps the page-cache pages of [start, start+len) (they must be in the
// object's memfd) and wakes the threads faulting on them. Pages already
// mapped are skipped. write_protect: mapped read-only for write tracking
// (a write faults with UFFD_PAGEFAULT_FLAG_WP). Returns 0 or the errno of
// the first page that could not be mapped. EAGAIN: the task's map is
// changing (an unmap or remap event is pending): retry later, never in a
// loop (every operation but wake and register fails so until the event is
// read and the unmapping thread has run).
int map_cached(int fd, uint64_t start, uint64_t len, bool write_protect, bool wp_supported);
// Sets or clears write protection of [start, start+len); clearing wakes the
// threads waiting on it unless !wake_waiters. Pages not mapped are skipped
// (clearing also removes the write-protect markers of zapped pages).
int write_protect(int fd, uint64_t start, uint64_t len, bool protect, bool wake_waiters = true);
// Makes [start, start+len) fail: every access (and the threads waiting on
// it now) gets SIGBUS until the range is zapped. EEXIST: a page or a
// write-protect marker is there (nobody is woken; zap it first). Another
// error (no UFFDIO_POISON in this kernel): the waiting threads are woken
// and fault again.
int poison(int fd, uint64_t start, uint64_t len);
// Wakes the threads waiting on [start, start+len) without resolving (they
// fault again).
int wake(int fd, uint64_t start, uint64_t len);

}  // namespace machd::vm::uffd
