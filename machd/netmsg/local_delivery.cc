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

}  // namespace

namespace {

kj::Promise<void> attempt(kj::Own<OutgoingMessage> message, kj::Timer& timer, std::function<void()> stamp,
                          kj::Duration wait) {
  stamp();
  mach_msg_header_t* h = message->header();
  mach_msg_return_t mr = mach_msg(h, MACH_SEND_MSG | MACH_SEND_TIMEOUT, h->msgh_size, 0, MACH_PORT_NULL, 0,
                                  MACH_PORT_NULL);
  if (mr == MACH_MSG_SUCCESS) return kj::READY_NOW;
  if (mr != MACH_SEND_TIMED_OUT) {
    // Nothing was consumed (the header or a right was refused): the rights are still ours.
    release_rights(message->owned);
    return failure(mr);
  }
  // The destination's queue is full. The kernel gave the message back
  // (pseudo-receive), its rights in this task again: try again later.
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
