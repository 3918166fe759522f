// machd/netmsg/message_codec.h — a Mach message as Cap'n Proto carries it
// between hosts, and back (netmsg.capnp, Message).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <mach/mach.h>

#include <kj/common.h>

#include "local_delivery.h"
#include "mach_inbox.h"
#include "netmsg.capnp.h"

namespace netmsg {

// What the codec asks of the connection a message crosses: a right of this
// task becomes a PortRef for the peer, and a PortRef from the peer a right
// to put in a message on this host.
class RightTranslator {
 public:
  virtual ~RightTranslator() noexcept(false) = default;
  // Describes the right `name` of type `type` (MACH_MSG_TYPE_PORT_*, as a
  // receive wrote it) for the peer. The right is consumed: the translator
  // keeps it for as long as the peer may use it, or releases it.
  virtual void export_right(mach_port_t name, mach_msg_type_name_t type, PortRef::Builder ref) = 0;
  // The name and disposition that put the right `ref` describes into a
  // message sent on this host; a right the message moves is added to
  // `out.owned`.
  virtual void import_right(PortRef::Reader ref, mach_port_t* name, mach_msg_type_name_t* disposition,
                            OutgoingMessage& out) = 0;
};

// The size of the descriptor `d` in a 64-bit task's message; 0 for a type
// the network does not carry.
mach_msg_size_t descriptor_size(const mach_msg_type_descriptor_t* d);

// The most out-of-line memory one message may carry across hosts: a region
// (a Cap'n Proto Data holds at most 512 MiB) and all of a message's (the
// receiving server reads messages of up to 1 GiB).
constexpr uint64_t kMaxOutOfLineRegion = uint64_t(256) << 20;
constexpr uint64_t kMaxOutOfLineMessage = uint64_t(768) << 20;

// Fills `out` from the received message `in` (its destination excluded:
// the caller knows where it goes). Every right in it is handed to
// `rights`; out-of-line memory is copied and deallocated; a voucher is
// released. Returns false (everything released) for a descriptor the
// network cannot carry, or more out-of-line memory than the limits above.
bool encode_message(ReceivedMessage& in, RightTranslator& rights, Message::Builder out);

// Rebuilds the message `in` for this host, addressed to `dest` with
// `dest_disposition`. Its out-of-line data points into `in`, which must
// stay alive until the message is sent. Throws (kj) for a malformed one,
// having released what it imported.
kj::Own<OutgoingMessage> decode_message(Message::Reader in, mach_port_t dest, mach_msg_type_name_t dest_disposition,
                                        RightTranslator& rights);

}  // namespace netmsg
