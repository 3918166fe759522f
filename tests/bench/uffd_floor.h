// tests/bench/uffd_floor.h — the floor of a user-space page fault: an
// anonymous region registered MISSING on a userfaultfd of this process, whose
// faults a handler thread of this process resolves with UFFDIO_COPY from
// data it holds. No other process, no message: what any user-space pager on
// Linux pays at least per fault.
#pragma once

#include <cstddef>
#include <cstdint>
#include <thread>

namespace pagerbench {

class InProcessFaults {
 public:
  InProcessFaults() = default;
  ~InProcessFaults();
  InProcessFaults(const InProcessFaults&) = delete;
  InProcessFaults& operator=(const InProcessFaults&) = delete;

  // Maps `size` bytes (a multiple of `chunk`) and starts the handler: a
  // fault at region offset `off` is answered by copying the `chunk` bytes
  // of `source` at (off rounded down to chunk) % source_size into the
  // chunk holding it (chunk: a power of two, at least 4096,
  // dividing source_size).
  // `source` must outlive the region. False (errno set) if userfaultfd is
  // not available.
  bool start(size_t size, size_t chunk, const uint8_t* source, size_t source_size);
  uint8_t* base() const { return base_; }
  // Stops the handler and unmaps the region.
  void stop();

 private:
  void serve();
  int fd_ = -1;
  uint8_t* base_ = nullptr;
  size_t size_ = 0, chunk_ = 0, source_size_ = 0;
  const uint8_t* source_ = nullptr;
  std::thread thread_;
};

}  // namespace pagerbench
