// machd/ipc/notify.cc — notification messages and requests.
#include "notify.h"

#include <mach/ndr.h>
#include <mach/notify.h>

#include <cstring>

#include "ipc.h"
#include "kmsg.h"
#include "port.h"
#include "right.h"

namespace machd::ipc {

namespace {

// NDR_record for this machine (little-endian, ASCII, IEEE), as MIG and the
// XNU notification code put it after the header.
constexpr NDR_record_t kNdr = {0, 0, 0, 0, NDR_INT_LITTLE_ENDIAN, NDR_CHAR_ASCII,
                               NDR_FLOAT_IEEE, 0};

// A kernel message of `size` bytes to the send-once right `so` (consumed).
Kmsg* new_notification(Ipc& ipc, Port* so, mach_msg_id_t id, size_t size) {
  Kmsg* k = ipc.new_kmsg();
  k->bytes.assign(size, 0);
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(kPortSendOnce, 0);
  h.msgh_size = static_cast<mach_msg_size_t>(size);
  h.msgh_id = id;
  std::memcpy(k->bytes.data(), &h, sizeof h);
  k->bits = h.msgh_bits;
  k->dest = so;
  return k;  // sender identity: the kernel (SenderId defaults)
}

// id + NDR + one 32-bit word (name or count): the 36-byte layouts.
void notify_word(Ipc& ipc, Port* so, mach_msg_id_t id, uint32_t word) {
  if (!port_valid(so)) return;
  static_assert(sizeof(mach_dead_name_notification_t) - sizeof(mach_msg_format_0_trailer_t) == 36);
  Kmsg* k = new_notification(ipc, so, id, 36);
  std::memcpy(k->bytes.data() + sizeof(mach_msg_header_t), &kNdr, sizeof kNdr);
  std::memcpy(k->bytes.data() + sizeof(mach_msg_header_t) + sizeof(NDR_record_t), &word, 4);
  ipc.defer_deliver(k);
}

}  // namespace

void notify_port_deleted(Ipc& ipc, Port* so, mach_port_name_t name) {
  notify_word(ipc, so, MACH_NOTIFY_PORT_DELETED, name);
}

void notify_send_possible(Ipc& ipc, Port* so, mach_port_name_t name) {
  notify_word(ipc, so, MACH_NOTIFY_SEND_POSSIBLE, name);
}

void notify_dead_name(Ipc& ipc, Port* so, mach_port_name_t name) {
  notify_word(ipc, so, MACH_NOTIFY_DEAD_NAME, name);
}

void notify_no_senders(Ipc& ipc, Port* so, mach_port_mscount_t mscount) {
  notify_word(ipc, so, MACH_NOTIFY_NO_SENDERS, mscount);
}

void notify_send_once(Ipc& ipc, Port* so) {
  if (!port_valid(so)) return;
  static_assert(sizeof(mach_send_once_notification_t) - sizeof(mach_msg_format_0_trailer_t) == 24);
  Kmsg* k = new_notification(ipc, so, MACH_NOTIFY_SEND_ONCE, sizeof(mach_msg_header_t));
  ipc.defer_deliver(k);
}

void notify_port_destroyed(Ipc& ipc, Port* so, Port* receive) {
  if (!port_valid(so)) {
    right_release(ipc, receive, kPortReceive);
    return;
  }
  constexpr size_t kSize = sizeof(mach_msg_header_t) + sizeof(mach_msg_body_t) +
                           sizeof(mach_msg_port_descriptor_t);
  static_assert(sizeof(mach_port_destroyed_notification_t) - sizeof(mach_msg_format_0_trailer_t) ==
                kSize);
  Kmsg* k = new_notification(ipc, so, MACH_NOTIFY_PORT_DESTROYED, kSize);
  k->bits |= MACH_MSGH_BITS_COMPLEX;
  mach_msg_header_t h;
  std::memcpy(&h, k->bytes.data(), sizeof h);
  h.msgh_bits = k->bits;
  std::memcpy(k->bytes.data(), &h, sizeof h);
  mach_msg_body_t body{1};
  std::memcpy(k->bytes.data() + sizeof h, &body, sizeof body);
  mach_msg_port_descriptor_t d{};
  d.disposition = kPortReceive;
  d.type = MACH_MSG_PORT_DESCRIPTOR;
  const uint32_t off = sizeof h + sizeof body;
  std::memcpy(k->bytes.data() + off, &d, sizeof d);
  KDesc kd;
  kd.offset = off;
  kd.type = MACH_MSG_PORT_DESCRIPTOR;
  kd.right_type = kPortReceive;
  kd.port = receive;
  k->descs.push_back(std::move(kd));
  k->circular = port_check_circularity(receive, so);
  ipc.defer_deliver(k);
}

// ---- requests ---------------------------------------------------------------

uint32_t request_alloc(Port& port, TaskId task, mach_port_name_t name, Port* notify,
                       bool send_possible, bool armed) {
  PortAux& aux = port.ensure_aux();
  uint32_t index;
  if (aux.free_request != 0) {
    index = aux.free_request;
    aux.free_request = aux.requests[index - 1].next_free;
  } else {
    aux.requests.emplace_back();
    index = static_cast<uint32_t>(aux.requests.size());
  }
  PortRequest& r = aux.requests[index - 1];
  r = PortRequest{};
  r.task = task;
  r.name = name;
  r.notify = notify;
  r.send_possible = send_possible;
  r.sp_armed = armed;
  if (armed) port.flags |= Port::kSpRequests;
  return index;
}

Port* request_cancel(Port& port, uint32_t index) {
  if (!port.aux || index == 0 || index > port.aux->requests.size()) return nullptr;
  PortRequest& r = port.aux->requests[index - 1];
  Port* so = r.notify;
  r = PortRequest{};
  r.next_free = port.aux->free_request;
  port.aux->free_request = index;
  return so;
}

bool request_dead_fired(const Port& port, uint32_t index) {
  if (!port.aux || index == 0 || index > port.aux->requests.size()) return false;
  return port.aux->requests[index - 1].dead_fired;
}

mach_port_type_t request_type(const Port& port, uint32_t index) {
  if (!port.aux || index == 0 || index > port.aux->requests.size()) return 0;
  const PortRequest& r = port.aux->requests[index - 1];
  if (!port_valid(r.notify)) return 0;
  mach_port_type_t t = MACH_PORT_TYPE_DNREQUEST;
  if (r.send_possible) {
    t |= MACH_PORT_TYPE_SPREQUEST;
    if (!r.sp_armed) t |= MACH_PORT_TYPE_SPREQUEST_DELAYED;
  }
  return t;
}

void request_sparm(Port& port, uint32_t index) {
  if (!port.aux || index == 0 || index > port.aux->requests.size()) return;
  PortRequest& r = port.aux->requests[index - 1];
  if (r.send_possible && port_valid(r.notify)) {
    r.sp_armed = true;
    port.flags |= Port::kSpRequests;
  }
}

uint32_t request_table_size(const Port& port) {
  return port.aux ? static_cast<uint32_t>(port.aux->requests.size()) : 0;
}

void port_dnnotify(Ipc& ipc, Port& port) {
  if (!port.aux) return;
  for (PortRequest& r : port.aux->requests) {
    if (!port_valid(r.notify)) continue;
    Port* so = r.notify;
    r.notify = nullptr;
    r.dead_fired = true;
    notify_dead_name(ipc, so, r.name);
  }
}

void port_spnotify(Ipc& ipc, Port& port) {
  if (!(port.flags & Port::kSpRequests) || !port.aux) return;
  port.flags &= ~Port::kSpRequests;
  for (PortRequest& r : port.aux->requests) {
    if (!r.sp_armed || !port_valid(r.notify)) continue;
    Port* so = r.notify;
    r.notify = nullptr;
    r.sp_armed = false;
    notify_send_possible(ipc, so, r.name);
  }
}

}  // namespace machd::ipc
