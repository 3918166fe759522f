// machd/netmsg/local_delivery.cc — delivering a message on this host
// (local_delivery.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "local_delivery.h"

#include <kj/debug.h>

namespace netmsg {

void release_rights(const std::vector<OwnedRight>& owned) {
  for (const OwnedRight& r : owned) {
    switch (r.disposition) {
      case MACH_MSG_TYPE_MOVE_RECEIVE:
        mach_port_mod_refs(mach_task_self(), r.name, MACH_PORT_RIGHT_RECEIVE, -1);
        break;
      case MACH_MSG_TYPE_MOVE_SEND:
      case MACH_MSG_TYPE_MOVE_SEND_ONCE:
        mach_port_deallocate(mach_task_self(), r.name);
        break;
      default:
        break;
    }
  }
}

namespace {

kj::Exception failure(mach_msg_return_t mr) {
  const bool dead = mr == MACH_SEND_INVALID_DEST || mr == MACH_SEND_INVALID_RIGHT;
  return kj::Exception(dead ? kj::Exception::Type::DISCONNECTED : kj::Exception::Type::FAILED, __FILE__, __LINE__,
                       kj::str("mach_msg: ", mach_error_string(mr), " (", mr, ")"));
}

// The kernel gave `m` back (pseudo-receive, as XNU's
// ipc_kmsg_copyout_pseudo): its rights are this task's again, under the
// names in the message, with the types a receiver would see (which are the
// MOVE_* dispositions a send takes), and its out-of-line memory and port
// arrays are new regions of this task. From now on the message owns them:
// a send gives the regions away with it, and giving up destroys the message.
void take_back(OutgoingMessage& m) {
  m.returned = true;
  mach_msg_header_t* h = m.header();
  if (!(h->msgh_bits & MACH_MSGH_BITS_COMPLEX)) return;
  uint8_t* p = m.bytes.data() + sizeof(mach_msg_header_t);
  uint8_t* const end = m.bytes.data() + m.bytes.size();
  if (p + sizeof(mach_msg_body_t) > end) return;
  const mach_msg_size_t count = reinterpret_cast<mach_msg_body_t*>(p)->msgh_descriptor_count;
  p += sizeof(mach_msg_body_t);
  for (mach_msg_size_t i = 0; i < count && p + sizeof(mach_msg_type_descriptor_t) <= end; ++i) {
    switch (reinterpret_cast<mach_msg_type_descriptor_t*>(p)->type) {
      case MACH_MSG_PORT_DESCRIPTOR:
        p += sizeof(mach_msg_port_descriptor_t);
        break;
      case MACH_MSG_OOL_DESCRIPTOR:
      case MACH_MSG_OOL_VOLATILE_DESCRIPTOR:
        reinterpret_cast<mach_msg_ool_descriptor_t*>(p)->deallocate = TRUE;
        p += sizeof(mach_msg_ool_descriptor_t);
        break;
      case MACH_MSG_OOL_PORTS_DESCRIPTOR:
        reinterpret_cast<mach_msg_ool_ports_descriptor_t*>(p)->deallocate = TRUE;
        p += sizeof(mach_msg_ool_ports_descriptor_t);
        break;
      default:
        return;  // none that this server builds
    }
  }
}

// Releases what a message that will not be sent holds.
void give_up(OutgoingMessage& m) {
  if (!m.returned) {
    release_rights(m.owned);
    return;
  }
  // mach_msg_destroy takes a received message, whose local port holds no
  // right; a returned one holds its reply right there.
  mach_msg_header_t* h = m.header();
  const mach_msg_type_name_t local = MACH_MSGH_BITS_LOCAL(h->msgh_bits);
  if (MACH_PORT_VALID(h->msgh_local_port) &&
      (local == MACH_MSG_TYPE_MOVE_SEND || local == MACH_MSG_TYPE_MOVE_SEND_ONCE))
    mach_port_deallocate(mach_task_self(), h->msgh_local_port);
  h->msgh_local_port = MACH_PORT_NULL;
  mach_msg_destroy(h);
}

kj::Promise<void> attempt(kj::Own<OutgoingMessage> message, kj::Timer& timer, std::function<void()> stamp,
                          kj::Duration wait) {
  stamp();
  mach_msg_header_t* h = message->header();
  mach_msg_return_t mr = mach_msg(h, MACH_SEND_MSG | MACH_SEND_TIMEOUT, h->msgh_size, 0, MACH_PORT_NULL, 0,
                                  MACH_PORT_NULL);
  if (mr == MACH_MSG_SUCCESS) return kj::READY_NOW;
  if (mr != MACH_SEND_TIMED_OUT) {
    // Nothing was consumed (the header or a right was refused): the rights are still ours.
    give_up(*message);
    return failure(mr);
  }
  // The destination's queue is full. The kernel gave the message back
  // (pseudo-receive), its rights in this task again: try again later.
  take_back(*message);
  const kj::Duration next = wait * 2 > 50 * kj::MILLISECONDS ? 50 * kj::MILLISECONDS : wait * 2;
  return timer.afterDelay(wait).then(
      [message = kj::mv(message), &timer, stamp = kj::mv(stamp), next]() mutable {
        return attempt(kj::mv(message), timer, kj::mv(stamp), next);
      });
}

}  // namespace

kj::Promise<void> deliver(kj::Own<OutgoingMessage> message, kj::Timer& timer, std::function<void()> stamp) {
  return attempt(kj::mv(message), timer, kj::mv(stamp), 1 * kj::MILLISECONDS);
}

}  // namespace netmsg
