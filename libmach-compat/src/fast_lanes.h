// libmach-compat/src/fast_lanes.h — mach_msg without a trap, when machd has
// prepared the way (the fast lanes of machd_abi.h).
//
// Both calls either do the whole mach_msg with exactly the result the trap
// would have had, or do nothing and return false (the caller then traps).
#pragma once

#include <mach/message.h>

namespace machcompat {

// False when MACH_COMPAT_FAST_LANES=0: every mach_msg traps, and the hello
// does not ask machd for credits or lanes.
bool fast_lanes_enabled();

// A send-only mach_msg of a simple message with MACH_MSGH_BITS(COPY_SEND, 0),
// while this task holds a send credit for the destination name: the message
// goes into the send ring and the send has succeeded (MACH_MSG_SUCCESS).
bool fast_send(const mach_msg_header_t* msg, mach_msg_option_t option, mach_msg_size_t send_size);

// A receive-only mach_msg on `name` while machd has lent messages of that port
// to one of this task's lanes: takes the first one into `buf` (message and the
// trailer `option` asks for). Sets *result and returns true; false when the
// lane is empty or closed, or the message does not fit (the trap then
// decides, with every MACH_RCV_TOO_LARGE rule).
bool fast_receive(mach_msg_header_t* buf, mach_msg_option_t option, mach_msg_size_t rcv_size,
                  mach_port_name_t name, mach_msg_return_t* result);

}  // namespace machcompat
