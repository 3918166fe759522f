// pagers/file-pager/file_store.cc — see file_store.h.
#include "file_store.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "mach_pager.h"

namespace filepager {

namespace {

// pread/pwrite of the whole length (they may return short counts); the
// bytes done, or -1 on an error.
ssize_t read_fully(int fd, uint8_t* p, size_t len, off_t at) {
  size_t done = 0;
  while (done < len) {
    const ssize_t n = pread(fd, p + done, len - done, at + off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;  // the end of the file
    done += size_t(n);
  }
  return ssize_t(done);
}

bool write_fully(int fd, const uint8_t* p, size_t len, off_t at) {
  size_t done = 0;
  while (done < len) {
    const ssize_t n = pwrite(fd, p + done, len - done, at + off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

}  // namespace

kern_return_t FileStore::read_page(uint64_t offset, void* buf, size_t len) {
  auto* p = static_cast<uint8_t*>(buf);
  const ssize_t n = read_fully(fd_, p, len, off_t(offset));
  if (n < 0) {
    ++errors_;
    return KERN_MEMORY_FAILURE;
  }
  if (n == 0) {
    ++pages_zero_;
    return MACH_PAGER_ZERO_FILL;
  }
  std::memset(p + n, 0, len - size_t(n));
  ++pages_read_;
  return KERN_SUCCESS;
}

kern_return_t FileStore::write_page(uint64_t offset, const void* buf, size_t len) {
  const auto* p = static_cast<const uint8_t*>(buf);
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    ++errors_;
    return KERN_MEMORY_FAILURE;
  }
  const uint64_t size = uint64_t(st.st_size);
  uint64_t end = std::min<uint64_t>(offset + len, std::max(size, offset));  // inside the file
  if (grow_) {
    size_t last = len;  // one past the last nonzero byte
    while (last > 0 && p[last - 1] == 0) --last;
    end = std::max(end, offset + last);
  }
  const size_t keep = size_t(end - offset);
  bytes_dropped_ += len - keep;
  if (keep > 0 && !write_fully(fd_, p, keep, off_t(offset))) {
    ++errors_;
    return KERN_MEMORY_FAILURE;
  }
  ++pages_written_;
  bytes_written_ += keep;
  return KERN_SUCCESS;
}

FileStore::Stats FileStore::stats() const {
  Stats s;
  s.pages_read = pages_read_;
  s.pages_zero = pages_zero_;
  s.pages_written = pages_written_;
  s.bytes_written = bytes_written_;
  s.bytes_dropped = bytes_dropped_;
  s.errors = errors_;
  return s;
}

}  // namespace filepager
