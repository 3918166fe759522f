// machd/daemon/memory_return.cc — see memory_return.h.
#include "memory_return.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

namespace machd {

void MemoryReturn::configure_allocator() {
  // Setting either threshold also turns off glibc's dynamic adjustment.
  mallopt(M_MMAP_THRESHOLD, int(kMmapThreshold));
  mallopt(M_TRIM_THRESHOLD, int(kKeepBytes));
}

std::optional<uint64_t> MemoryReturn::tick(uint64_t now_ns) {
  if (now_ns < next_check_ns_) {
    active_since_check_ = true;
    return next_check_ns_;
  }
  const bool was_active = active_since_check_ || next_check_ns_ == 0;
  active_since_check_ = false;
  next_check_ns_ = now_ns + kPeriodNs;
  if (!was_active) return std::nullopt;
  const size_t free_bytes = mallinfo2().fordblks;
  if (free_bytes > kKeepBytes) {
    malloc_trim(0);
    ++trims_;
    spdlog::debug("memory: {} KiB free in the heap, given back", free_bytes / 1024);
  }
  return std::nullopt;
}

}  // namespace machd
