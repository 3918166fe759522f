// tests/common/port_rights.h — passing one port right between tasks in a
// message with a single port descriptor (tests and benchmarks).
#pragma once

#include <mach/mach.h>

namespace testsupport {

// Sends `right` with `disposition` to `dest` (COPY_SEND).
inline mach_msg_return_t send_port_right(mach_port_t dest, mach_port_t right, mach_msg_type_name_t disposition) {
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
  } m{};
  m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  m.head.msgh_size = sizeof m;
  m.head.msgh_remote_port = dest;
  m.body.msgh_descriptor_count = 1;
  m.port.name = right;
  m.port.disposition = disposition;
  m.port.type = MACH_MSG_PORT_DESCRIPTOR;
  return mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL);
}

// Receives a message carrying one port descriptor from `port` (timeout_ms
// < 0: no timeout); the right's name, or MACH_PORT_NULL.
inline mach_port_t receive_port_right(mach_port_t port, int timeout_ms) {
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
    mach_msg_max_trailer_t trailer;
  } m{};
  const mach_msg_option_t opt = MACH_RCV_MSG | (timeout_ms >= 0 ? MACH_RCV_TIMEOUT : 0);
  mach_msg_return_t mr = mach_msg(&m.head, opt, 0, sizeof m, port, mach_msg_timeout_t(timeout_ms < 0 ? 0 : timeout_ms),
                                  MACH_PORT_NULL);
  if (mr != MACH_MSG_SUCCESS || !(m.head.msgh_bits & MACH_MSGH_BITS_COMPLEX) || m.body.msgh_descriptor_count != 1)
    return MACH_PORT_NULL;
  return m.port.name;
}

}  // namespace testsupport
