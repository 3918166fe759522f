// libmach-compat/src/userfaultfd.cc — see userfaultfd.h.
#include "userfaultfd.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "machd_abi.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

namespace machcompat {

namespace {

// A userfaultfd made on an open /dev/userfaultfd, or -1.
int from_device(int dev, int flags) { return dev < 0 ? -1 : ioctl(dev, USERFAULTFD_IOC_NEW, flags); }

struct Maker {
  BorrowUffdDevice borrow;
  void* ctx;
  int lent = -2;  // the borrowed device; -2: not asked yet

  ~Maker() {
    if (lent >= 0) close(lent);
  }

  int open_uffd(bool* user_only) {
    const int flags = O_CLOEXEC | O_NONBLOCK;
    *user_only = false;
    const int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    int fd = from_device(dev, flags);
    if (dev >= 0) close(dev);
    if (fd >= 0) return fd;
    fd = int(syscall(SYS_userfaultfd, flags));
    if (fd >= 0) return fd;
    if (lent == -2) lent = borrow ? borrow(ctx) : -1;
    fd = from_device(lent, flags);
    if (fd >= 0) return fd;
    *user_only = true;
    return int(syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY));
  }
};

}  // namespace

TaskUserfaultfd make_task_userfaultfd(BorrowUffdDevice borrow, void* ctx) {
  TaskUserfaultfd t;
  const char* off = getenv("MACH_COMPAT_NO_USERFAULTFD");
  if (off && *off && *off != '0') return t;
  Maker maker{borrow, ctx};
  // What this kernel has: a first fd asked for nothing reports it (the API
  // handshake can be made once per fd).
  bool user_only = true;
  int probe = maker.open_uffd(&user_only);
  if (probe < 0) return t;
  uffdio_api api{};
  api.api = UFFD_API;
  const bool ok = ioctl(probe, UFFDIO_API, &api) == 0;
  close(probe);
  if (!ok) return t;
  const uint64_t want = MACHD_UFFD_FEATURES & api.features;
  int fd = maker.open_uffd(&user_only);
  if (fd < 0) return t;
  api = uffdio_api{};
  api.api = UFFD_API;
  api.features = want;
  if (ioctl(fd, UFFDIO_API, &api) != 0) {
    close(fd);
    return t;
  }
  t.fd = fd;
  t.features = want;
  t.user_mode_only = user_only;
  return t;
}

}  // namespace machcompat
