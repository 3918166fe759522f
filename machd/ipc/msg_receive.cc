// machd/ipc/msg_receive.cc — the receive half of mach_msg
// (XNU ipc_mqueue_receive / select / mach_msg_receive_results).
#include <cstring>

#include "ipc.h"
#include "kmsg.h"
#include "lane.h"
#include "mqueue.h"
#include "msg.h"
#include "port.h"
#include "port_set.h"
#include "right.h"
#include "space.h"

namespace machd::ipc {

namespace {

// MACH_RCV_TOO_LARGE with MACH_RCV_LARGE: the message stays queued; only the
// needed size (and with MACH_RCV_LARGE_IDENTITY the port's name) is reported.
Completion too_large_size_only(mach_msg_size_t msg_size, mach_port_name_t port_name,
                               mach_msg_option_t options, mach_msg_size_t rcv_size) {
  Completion c;
  c.result = MACH_RCV_TOO_LARGE;
  if (rcv_size >= offsetof(mach_msg_header_t, msgh_voucher_port)) {
    mach_msg_header_t h{};
    h.msgh_size = msg_size;
    if (options & MACH_RCV_LARGE_IDENTITY) h.msgh_local_port = port_name;
    c.msg.resize(sizeof h);
    std::memcpy(c.msg.data(), &h, sizeof h);
  }
  return c;
}

// Takes the first message of `from` for a receiver of `task`.
Completion receive_from(Ipc& ipc, Task& task, Port& from, mach_msg_option_t options,
                        mach_msg_size_t rcv_size, uint64_t rcv_addr) {
  const Kmsg* first = from.head;
  const uint64_t need = uint64_t{first->size()} + trailer_size(options);
  if (need > rcv_size && (options & MACH_RCV_LARGE))
    return too_large_size_only(first->size(), from.receiver_name, options, rcv_size);
  mach_port_seqno_t seqno = 0;
  Kmsg* k = mqueue_dequeue(ipc, from, &seqno);
  if (need > rcv_size)
    return kmsg_receive_error(ipc, task, k, from, seqno, options, rcv_size, MACH_RCV_TOO_LARGE);
  return kmsg_copyout(ipc, task, k, from, seqno, options, rcv_addr);
}

}  // namespace

MsgOutcome receive_half(Ipc& ipc, Task& task, WaiterId id, Waiter* w, mach_msg_option_t options,
                        mach_port_name_t rcv_name, mach_msg_size_t rcv_size,
                        mach_msg_timeout_t timeout, uint64_t rcv_addr) {
  auto finish = [&](Completion&& c) {
    MsgOutcome o;
    if (w) {
      waiter_finish(ipc, w, std::move(c));
      o.blocked = true;  // reported through take_completions()
    } else {
      o.done = std::move(c);
    }
    return o;
  };

  Port* port = nullptr;
  PortSet* set = nullptr;
  Entry* e = task.space.lookup(rcv_name);
  if (e && (e->type() & MACH_PORT_TYPE_RECEIVE)) port = e->port();
  else if (e && (e->type() & MACH_PORT_TYPE_PORT_SET)) set = e->pset();
  // Anything but a receive right or a port set, a dead name included, is
  // MACH_RCV_INVALID_NAME (XNU ipc_mqueue_copyin).
  if (!port && !set) return finish(result_only(MACH_RCV_INVALID_NAME));

  // Messages lent to a receive lane are settled first; the lane closes.
  // (A port in a set never has one: joining a set closes it.)
  if (port) lane_reclaim(ipc, *port, true);
  Port* from = port ? (port->has_messages() ? port : nullptr) : pset_select(*set);
  if (from) return finish(receive_from(ipc, task, *from, options, rcv_size, rcv_addr));
  if ((options & MACH_RCV_TIMEOUT) && timeout == 0) return finish(result_only(MACH_RCV_TIMED_OUT));

  if (!w) w = waiter_new(ipc, id, task.id);
  w->phase = Waiter::Phase::kReceive;
  w->options = options;
  w->timeout = timeout;
  w->rcv_name = rcv_name;
  w->rcv_size = rcv_size;
  w->rcv_addr = rcv_addr;
  w->rcv_port = port;
  w->rcv_set = set;
  if (port) port->ensure_aux().receivers.push_back(w);
  else set->receivers.push_back(w);
  if (options & MACH_RCV_TIMEOUT) waiter_set_deadline(ipc, *w, timeout);
  MsgOutcome o;
  o.blocked = true;
  return o;
}

bool receive_offer(Ipc& ipc, Waiter* w, Port& from, Kmsg* k) {
  const uint64_t need = uint64_t{k->size()} + trailer_size(w->options);
  Task* task = ipc.task(w->task);
  if (!task) return false;
  if (need > w->rcv_size && (w->options & MACH_RCV_LARGE)) {
    // Let this receiver go with the size; offer the message to the next.
    waiter_finish(ipc, w,
                  too_large_size_only(k->size(), from.receiver_name, w->options, w->rcv_size));
    return false;
  }
  const mach_msg_option_t options = w->options;
  const mach_msg_size_t rcv_size = w->rcv_size;
  if (w->list) w->list->remove(w);
  mach_port_seqno_t seqno = from.seqno++;
  mqueue_release_slot(ipc, from);  // the reserved slot is not needed
  Completion c = need > rcv_size
                     ? kmsg_receive_error(ipc, *task, k, from, seqno, options, rcv_size,
                                          MACH_RCV_TOO_LARGE)
                     : kmsg_copyout(ipc, *task, k, from, seqno, options, w->rcv_addr);
  waiter_finish(ipc, w, std::move(c));
  return true;
}

void msg_resume_receive(Ipc& ipc, WaiterId id) {
  auto it = ipc.waiters.find(id);
  if (it == ipc.waiters.end()) return;
  Waiter* w = it->second.get();
  Task* task = ipc.task(w->task);
  if (!task) {
    waiter_drop(ipc, w);
    return;
  }
  receive_half(ipc, *task, id, w, w->options, w->rcv_name, w->rcv_size, w->timeout, w->rcv_addr);
}

}  // namespace machd::ipc
