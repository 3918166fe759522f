// machd/ipc/ipc.cc — the deferred-work loop.
#include "ipc.h"

#include "kmsg.h"
#include "mqueue.h"
#include "msg.h"
#include "port.h"
#include "voucher.h"

namespace machd::ipc {

Ipc::Ipc() = default;
Ipc::~Ipc() = default;

namespace {

// A kernel-generated message (notification): never waits for room.
void deliver(Ipc& ipc, Kmsg* k) {
  if (mqueue_send(ipc, k, MACH_SEND_TIMEOUT, 0) != SendStatus::kAccepted) kmsg_destroy_now(ipc, k);
}

}  // namespace

void drain(Ipc& ipc) {
  if (ipc.draining) return;
  ipc.draining = true;
  while (!ipc.work.empty()) {
    Work w = ipc.work.front();
    ipc.work.pop_front();
    switch (w.kind) {
      case Work::Kind::kDeliver: deliver(ipc, w.kmsg); break;
      case Work::Kind::kDestroyMsg: kmsg_destroy_now(ipc, w.kmsg); break;
      case Work::Kind::kDestroyPort: port_destroy(ipc, w.port); break;
      case Work::Kind::kSenderGranted: msg_sender_granted(ipc, w.waiter); break;
      case Work::Kind::kResumeReceive: msg_resume_receive(ipc, w.waiter); break;
      case Work::Kind::kVoucherNoSenders: voucher_no_senders(ipc, w.port); break;
    }
  }
  ipc.draining = false;
}

}  // namespace machd::ipc
