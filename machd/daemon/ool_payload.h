// machd/daemon/ool_payload.h — the two shapes of out-of-line memory in flight.
//
//  InlinePayload: small regions, copied through the channels (bytes owned here).
//  MemfdPayload:  large regions, pages of a sealed memfd (fd held here, maybe
//                 shared with other payloads of one message). The
//                 seals (write, grow, shrink) make the pages immutable, so a
//                 sender keeping the fd cannot change what the receiver maps.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ipc/kernel.h"

namespace machd {

class InlinePayload final : public ipc::OolPayload {
 public:
  explicit InlinePayload(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  uint64_t heap_bytes() const override { return bytes_.capacity(); }
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// One descriptor shared by every payload cut from it (several regions of a
// message may live in one memfd): closed when the last holder goes, so a
// message naming one memfd a thousand times costs machd one descriptor.
class SharedFd {
 public:
  explicit SharedFd(int fd) : fd_(fd) {}
  ~SharedFd();
  SharedFd(const SharedFd&) = delete;
  SharedFd& operator=(const SharedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class MemfdPayload final : public ipc::OolPayload {
 public:
  ~MemfdPayload() override;
  MemfdPayload(const MemfdPayload&) = delete;
  MemfdPayload& operator=(const MemfdPayload&) = delete;
  uint64_t size() const override { return size_; }
  int fd() const { return fd_->get(); }
  uint64_t offset() const { return offset_; }

  // Accepts a client's fd as a payload: it must be a memfd holding
  // [offset, offset+size) with a page-aligned offset, which is sealed against
  // writes (or already is). One that cannot be sealed (not a memfd, or still
  // mapped writable somewhere) is refused: machd never copies for a client.
  // Takes ownership of fd on success and failure. Null if refused.
  static std::unique_ptr<MemfdPayload> adopt(int fd, uint64_t offset, uint64_t size);
  // The same checks on a descriptor other payloads may share: null if
  // refused (the descriptor then stays with its other holders).
  static std::unique_ptr<MemfdPayload> adopt(std::shared_ptr<const SharedFd> fd, uint64_t offset, uint64_t size);

  // Copies bytes into a new sealed memfd. Returns null on failure.
  static std::unique_ptr<MemfdPayload> from_bytes(std::span<const uint8_t> bytes);
  // Copies [offset, offset+size) of file `fd` (not taken) into a new sealed
  // memfd inside the kernel (copy_file_range: no mapping, no user copy).
  static std::unique_ptr<MemfdPayload> from_file_range(int fd, uint64_t offset, uint64_t size);

  // Live payloads (for memory reports).
  static uint64_t live_count();

 private:
  // `offset` is page aligned. Counted in live_count().
  MemfdPayload(std::shared_ptr<const SharedFd> fd, uint64_t offset, uint64_t size);

  std::shared_ptr<const SharedFd> fd_;
  uint64_t offset_;
  uint64_t size_;
};

}  // namespace machd
