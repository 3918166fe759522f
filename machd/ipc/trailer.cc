// machd/ipc/trailer.cc — the format-0 trailer a receiver asks for.
#include <cstring>

#include "kmsg.h"

namespace machd::ipc {

mach_msg_size_t trailer_size(mach_msg_option_t options) {
  switch (GET_RCV_ELEMENTS(options)) {
    case MACH_RCV_TRAILER_NULL: return sizeof(mach_msg_trailer_t);
    case MACH_RCV_TRAILER_SEQNO: return sizeof(mach_msg_seqno_trailer_t);
    case MACH_RCV_TRAILER_SENDER: return sizeof(mach_msg_security_trailer_t);
    case MACH_RCV_TRAILER_AUDIT: return sizeof(mach_msg_audit_trailer_t);
    case MACH_RCV_TRAILER_CTX: return sizeof(mach_msg_context_trailer_t);
    case MACH_RCV_TRAILER_AV: return sizeof(mach_msg_mac_trailer_t);
    default: return sizeof(mach_msg_max_trailer_t);
  }
}

void append_trailer(std::vector<uint8_t>& out, mach_msg_option_t options, mach_port_seqno_t seqno,
                    const SenderId& sender, mach_port_context_t context) {
  static_assert(sizeof(mach_msg_max_trailer_t) == 68);
  mach_msg_max_trailer_t t{};
  const mach_msg_size_t size = trailer_size(options);
  t.msgh_trailer_type = MACH_MSG_TRAILER_FORMAT_0;
  t.msgh_trailer_size = size;
  t.msgh_seqno = seqno;
  std::memcpy(t.msgh_sender.val, sender.sec, sizeof sender.sec);
  std::memcpy(t.msgh_audit.val, sender.audit, sizeof sender.audit);
  t.msgh_context = context;
  t.msgh_ad = 0;
  t.msgh_labels.sender = 0;
  // The trailer starts at round_msg(msgh_size); sizes are multiples of 4.
  out.resize(round_msg(out.size()), 0);
  const size_t at = out.size();
  out.resize(at + size);
  std::memcpy(out.data() + at, &t, size);
}

}  // namespace machd::ipc
