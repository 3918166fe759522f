// libmach-compat/src/fast_lanes.cc — see fast_lanes.h and machd_abi.h.
#include "fast_lanes.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "connection.h"
#include "machd_abi.h"

namespace machcompat {

namespace {

template <typename T>
std::atomic_ref<T> atomic(T& v) { return std::atomic_ref<T>(v); }


constexpr mach_msg_option_t kSendOptions = MACH_SEND_MSG | MACH_SEND_TIMEOUT | MACH_SEND_INTERRUPT;
// MACH_RCV_VOUCHER changes nothing here: machd lends no message with voucher bits.
constexpr mach_msg_option_t kRcvOptions = MACH_RCV_MSG | MACH_RCV_TIMEOUT | MACH_RCV_INTERRUPT |
                                          MACH_RCV_LARGE | MACH_RCV_LARGE_IDENTITY | MACH_RCV_VOUCHER |
                                          MACH_RCV_TRAILER_MASK;

// REQUESTED_TRAILER_SIZE for a format-0 trailer request.
mach_msg_size_t trailer_size(mach_msg_option_t option) {
  switch (GET_RCV_ELEMENTS(option)) {
    case MACH_RCV_TRAILER_NULL: return sizeof(mach_msg_trailer_t);
    case MACH_RCV_TRAILER_SEQNO: return sizeof(mach_msg_seqno_trailer_t);
    case MACH_RCV_TRAILER_SENDER: return sizeof(mach_msg_security_trailer_t);
    case MACH_RCV_TRAILER_AUDIT: return sizeof(mach_msg_audit_trailer_t);
    case MACH_RCV_TRAILER_CTX: return sizeof(mach_msg_context_trailer_t);
    default: return sizeof(mach_msg_max_trailer_t);
  }
}

}  // namespace

bool fast_lanes_enabled() {
  static const bool on = [] {
    const char* e = getenv("MACH_COMPAT_FAST_LANES");
    return !(e && e[0] == '0');
  }();
  return on;
}

bool fast_send(const mach_msg_header_t* msg, mach_msg_option_t option, mach_msg_size_t send_size) {
  if (!fast_lanes_enabled() || msg == nullptr || (option & ~kSendOptions) != 0) return false;
  if (send_size < sizeof(mach_msg_header_t) || send_size > MACHD_SEND_MSG_MAX || (send_size & 3) ||
      msg->msgh_size != send_size || msg->msgh_bits != MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) ||
      msg->msgh_local_port != MACH_PORT_NULL || msg->msgh_voucher_port != MACH_PORT_NULL)
    return false;
  const mach_port_name_t dest = msg->msgh_remote_port;
  if (!MACH_PORT_VALID(dest)) return false;
  machd_fast_header* f = fast_header();
  if (f == nullptr) return false;
  const uint32_t index = (dest >> 8) % MACHD_CREDITS;
  uint64_t w = atomic(f->credits[index]).load(std::memory_order_acquire);
  do {
    if (MACHD_CREDIT_NAME(w) != dest || MACHD_CREDIT_COUNT(w) == 0) return false;
  } while (!atomic(f->credits[index]).compare_exchange_weak(w, w - 1, std::memory_order_acq_rel));
  // The message is sent: a ring slot is ours (machd keeps credits below the
  // ring's size) and the credit's send right carries it.
  const uint64_t pos = atomic(f->send_tail).fetch_add(1, std::memory_order_relaxed);
  auto* slot = reinterpret_cast<machd_send_slot*>(region_base() + MACHD_SEND_RING_OFFSET +
                                                  (pos % MACHD_SEND_SLOTS) * MACHD_SEND_SLOT_SIZE);
  slot->credit = index | (MACHD_CREDIT_EPOCH(w) << 16);
  slot->size = send_size;
  memcpy(slot->msg, msg, send_size);
  atomic(slot->seq).store(pos + 1, std::memory_order_release);
  // A locked read-modify-write: also orders the store above before machd's
  // swap of async_pending, so a machd that finds the bit clear has seen the slot.
  if ((atomic(f->async_pending).fetch_or(MACHD_ASYNC_SEND, std::memory_order_seq_cst) & MACHD_ASYNC_SEND) == 0)
    kick_machd();
  return true;
}

bool fast_receive(mach_msg_header_t* buf, mach_msg_option_t option, mach_msg_size_t rcv_size,
                  mach_port_name_t name, mach_msg_return_t* result) {
  if (!fast_lanes_enabled() || buf == nullptr || (option & ~kRcvOptions) != 0 || !MACH_PORT_VALID(name)) return false;
  machd_fast_header* f = fast_header();
  if (f == nullptr) return false;
  for (uint32_t i = 0; i < MACHD_LANES; ++i) {
    machd_lane& lane = f->lanes[i];
    uint64_t head = atomic(lane.head).load(std::memory_order_acquire);
    if (MACHD_LANE_HEAD_NAME(head) != name) continue;
    for (;;) {
      if (MACHD_LANE_HEAD_NAME(head) != name || MACHD_LANE_HEAD_CLOSED(head)) return false;
      const uint32_t index = MACHD_LANE_HEAD_INDEX(head);
      if (index == (atomic(lane.tail).load(std::memory_order_acquire) & 0x7fffffffu)) return false;
      const auto* slot = reinterpret_cast<const machd_lane_slot*>(
          region_base() + MACHD_LANES_OFFSET +
          (uint64_t(i) * MACHD_LANE_SLOTS + index % MACHD_LANE_SLOTS) * MACHD_LANE_SLOT_SIZE);
      const uint32_t size = atomic(const_cast<uint32_t&>(slot->size)).load(std::memory_order_relaxed);
      const mach_msg_size_t tsize = trailer_size(option);
      const uint32_t at = (size + 3) & ~3u;
      if (size < sizeof(mach_msg_header_t) || at + sizeof(mach_msg_max_trailer_t) > MACHD_LANE_IMAGE_MAX ||
          uint64_t(size) + tsize > rcv_size)
        return false;  // the trap decides (and closes the lane first)
      // Copied aside first: the caller's buffer is written only once the
      // message is ours (a lost race leaves it as the trap would).
      alignas(8) uint8_t copy[MACHD_LANE_IMAGE_MAX];
      memcpy(copy, slot->image, at + tsize);
      const uint64_t next = (head & ~uint64_t(0x7fffffffu)) | ((index + 1) & 0x7fffffffu);
      if (!atomic(lane.head).compare_exchange_strong(head, next, std::memory_order_seq_cst)) continue;
      reinterpret_cast<mach_msg_trailer_t*>(copy + at)->msgh_trailer_size = tsize;
      memcpy(buf, copy, at + tsize);
      if (atomic(lane.flags).load(std::memory_order_seq_cst) & MACHD_LANE_SENDERS_WAITING) {
        if ((atomic(f->async_pending).fetch_or(MACHD_ASYNC_SETTLE, std::memory_order_seq_cst) &
             MACHD_ASYNC_SETTLE) == 0)
          kick_machd();
      }
      *result = MACH_MSG_SUCCESS;
      return true;
    }
  }
  return false;
}

}  // namespace machcompat
