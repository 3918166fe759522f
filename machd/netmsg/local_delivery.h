// machd/netmsg/local_delivery.h — a message that came from another host,
// rebuilt as a Mach message, and its delivery to a port on this host.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <mach/mach.h>

#include <kj/async.h>
#include <kj/timer.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace netmsg {

// A right the message moves out of this task when it is sent: released by
// hand if the message never goes (MAKE_* rights need nothing).
struct OwnedRight {
  mach_port_t name;
  mach_msg_type_name_t disposition;  // MACH_MSG_TYPE_MOVE_*
};

struct OutgoingMessage {
  std::vector<uint8_t> bytes;  // header + body, msgh_size bytes
  // The rights to release if the message is never sent. They name the
  // message as built; once the kernel has given it back (a send that timed
  // out), `returned` is set and the message itself is what is owned: every
  // right in its header and descriptors, under the names it has now, and
  // its out-of-line regions, which are then this task's own memory.
  std::vector<OwnedRight> owned;
  bool returned = false;
  // The arrays of names the out-of-line port descriptors point at.
  std::vector<std::vector<mach_port_t>> port_arrays;
  mach_msg_header_t* header() { return reinterpret_cast<mach_msg_header_t*>(bytes.data()); }
};

// Sends `message` without blocking this thread; `stamp` runs before each
// attempt (it sets the identity the message goes out with). Resolves once
// it is queued on its destination. A full queue: tried again after 1 ms,
// then at growing intervals up to 50 ms, until it goes (later messages to
// the same port must wait for this promise: the caller chains them).
// Rejects (kj DISCONNECTED for a dead or invalid destination, FAILED
// otherwise) after releasing the rights the message carried, under the
// names they have when it gives up (a message given back by a timed-out
// send holds its rights under new names). Out-of-line memory the message
// names must stay valid until it resolves.
kj::Promise<void> deliver(kj::Own<OutgoingMessage> message, kj::Timer& timer, std::function<void()> stamp);

// Releases the rights of a message that will not be sent.
void release_rights(const std::vector<OwnedRight>& owned);

}  // namespace netmsg
