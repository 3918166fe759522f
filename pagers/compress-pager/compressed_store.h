// pagers/compress-pager/compressed_store.h — the pages of a memory object
// kept in memory, each compressed with zstd on its own.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
//
// No Mach here: the pager (compress_pager.h) calls these from its
// callbacks, and the program reads stats() from another thread, so every
// member takes the store's lock.
#pragma once

#include <mach/kern_return.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace compresspager {

class CompressedStore {
 public:
  // level: zstd's compression level (1 fast ... 19 small; negative: faster
  // still).
  explicit CompressedStore(int level) : level_(level) {}

  // Fills buf (len bytes) with the page at offset.  Returns KERN_SUCCESS;
  // MACH_PAGER_ZERO_FILL for a page never written (or last written as all
  // zeroes); KERN_MEMORY_FAILURE if the stored page does not decompress
  // (damaged memory: the kernel fails the faulting thread).
  kern_return_t read_page(uint64_t offset, void* buf, size_t len);

  // Stores len bytes at offset, compressed; a page of zeroes is not stored
  // (it reads as zero-fill).  len less than a stored page's size replaces
  // its first len bytes and keeps the rest.  Returns KERN_SUCCESS;
  // KERN_RESOURCE_SHORTAGE if memory runs out; KERN_MEMORY_FAILURE if zstd
  // fails.
  kern_return_t write_page(uint64_t offset, const void* buf, size_t len);

  struct Stats {
    uint64_t pages_stored = 0;      // pages held now
    uint64_t bytes_before = 0;      // their size uncompressed
    uint64_t bytes_after = 0;       // their size compressed
    uint64_t pages_written = 0;     // write_page calls that succeeded
    uint64_t zero_pages = 0;        // of which all zeroes (not stored)
    uint64_t pages_read = 0;        // read_page: KERN_SUCCESS
    uint64_t pages_zero_filled = 0; // read_page: MACH_PAGER_ZERO_FILL
  };
  Stats stats() const;

 private:
  struct Page {
    uint32_t size = 0;            // uncompressed
    std::vector<uint8_t> data;    // one zstd frame
  };
  // Decompresses p into out (p.size bytes); false if zstd refuses.
  static bool expand(const Page& p, uint8_t* out);
  void forget_locked(uint64_t offset);

  const int level_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Page> pages_;
  Stats stats_;
};

}  // namespace compresspager
