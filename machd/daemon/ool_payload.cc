// machd/daemon/ool_payload.cc — see ool_payload.h.
#include "ool_payload.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace machd {

namespace {
std::atomic<uint64_t> g_live{0};
constexpr unsigned kSeals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;

int new_memfd() { return memfd_create("machd-ool", MFD_CLOEXEC | MFD_ALLOW_SEALING); }

bool write_all(int fd, const uint8_t* p, size_t n, off_t off) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w; n -= size_t(w); off += w;
  }
  return true;
}
}  // namespace

SharedFd::~SharedFd() {
  if (fd_ >= 0) close(fd_);
}

MemfdPayload::MemfdPayload(std::shared_ptr<const SharedFd> fd, uint64_t offset, uint64_t size)
    : fd_(std::move(fd)), offset_(offset), size_(size) {
  g_live.fetch_add(1, std::memory_order_relaxed);
}

MemfdPayload::~MemfdPayload() { g_live.fetch_sub(1, std::memory_order_relaxed); }

uint64_t MemfdPayload::live_count() { return g_live.load(std::memory_order_relaxed); }

std::unique_ptr<MemfdPayload> MemfdPayload::adopt(int fd, uint64_t offset, uint64_t size) {
  if (fd < 0) return nullptr;
  return adopt(std::make_shared<const SharedFd>(fd), offset, size);
}

std::unique_ptr<MemfdPayload> MemfdPayload::adopt(std::shared_ptr<const SharedFd> shared, uint64_t offset,
                                                  uint64_t size) {
  const int fd = shared->get();
  struct stat st{};
  long page = sysconf(_SC_PAGESIZE);
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || offset % uint64_t(page) != 0 ||
      offset + size < offset || uint64_t(st.st_size) < offset + size)
    return nullptr;
  // Sealed against writes, growth and shrinking, the pages cannot change
  // under the receiver, nor the file grow at machd's charge.
  constexpr unsigned kImmutable = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;
  int seals = fcntl(fd, F_GET_SEALS);
  const bool sealed = seals >= 0 && (unsigned(seals) & kImmutable) == kImmutable;
  if (seals >= 0 && (sealed || fcntl(fd, F_ADD_SEALS, kSeals) == 0))
    return std::unique_ptr<MemfdPayload>(new MemfdPayload(std::move(shared), offset, size));
  // Not a memfd, still mapped writable somewhere, or sealed against new
  // seals without being immutable: it could change under the receiver, and
  // copying it would make machd do unbounded work for a client. The library
  // never sends such an fd; refuse it.
  return nullptr;
}

std::unique_ptr<MemfdPayload> MemfdPayload::from_file_range(int src, uint64_t offset, uint64_t size) {
  int fd = new_memfd();
  if (fd < 0) return nullptr;
  bool ok = ftruncate(fd, off_t(size)) == 0;
  loff_t in = loff_t(offset), out = 0;
  while (ok && uint64_t(out) < size) {
    ssize_t n = copy_file_range(src, &in, fd, &out, size_t(size - uint64_t(out)), 0);
    if (n <= 0) ok = false;  // (0: the source ended; the rest stays zero)
    if (n == 0) ok = true, out = loff_t(size);
  }
  if (!ok || fcntl(fd, F_ADD_SEALS, kSeals) != 0) {
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<MemfdPayload>(new MemfdPayload(std::make_shared<const SharedFd>(fd), 0, size));
}

std::unique_ptr<MemfdPayload> MemfdPayload::from_bytes(std::span<const uint8_t> bytes) {
  int fd = new_memfd();
  if (fd < 0) return nullptr;
  if (ftruncate(fd, off_t(bytes.size())) != 0 || !write_all(fd, bytes.data(), bytes.size(), 0) ||
      fcntl(fd, F_ADD_SEALS, kSeals) != 0) {
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<MemfdPayload>(new MemfdPayload(std::make_shared<const SharedFd>(fd), 0, bytes.size()));
}

}  // namespace machd
