// machd/vm/userfault.cc — see userfault.h.
#include "userfault.h"

#include <errno.h>
#include <sys/ioctl.h>

#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON (0x08)
struct uffdio_poison {
  struct uffdio_range range;
  __u64 mode;
  __s64 updated;
};
#define UFFDIO_POISON _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif

namespace machd::vm::uffd {

namespace {

constexpr uint64_t kPage = 4096;

int err_of(int r) { return r == 0 ? 0 : errno; }

}  // namespace

int register_range(int fd, uint64_t start, uint64_t len, bool wp) {
  uffdio_register r{};
  r.range.start = start;
  r.range.len = len;
  r.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR | (wp ? UFFDIO_REGISTER_MODE_WP : 0);
  return err_of(ioctl(fd, UFFDIO_REGISTER, &r));
}

int unregister_range(int fd, uint64_t start, uint64_t len) {
  uffdio_range r{start, len};
  return err_of(ioctl(fd, UFFDIO_UNREGISTER, &r));
}

int map_cached(int fd, uint64_t start, uint64_t len, bool wp, bool wp_supported) {
  const uint64_t end = start + len;
  uint64_t at = start;
  while (at < end) {
    uffdio_continue c{};
    c.range.start = at;
    c.range.len = end - at;
    c.mode = (wp && wp_supported) ? UFFDIO_CONTINUE_MODE_WP : 0;
    int r = ioctl(fd, UFFDIO_CONTINUE, &c);
    if (r == 0) {
      if (wp && !wp_supported) write_protect(fd, at, end - at, true);
      return 0;
    }
    const int e = errno;
    const uint64_t done = c.mapped > 0 ? uint64_t(c.mapped) : 0;
    if (wp && !wp_supported && done > 0) write_protect(fd, at, done, true);
    if (e == EEXIST) {
      at += done + kPage;  // the page after those mapped was there already
      continue;
    }
    if (e == EAGAIN && done > 0) {  // partly done: go on with the rest
      at += done;
      continue;
    }
    // EAGAIN with nothing done: the task's map is changing (an unmap event
    // we have not read yet, or its task has not run since): the caller
    // retries later; spinning here would keep the task from finishing.
    return e;
  }
  // A skipped (already mapped) page may still have a waiter: wake them all.
  wake(fd, start, len);
  return 0;
}

int write_protect(int fd, uint64_t start, uint64_t len, bool protect, bool wake_waiters) {
  uffdio_writeprotect w{};
  w.range.start = start;
  w.range.len = len;
  w.mode = (protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0) | (wake_waiters ? 0 : UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
  return err_of(ioctl(fd, UFFDIO_WRITEPROTECT, &w));
}

int poison(int fd, uint64_t start, uint64_t len) {
  uffdio_poison p{};
  p.range.start = start;
  p.range.len = len;
  if (ioctl(fd, UFFDIO_POISON, &p) == 0) return 0;
  const int e = errno;
  if (e != EAGAIN && e != EEXIST) wake(fd, start, len);  // (no POISON here: they fault again)
  return e;
}

int wake(int fd, uint64_t start, uint64_t len) {
  uffdio_range r{start, len};
  return err_of(ioctl(fd, UFFDIO_WAKE, &r));
}

}  // namespace machd::vm::uffd
