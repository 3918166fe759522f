// machd/ipc/mqueue.h — a port's message queue (XNU ipc_mqueue.c): qlimit
// and slot reservations, blocked senders, handing a message to a waiting
// receiver, sequence numbers.
//
// Port::msgcount is XNU's imq_msgcount: queued messages plus slots reserved
// for senders that were granted room but have not posted yet. A queue is
// full when msgcount >= qlimit. Messages to a send-once right never wait for
// room (only the hard cap MACH_PORT_QLIMIT_KERNEL stops them).
#pragma once

#include "types.h"

namespace machd::ipc {

enum class SendStatus : uint8_t {
  kAccepted,  // posted, handed to a receiver, or destroyed (dead port / cycle)
  kMustWait,  // queue full: the caller blocks (Port aux senders list)
  kTimedOut,  // queue full and MACH_SEND_TIMEOUT with 0 (message still the caller's)
  kNoBuffer,  // kernel hard cap reached (message still the caller's)
};

// Tries to send `k` to k->dest. On kAccepted the message is no longer the
// caller's. `option` / `timeout` as given to mach_msg.
// from_kernel: a message the kernel task sends (kernel-object replies, the
// memory_object protocol to pagers): like a send-once message it is taken
// up to MACH_PORT_QLIMIT_KERNEL whatever the port's qlimit, as XNU's kernel
// sends (MACH_SEND_ALWAYS) and GNU Mach's are never refused for a full queue.
SendStatus mqueue_send(Ipc& ipc, Kmsg* k, mach_msg_option_t option, mach_msg_timeout_t timeout,
                       bool from_kernel = false);

// A full queue gets the room the fast lanes hold back before anyone decides
// that it is full: messages its receive lane consumed are settled (their
// slots released) and its send credits are revoked (the slots their clients
// had not taken released). No-op when the queue is not full.
void mqueue_make_room(Ipc& ipc, Port& port);

// Delivers `k` to `port` whose slot is already reserved (msgcount counts it):
// to the first waiting receiver (the port's own, then its sets'), else at the
// tail of the queue. Destroys `k` if the port died meanwhile.
void mqueue_post(Ipc& ipc, Port& port, Kmsg* k);

// Removes the first queued message and gives it sequence number *seqno.
// Releases its slot (a blocked sender may be granted it).
Kmsg* mqueue_dequeue(Ipc& ipc, Port& port, mach_port_seqno_t* seqno);

// msgcount--; grants the slot to the first blocked sender if room appeared.
void mqueue_release_slot(Ipc& ipc, Port& port);

// mach_port_set_attributes(MACH_PORT_LIMITS_INFO): raising the limit lets
// as many blocked senders in as slots appeared.
void mqueue_set_qlimit(Ipc& ipc, Port& port, uint16_t qlimit);

// Wakes every thread blocked receiving on `port` with MACH_RCV_PORT_CHANGED.
void mqueue_changed(Ipc& ipc, Port& port);

// The port died: blocked senders complete with MACH_MSG_SUCCESS and their
// messages are destroyed, queued messages are destroyed, msgcount = 0.
void mqueue_destroy(Ipc& ipc, Port& port);

}  // namespace machd::ipc
