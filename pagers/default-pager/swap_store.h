// pagers/default-pager/swap_store.h — the default pager's backing store: a
// swap file of page slots, and per memory object which slot holds which of
// its pages.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
//
// Contract
//   open(path, max_bytes): the swap file is created (or truncated) at
//     path; an empty path makes an unnamed one in $TMPDIR (O_TMPFILE),
//     gone when the pager exits. max_bytes 0: no bound but the disk's.
//   create(size) makes an object; destroy(o) forgets it, its slots go back
//     to the free list and their disk blocks are released (hole punched).
//   write_page stores one page (len <= the page size; a shorter piece is
//     padded with zeroes) in the page's slot, taking a free one the first
//     time; KERN_NO_SPACE when max_bytes is reached, KERN_FAILURE on an
//     I/O error. read_page fills buf from the slot; a page never written
//     is MACH_PAGER_ZERO_FILL.
//   Every call may come from any thread (one lock).
#pragma once

#include <mach/mach.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace defaultpager {

class SwapStore {
 public:
  struct Object {
    uint64_t size = 0;
    std::unordered_map<uint64_t, uint64_t> slots;  // page index -> slot
  };
  struct Stats {
    uint64_t objects = 0;          // live
    uint64_t slots_used = 0;       // pages held now
    uint64_t slots_total = 0;      // the file's length in pages
    uint64_t pages_written = 0;
    uint64_t pages_read = 0;
  };

  static std::unique_ptr<SwapStore> open(const std::string& path, uint64_t max_bytes, std::string* error);
  ~SwapStore();
  SwapStore(const SwapStore&) = delete;
  SwapStore& operator=(const SwapStore&) = delete;

  Object* create(uint64_t size);
  void destroy(Object* o);
  kern_return_t read_page(Object* o, uint64_t offset, void* buf, size_t len);
  kern_return_t write_page(Object* o, uint64_t offset, const void* buf, size_t len);
  Stats stats() const;
  // The store's size and free room in bytes: with max_bytes, that bound;
  // without, the file's slots plus the free space of its file system.
  void space(uint64_t* total, uint64_t* free) const;
  // The bytes the object uses in the store, and the offsets of its pages
  // (up to max; the count of all).
  uint64_t bytes_of(const Object* o) const;
  size_t pages_of(const Object* o, uint64_t* offsets, size_t max) const;
  const std::string& path() const { return path_; }

  static constexpr uint64_t kPage = 4096;

 private:
  SwapStore(int fd, std::string path, uint64_t max_slots) : fd_(fd), path_(std::move(path)), max_slots_(max_slots) {}

  int fd_;
  std::string path_;
  uint64_t max_slots_;  // 0: unbounded
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Object>> objects_;
  std::vector<uint64_t> free_;
  uint64_t next_slot_ = 0;
  Stats stats_;
};

}  // namespace defaultpager
