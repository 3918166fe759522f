// machd/ipc/msg_send.cc — the mach_msg trap and its send half
// (XNU mach_msg_overwrite_trap / mach_msg_send / ipc_kmsg_send).
#include "ipc.h"
#include "kmsg.h"
#include "mqueue.h"
#include "msg.h"
#include "port.h"
#include "voucher.h"

namespace machd::ipc {

namespace {

MsgOutcome done(Completion&& c) {
  MsgOutcome o;
  o.blocked = false;
  o.done = std::move(c);
  return o;
}

// The message could not be sent after copyin: it goes back to the sender.
Completion return_to_sender(Ipc& ipc, Task& task, Kmsg* k, mach_msg_return_t mr, uint64_t msg_addr) {
  Completion c = kmsg_copyout_pseudo(ipc, task, k, msg_addr);
  c.result |= mr;
  return c;
}

}  // namespace

MsgOutcome msg_trap(Ipc& ipc, Task* task, WaiterId wid, MsgArgs&& args) {
  const mach_msg_option_t options = args.options;
  if (!task) {
    return done(result_only((options & MACH_SEND_MSG) ? MACH_SEND_INVALID_DEST
                                                      : MACH_RCV_INVALID_NAME));
  }
  if (ipc.waiters.count(wid)) {
    // The caller reused the id of a thread that is still blocked.
    return done(result_only((options & MACH_SEND_MSG) ? MACH_SEND_INVALID_OPTIONS
                                                      : MACH_RCV_INVALID_ARGUMENTS));
  }

  if (options & MACH_SEND_MSG) {
    if (!args.send) return done(result_only(MACH_SEND_MSG_TOO_SMALL));
    const size_t size = args.send->msg.size();
    if (size < sizeof(mach_msg_header_t) || (size & 3)) return done(result_only(MACH_SEND_MSG_TOO_SMALL));
    if (size > ipc.max_msg_size) return done(result_only(MACH_SEND_TOO_LARGE));

    Kmsg* k = nullptr;
    mach_msg_return_t mr = kmsg_copyin(ipc, *task, std::move(*args.send), options, &k);
    if (mr != MACH_MSG_SUCCESS) return done(result_only(mr));
    // XNU ipc_kmsg_send: the voucher's managers may re-make it for the sender.
    if (k->voucher && task->id != ipc.kernel) k->voucher = voucher_send_preprocess(ipc, *task, k->voucher);

    switch (mqueue_send(ipc, k, options, args.timeout, task->id == ipc.kernel)) {
      case SendStatus::kAccepted:
        break;
      case SendStatus::kTimedOut:
        return done(return_to_sender(ipc, *task, k, MACH_SEND_TIMED_OUT, args.msg_addr));
      case SendStatus::kNoBuffer:
        return done(return_to_sender(ipc, *task, k, MACH_SEND_NO_BUFFER, args.msg_addr));
      case SendStatus::kMustWait: {
        Waiter* w = waiter_new(ipc, wid, task->id);
        w->phase = Waiter::Phase::kSend;
        w->options = options;
        w->timeout = args.timeout;
        w->kmsg = k;
        w->wants_receive = (options & MACH_RCV_MSG) != 0;
        w->rcv_name = args.rcv_name;
        w->rcv_size = args.rcv_size;
        w->msg_addr = args.msg_addr;
        w->rcv_addr = args.rcv_addr;
        k->dest->ensure_aux().senders.push_back(w);
        if (options & MACH_SEND_TIMEOUT) waiter_set_deadline(ipc, *w, args.timeout);
        MsgOutcome o;
        o.blocked = true;
        return o;
      }
    }
  }

  if (options & MACH_RCV_MSG) {
    return receive_half(ipc, *task, wid, nullptr, options, args.rcv_name, args.rcv_size,
                        args.timeout, args.rcv_addr);
  }
  return done(result_only(MACH_MSG_SUCCESS));
}

void msg_send_done(Ipc& ipc, Waiter* w) {
  if (w->list) w->list->remove(w);
  waiter_clear_deadline(ipc, *w);
  w->granted = false;
  if (w->wants_receive) {
    w->phase = Waiter::Phase::kReceive;
    ipc.defer(Work{Work::Kind::kResumeReceive, nullptr, nullptr, w->id});
  } else {
    waiter_finish(ipc, w, result_only(MACH_MSG_SUCCESS));
  }
}

void msg_send_failed(Ipc& ipc, Waiter* w, mach_msg_return_t mr) {
  if (w->list) w->list->remove(w);
  Kmsg* k = w->kmsg;
  w->kmsg = nullptr;
  Task* task = ipc.task(w->task);
  if (k && task) {
    waiter_finish(ipc, w, return_to_sender(ipc, *task, k, mr, w->msg_addr));
  } else {
    if (k) ipc.defer_destroy(k);
    waiter_finish(ipc, w, result_only(mr));
  }
}

void msg_sender_granted(Ipc& ipc, WaiterId id) {
  auto it = ipc.waiters.find(id);
  if (it == ipc.waiters.end()) return;
  Waiter* w = it->second.get();
  if (!w->granted || !w->kmsg) return;
  Kmsg* k = w->kmsg;
  w->kmsg = nullptr;
  w->granted = false;
  mqueue_post(ipc, *k->dest, k);  // the slot was reserved when granted
  msg_send_done(ipc, w);
}

}  // namespace machd::ipc
