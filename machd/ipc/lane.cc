// machd/ipc/lane.cc — lending queued messages to a receive lane, settling
// what the receiver consumed, closing lanes.
#include "lane.h"

#include <algorithm>
#include <cstring>

#include "ipc.h"
#include "kmsg.h"
#include "mqueue.h"
#include "notify.h"
#include "port.h"
#include "space.h"

namespace machd::ipc {

namespace {

constexpr uint32_t kMaxTrailer = sizeof(mach_msg_max_trailer_t);

// Receives the first `n` (<= lent) messages of `port` as mach_msg would
// have, in order: dequeued with the next seqno (its slot released: blocked
// senders may be granted), armed send-possible requests fired, the
// destination send right consumed (no-senders may fire). Lent messages carry
// nothing else (no reply, no descriptors), so they are freed at once.
void settle(Ipc& ipc, Port& port, uint32_t n) {
  PortAux& aux = *port.aux;
  n = std::min(n, aux.lent);
  aux.lent -= n;
  for (; n > 0; n--) {
    mach_port_seqno_t seqno = 0;
    Kmsg* k = mqueue_dequeue(ipc, port, &seqno);
    port_spnotify(ipc, port);
    kmsg_destroy_now(ipc, k);
  }
}

void drop_lane(Ipc& ipc, Port& port) {
  ipc.lanes.erase(port.aux->lane);
  port.aux->lane = 0;
  port.aux->lent = 0;
}

bool port_can_lend(const Ipc& ipc, const Port& port, LaneId lane) {
  if (!port.active() || (port.flags & Port::kSpRequests)) return false;
  if (port.aux) {
    const PortAux& aux = *port.aux;
    if (!aux.sets.empty() || !aux.receivers.empty() || aux.nsrequest) return false;
    if (aux.lane != 0) return aux.lane == lane;
  }
  return ipc.lanes.find(lane) == ipc.lanes.end();  // not another port's lane
}

// Lent messages carry no voucher bits: what a receive shows of a voucher
// depends on MACH_RCV_VOUCHER, which the image cannot know.
bool msg_can_lend(const Kmsg& k, uint32_t max_image) {
  return k.descs.empty() && !(k.bits & MACH_MSGH_BITS_COMPLEX) && k.reply == nullptr &&
         k.voucher_type() == 0 && k.dest_type() == kPortSend &&
         uint64_t{round_msg(k.size())} + kMaxTrailer <= max_image;
}

// The bytes a receive of `k` (the `index`-th message of `port`'s queue)
// would write: the header as kmsg_copyout swaps it, the body, and a full
// trailer at round_msg(size).
void image_of(const Port& port, const Kmsg& k, uint32_t index, std::vector<uint8_t>& img) {
  img.assign(k.bytes.begin(), k.bytes.end());
  mach_msg_header_t h;
  std::memcpy(&h, img.data(), sizeof h);
  h.msgh_bits = MACH_MSGH_BITS_SET(0, kPortSend, 0, k.bits);
  h.msgh_size = k.size();
  h.msgh_remote_port = MACH_PORT_NULL;
  h.msgh_local_port = port.receiver_name;  // msgh_voucher_port: the sender's field, as a receive gives it
  std::memcpy(img.data(), &h, sizeof h);
  append_trailer(img, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AV), port.seqno + index, k.sender,
                 port.context);
}

}  // namespace

void lane_reclaim(Ipc& ipc, Port& port, bool close) {
  if (!port.aux || port.aux->lane == 0) return;
  const uint32_t n = ipc.hooks ? ipc.hooks->lane_reclaim(port.aux->lane, close) : 0;
  settle(ipc, port, n);
  if (close) drop_lane(ipc, port);
}

void lane_close_task(Ipc& ipc, TaskId task) {
  std::vector<Port*> mine;
  for (const auto& [lane, port] : ipc.lanes)
    if (port->receiver == task) mine.push_back(port);
  for (Port* p : mine) lane_reclaim(ipc, *p, true);
}

uint32_t lane_lend(Ipc& ipc, Task& task, mach_port_name_t name, LaneId lane, uint32_t max,
                   uint32_t max_image, std::vector<std::vector<uint8_t>>& out, bool* senders_blocked) {
  if (!ipc.hooks || lane == 0) return 0;
  Entry* e = task.space.lookup(name);
  if (!e || !(e->type() & MACH_PORT_TYPE_RECEIVE)) return 0;
  Port& port = *e->port();
  if (!port.has_messages() || !port_can_lend(ipc, port, lane)) return 0;
  const uint32_t already = port.aux ? port.aux->lent : 0;
  const Kmsg* k = port.head;
  for (uint32_t i = 0; k && i < already; i++) k = k->next;
  uint32_t lent = 0;
  for (; k && lent < max && msg_can_lend(*k, max_image); k = k->next, lent++) {
    if (out.size() <= lent) out.emplace_back();
    image_of(port, *k, already + lent, out[lent]);
  }
  if (lent == 0) return 0;  // a port takes a lane only with something lent
  PortAux& aux = port.ensure_aux();
  if (senders_blocked) *senders_blocked = !aux.senders.empty();
  if (aux.lane == 0) {
    aux.lane = lane;
    ipc.lanes.emplace(lane, &port);
  }
  aux.lent += lent;
  return lent;
}

void lane_settle(Ipc& ipc, LaneId lane, uint32_t consumed, bool close) {
  auto it = ipc.lanes.find(lane);
  if (it == ipc.lanes.end()) return;
  Port& port = *it->second;
  settle(ipc, port, consumed);
  if (close) drop_lane(ipc, port);
}

}  // namespace machd::ipc
