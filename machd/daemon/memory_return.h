// machd/daemon/memory_return.h — machd gives back the memory a flood left.
//
// glibc keeps freed heap memory for reuse: after a task queued a few
// hundred MiB of messages and they were received, machd's heap stayed that
// large. Two things return it:
//   - configure_allocator() fixes malloc's mmap threshold (glibc raises it
//     after each large free, up to 32 MiB), so every block of 128 KiB or
//     more (large message bodies, region copies) is its own mapping, gone
//     when freed;
//   - tick(), called every loop turn, looks at most once per kPeriodNs at
//     the heap's free bytes and, above kKeepBytes, hands the free pages back
//     (malloc_trim releases whole free pages anywhere in the heap, not only
//     at its top). While machd is busy it asks to be called again at the
//     next check, so the memory of a flood's last moments goes too; an idle
//     machd is never woken for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace machd {

class MemoryReturn {
 public:
  static constexpr uint64_t kPeriodNs = 1'000'000'000ull;
  static constexpr size_t kKeepBytes = 8u << 20;
  static constexpr size_t kMmapThreshold = 128u << 10;

  // Once, before serving.
  static void configure_allocator();

  // A loop turn at `now_ns`. Returns when it wants the next turn at the
  // latest (a check is due), or nothing.
  std::optional<uint64_t> tick(uint64_t now_ns);

  // How many times free memory was given back.
  uint64_t trims() const { return trims_; }

 private:
  uint64_t next_check_ns_ = 0;
  bool active_since_check_ = false;
  uint64_t trims_ = 0;
};

}  // namespace machd
