// pagers/common/wake.h — waking a thread blocked receiving on a port of
// our own (to make it see a stop flag), shared by libpager, the test kit's
// proxy and the pager programs that serve their ports themselves.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <mach/mach.h>

namespace pagerprog {

// Sends an empty message with id `id` to `port`, whose receive right this
// task holds (the send right is made for the message). Never waits: a
// full queue already wakes the receiver, which then sees its flag after
// the message it handles.
inline void send_wake(mach_port_t port, mach_msg_id_t id) {
  mach_msg_header_t m{};
  m.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MAKE_SEND, 0);
  m.msgh_size = sizeof m;
  m.msgh_remote_port = port;
  m.msgh_id = id;
  (void)mach_msg(&m, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof m, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL);
}

}  // namespace pagerprog
