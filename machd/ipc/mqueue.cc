// machd/ipc/mqueue.cc — queue limits, blocked senders, delivery.
#include "mqueue.h"

#include "credit.h"
#include "ipc.h"
#include "kmsg.h"
#include "lane.h"
#include "msg.h"
#include "port.h"
#include "port_set.h"

namespace machd::ipc {

namespace {

// Reserves a slot for the first blocked sender and schedules its post.
void grant_one(Ipc& ipc, Port& port) {
  Waiter* w = port.aux->senders.pop_front();
  waiter_clear_deadline(ipc, *w);
  w->granted = true;
  port.msgcount++;
  ipc.defer(Work{Work::Kind::kSenderGranted, nullptr, nullptr, w->id});
}

bool offer_to(Ipc& ipc, WaiterList& list, Port& port, Kmsg* k) {
  Waiter* w = list.head;
  while (w) {
    Waiter* next = w->next;  // w may complete and leave the list
    if (receive_offer(ipc, w, port, k)) return true;
    w = next;
  }
  return false;
}

}  // namespace

SendStatus mqueue_send(Ipc& ipc, Kmsg* k, mach_msg_option_t option, mach_msg_timeout_t timeout, bool from_kernel) {
  Port* dest = k->dest;
  if (!dest->active() || k->circular) {
    // A dead destination (or a cycle of receive rights): the message is
    // accepted and destroyed, as XNU's ipc_kmsg_send does.
    ipc.defer_destroy(k);
    return SendStatus::kAccepted;
  }
  const bool send_once = k->dest_type() == kPortSendOnce || from_kernel;
  if (!send_once || dest->msgcount >= MACH_PORT_QLIMIT_KERNEL) mqueue_make_room(ipc, *dest);
  const bool kernel_full = dest->msgcount >= MACH_PORT_QLIMIT_KERNEL;
  if (!dest->full() || (send_once && !kernel_full)) {
    dest->msgcount++;
    mqueue_post(ipc, *dest, k);
    return SendStatus::kAccepted;
  }
  if ((option & MACH_SEND_TIMEOUT) && timeout == 0) return SendStatus::kTimedOut;
  if (kernel_full) return SendStatus::kNoBuffer;
  return SendStatus::kMustWait;
}

void mqueue_make_room(Ipc& ipc, Port& port) {
  if (!port.full()) return;
  lane_reclaim(ipc, port, false);
  credit_revoke_port(ipc, port);
}

void mqueue_post(Ipc& ipc, Port& port, Kmsg* k) {
  if (!port.active()) {
    ipc.defer_destroy(k);
    return;
  }
  if (port.aux) {
    if (offer_to(ipc, port.aux->receivers, port, k)) return;
    // Receivers blocked on a set containing the port. Offers never change
    // set membership, but iterate by index to stay safe.
    for (size_t i = 0; port.aux && i < port.aux->sets.size(); i++) {
      if (offer_to(ipc, port.aux->sets[i]->set->receivers, port, k)) return;
    }
  }
  k->next = nullptr;
  if (port.tail) port.tail->next = k; else port.head = k;
  port.tail = k;
  pset_prepost_all(port);  // the sets it is in now have a ready member
}

Kmsg* mqueue_dequeue(Ipc& ipc, Port& port, mach_port_seqno_t* seqno) {
  Kmsg* k = port.head;
  port.head = k->next;
  if (!port.head) port.tail = nullptr;
  k->next = nullptr;
  *seqno = port.seqno++;
  mqueue_release_slot(ipc, port);
  return k;
}

void mqueue_release_slot(Ipc& ipc, Port& port) {
  if (port.msgcount > 0) port.msgcount--;
  if (!port.full() && port.aux && !port.aux->senders.empty()) grant_one(ipc, port);
}

void mqueue_set_qlimit(Ipc& ipc, Port& port, uint16_t qlimit) {
  if (qlimit > port.qlimit && port.aux) {
    for (uint32_t i = qlimit - port.qlimit; i > 0 && !port.aux->senders.empty(); i--) {
      grant_one(ipc, port);
    }
  }
  // A lower limit: slots reserved for credited senders must not let them
  // past it.
  if (qlimit < port.qlimit) credit_revoke_port(ipc, port);
  port.qlimit = qlimit;
}

void mqueue_changed(Ipc& ipc, Port& port) {
  if (!port.aux) return;
  while (Waiter* w = port.aux->receivers.pop_front()) {
    waiter_finish(ipc, w, result_only(MACH_RCV_PORT_CHANGED));
  }
}

void mqueue_destroy(Ipc& ipc, Port& port) {
  credit_revoke_port(ipc, port);
  if (port.aux) {
    while (Waiter* w = port.aux->senders.pop_front()) {
      // XNU: a sender blocked on a queue that dies returns MACH_MSG_SUCCESS
      // and its message is destroyed.
      Kmsg* k = w->kmsg;
      w->kmsg = nullptr;
      ipc.defer_destroy(k);
      msg_send_done(ipc, w);
    }
  }
  while (Kmsg* k = port.head) {
    port.head = k->next;
    k->next = nullptr;
    ipc.defer_destroy(k);
  }
  port.tail = nullptr;
  port.msgcount = 0;
}

}  // namespace machd::ipc
