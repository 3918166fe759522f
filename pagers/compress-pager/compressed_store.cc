// pagers/compress-pager/compressed_store.cc — see compressed_store.h.
#include "compressed_store.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "mach_pager.h"

namespace compresspager {

namespace {

bool all_zero(const uint8_t* p, size_t len) {
  return len == 0 || (p[0] == 0 && std::memcmp(p, p + 1, len - 1) == 0);
}

}  // namespace

bool CompressedStore::expand(const Page& p, uint8_t* out) {
  const size_t n = ZSTD_decompress(out, p.size, p.data.data(), p.data.size());
  return !ZSTD_isError(n) && n == p.size;
}

void CompressedStore::forget_locked(uint64_t offset) {
  auto it = pages_.find(offset);
  if (it == pages_.end()) return;
  --stats_.pages_stored;
  stats_.bytes_before -= it->second.size;
  stats_.bytes_after -= it->second.data.size();
  pages_.erase(it);
}

kern_return_t CompressedStore::read_page(uint64_t offset, void* buf, size_t len) {
  auto* out = static_cast<uint8_t*>(buf);
  std::lock_guard<std::mutex> g(mu_);
  auto it = pages_.find(offset);
  if (it == pages_.end()) {
    ++stats_.pages_zero_filled;
    return MACH_PAGER_ZERO_FILL;
  }
  const Page& p = it->second;
  if (p.size <= len) {
    if (!expand(p, out)) return KERN_MEMORY_FAILURE;
    std::memset(out + p.size, 0, len - p.size);
  } else {  // the kernel asks for less than was stored: a bigger page size
    std::vector<uint8_t> tmp(p.size);
    if (!expand(p, tmp.data())) return KERN_MEMORY_FAILURE;
    std::memcpy(out, tmp.data(), len);
  }
  ++stats_.pages_read;
  return KERN_SUCCESS;
}

kern_return_t CompressedStore::write_page(uint64_t offset, const void* buf, size_t len) {
  const auto* in = static_cast<const uint8_t*>(buf);
  std::lock_guard<std::mutex> g(mu_);
  try {
    // A partial page keeps the stored page's tail.
    std::vector<uint8_t> whole;
    auto old = pages_.find(offset);
    if (old != pages_.end() && old->second.size > len) {
      whole.resize(old->second.size);
      if (!expand(old->second, whole.data())) return KERN_MEMORY_FAILURE;
      std::memcpy(whole.data(), in, len);
      in = whole.data();
      len = whole.size();
    }
    if (all_zero(in, len)) {
      forget_locked(offset);
      ++stats_.zero_pages;
      ++stats_.pages_written;
      return KERN_SUCCESS;
    }
    Page p;
    p.size = uint32_t(len);
    p.data.resize(ZSTD_compressBound(len));
    const size_t n = ZSTD_compress(p.data.data(), p.data.size(), in, len, level_);
    if (ZSTD_isError(n)) return KERN_MEMORY_FAILURE;
    p.data.resize(n);
    p.data.shrink_to_fit();
    forget_locked(offset);
    ++stats_.pages_stored;
    stats_.bytes_before += p.size;
    stats_.bytes_after += p.data.size();
    pages_.emplace(offset, std::move(p));
    ++stats_.pages_written;
    return KERN_SUCCESS;
  } catch (const std::bad_alloc&) {
    return KERN_RESOURCE_SHORTAGE;
  }
}

CompressedStore::Stats CompressedStore::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  return stats_;
}

}  // namespace compresspager
