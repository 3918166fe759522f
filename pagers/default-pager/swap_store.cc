// pagers/default-pager/swap_store.cc — see swap_store.h.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "swap_store.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mach_pager.h"

namespace defaultpager {

std::unique_ptr<SwapStore> SwapStore::open(const std::string& path, uint64_t max_bytes, std::string* error) {
  int fd;
  std::string shown = path;
  if (path.empty()) {
    const char* tmp = getenv("TMPDIR");
    shown = std::string(tmp && *tmp ? tmp : "/tmp");
    fd = ::open(shown.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    shown += " (unnamed)";
  } else {
    fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
  }
  if (fd < 0) {
    if (error) *error = shown + ": " + strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<SwapStore>(new SwapStore(fd, shown, max_bytes / kPage));
}

SwapStore::~SwapStore() { close(fd_); }

SwapStore::Object* SwapStore::create(uint64_t size) {
  std::lock_guard<std::mutex> g(mu_);
  objects_.push_back(std::make_unique<Object>());
  objects_.back()->size = size;
  ++stats_.objects;
  return objects_.back().get();
}

void SwapStore::destroy(Object* o) {
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& [page, slot] : o->slots) {
    // The disk blocks go back now; the slot is reused later.
    (void)fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(slot * kPage), off_t(kPage));
    free_.push_back(slot);
  }
  stats_.slots_used -= o->slots.size();
  --stats_.objects;
  std::erase_if(objects_, [o](const std::unique_ptr<Object>& p) { return p.get() == o; });
}

kern_return_t SwapStore::read_page(Object* o, uint64_t offset, void* buf, size_t len) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = o->slots.find(offset / kPage);
  if (it == o->slots.end()) return MACH_PAGER_ZERO_FILL;
  const size_t n = std::min<size_t>(len, kPage);
  if (pread(fd_, buf, n, off_t(it->second * kPage)) != ssize_t(n)) return KERN_FAILURE;
  ++stats_.pages_read;
  return KERN_SUCCESS;
}

kern_return_t SwapStore::write_page(Object* o, uint64_t offset, const void* buf, size_t len) {
  std::lock_guard<std::mutex> g(mu_);
  const uint64_t page = offset / kPage;
  auto it = o->slots.find(page);
  uint64_t slot;
  if (it != o->slots.end()) {
    slot = it->second;
  } else if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else if (max_slots_ == 0 || next_slot_ < max_slots_) {
    slot = next_slot_++;
    stats_.slots_total = next_slot_;
  } else {
    return KERN_NO_SPACE;
  }
  uint8_t padded[kPage] = {};
  const void* data = buf;
  if (len < kPage) {
    memcpy(padded, buf, len);
    data = padded;
  }
  if (pwrite(fd_, data, kPage, off_t(slot * kPage)) != ssize_t(kPage)) {
    if (it == o->slots.end()) free_.push_back(slot);
    return KERN_FAILURE;
  }
  if (it == o->slots.end()) {
    o->slots.emplace(page, slot);
    ++stats_.slots_used;
  }
  ++stats_.pages_written;
  return KERN_SUCCESS;
}

void SwapStore::space(uint64_t* total, uint64_t* free) const {
  std::lock_guard<std::mutex> g(mu_);
  const uint64_t used = stats_.slots_used * kPage;
  if (max_slots_ != 0) {
    *total = max_slots_ * kPage;
  } else {
    struct statvfs fs {};
    const uint64_t disk = fstatvfs(fd_, &fs) == 0 ? uint64_t(fs.f_bavail) * fs.f_frsize : 0;
    *total = next_slot_ * kPage + disk;
  }
  *free = *total > used ? *total - used : 0;
}

uint64_t SwapStore::bytes_of(const Object* o) const {
  std::lock_guard<std::mutex> g(mu_);
  return o->slots.size() * kPage;
}

size_t SwapStore::pages_of(const Object* o, uint64_t* offsets, size_t max) const {
  std::lock_guard<std::mutex> g(mu_);
  size_t i = 0;
  for (const auto& [page, slot] : o->slots)
    if (i < max) offsets[i++] = page * kPage;
  if (offsets != nullptr) std::sort(offsets, offsets + i);
  return o->slots.size();
}

SwapStore::Stats SwapStore::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  return stats_;
}

}  // namespace defaultpager
