// tests/bench/uffd_floor.cc — see uffd_floor.h.
#include "uffd_floor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

namespace pagerbench {

InProcessFaults::~InProcessFaults() { stop(); }

bool InProcessFaults::start(size_t size, size_t chunk, const uint8_t* source, size_t source_size) {
  // One chunk past the end is the stop sentinel: touching it ends serve().
  size_ = size + chunk;
  chunk_ = chunk;
  source_ = source;
  source_size_ = source_size;
  fd_ = int(syscall(SYS_userfaultfd, O_CLOEXEC));
  if (fd_ < 0) fd_ = int(syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
  if (fd_ < 0) return false;
  uffdio_api api{};
  api.api = UFFD_API;
  if (ioctl(fd_, UFFDIO_API, &api) != 0) return false;
  void* m = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return false;
  base_ = static_cast<uint8_t*>(m);
  madvise(base_, size_, MADV_NOHUGEPAGE);  // one fault per chunk, as asked
  uffdio_register r{};
  r.range.start = reinterpret_cast<uintptr_t>(base_);
  r.range.len = size_;
  r.mode = UFFDIO_REGISTER_MODE_MISSING;
  if (ioctl(fd_, UFFDIO_REGISTER, &r) != 0) return false;
  thread_ = std::thread([this] { serve(); });
  return true;
}

void InProcessFaults::serve() {
  const uintptr_t start = reinterpret_cast<uintptr_t>(base_);
  const uintptr_t sentinel = start + size_ - chunk_;
  // On a failure the region stops being handled: later touches get zero
  // pages from the kernel (and stop() does not hang).
  auto give_up = [&] {
    uffdio_range r{start, size_};
    ioctl(fd_, UFFDIO_UNREGISTER, &r);
  };
  for (;;) {
    uffd_msg msg;
    ssize_t n = read(fd_, &msg, sizeof msg);  // blocking: one fault at a time
    if (n < 0 && errno == EINTR) continue;
    if (n != ssize_t(sizeof msg)) return give_up();
    if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
    const size_t off = (uintptr_t(msg.arg.pagefault.address) - start) & ~(chunk_ - 1);
    uffdio_copy c{};
    c.dst = start + off;
    c.src = reinterpret_cast<uintptr_t>(source_ + (off % source_size_));
    c.len = chunk_;
    if (ioctl(fd_, UFFDIO_COPY, &c) != 0 && errno != EEXIST) return give_up();
    if (c.dst == sentinel) return;
  }
}

void InProcessFaults::stop() {
  if (thread_.joinable()) {
    // Touch the sentinel: the handler resolves it and returns.
    (void)*reinterpret_cast<volatile uint8_t*>(base_ + size_ - chunk_);
    thread_.join();
  }
  if (base_ != nullptr) munmap(base_, size_);
  base_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

}  // namespace pagerbench
