// pagers/file-pager/file_store.h — a file as the backing store of a memory
// object: pages read with pread(2), written back with pwrite(2), and the
// file's size as the rule for what may be written.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
//
// No Mach here: the pager (file_pager.h) calls these from its callbacks.
// The size is the file's current one (fstat at each write), so a file that
// another program grows or truncates meanwhile is followed.
#pragma once

#include <mach/kern_return.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace filepager {

class FileStore {
 public:
  // fd: the file, open for reading and writing (kept open by the caller).
  // grow: write_page may extend the file (see there).
  FileStore(int fd, bool grow) : fd_(fd), grow_(grow) {}

  // Fills buf (len bytes) with the file's bytes at offset; what lies past
  // the end of the file reads as zeroes.  Returns KERN_SUCCESS;
  // MACH_PAGER_ZERO_FILL (the page is all past the end: the kernel
  // zero-fills it without a copy); KERN_MEMORY_FAILURE if pread fails.
  kern_return_t read_page(uint64_t offset, void* buf, size_t len);

  // Writes back len bytes at offset, never past the end of the file: the
  // bytes beyond it are dropped (a page of the object past the end is
  // zero-fill the next time anyway).  With grow, the file is extended up to
  // the last nonzero byte of buf instead (zeroes past the end are what
  // reading there gives already, so they extend nothing).  Returns
  // KERN_SUCCESS; KERN_MEMORY_FAILURE if fstat or pwrite fails (ENOSPC,
  // EIO: the data is lost, as a failed write-back on any system).
  kern_return_t write_page(uint64_t offset, const void* buf, size_t len);

  // What went through the store so far (read from any thread).
  struct Stats {
    uint64_t pages_read = 0;      // read_page: KERN_SUCCESS
    uint64_t pages_zero = 0;      // read_page: MACH_PAGER_ZERO_FILL
    uint64_t pages_written = 0;   // write_page calls that succeeded
    uint64_t bytes_written = 0;   // bytes that reached the file
    uint64_t bytes_dropped = 0;   // bytes past the end, not written
    uint64_t errors = 0;          // KERN_MEMORY_FAILURE returned
  };
  Stats stats() const;

 private:
  int fd_;
  bool grow_;
  std::atomic<uint64_t> pages_read_{0}, pages_zero_{0}, pages_written_{0}, bytes_written_{0}, bytes_dropped_{0},
      errors_{0};
};

}  // namespace filepager
