// machd/ipc/credit.cc — send credits: grant, post, revoke, close.
#include "credit.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "ipc.h"
#include "kmsg.h"
#include "mqueue.h"
#include "port.h"
#include "right.h"
#include "space.h"

namespace machd::ipc {

namespace {

void unlist(std::vector<Credit*>& list, Credit* c) {
  auto it = std::find(list.begin(), list.end(), c);
  if (it != list.end()) {
    *it = list.back();
    list.pop_back();
  }
}

// Gives back `n` reserved slots of `c` (the queue of a dead port is already
// empty: nothing to release there).
void release_slots(Ipc& ipc, Credit& c, uint32_t n) {
  c.reserved -= n;
  if (!c.port->active()) return;
  for (; n > 0; n--) mqueue_release_slot(ipc, *c.port);
}

// The credit is gone: unlisted, its send right dropped (may fire no-senders,
// may free the port), the daemon told.
void close_credit(Ipc& ipc, Credit* c) {
  const CreditId id = c->id;
  Port* port = c->port;
  unlist(port->aux->credits, c);  // listed at grant; the credit's reference keeps aux
  if (Task* t = ipc.task(c->task)) unlist(t->credits, c);
  const bool holds_right = c->holds_right;
  ipc.credits.erase(id);  // frees c
  if (holds_right) right_release(ipc, port, kPortSend);  // its own reference with it
  port_release(ipc, port);
  if (ipc.hooks) ipc.hooks->credit_closed(id);
}

void revoke(Ipc& ipc, Credit* c) {
  if (!c->revoked) {
    c->revoked = true;
    // Without hooks no client can take anything any more.
    const uint32_t unused = ipc.hooks ? ipc.hooks->credit_revoke(c->id) : c->reserved;
    // Every slot goes back, even those of messages the client took and has
    // not written yet: a client that never writes them must not hold room
    // in another task's queue. They are posted past the limit if need be
    // (credit_post), at most as many as the client had taken.
    c->in_flight = c->reserved - std::min(unused, c->reserved);
    release_slots(ipc, *c, c->reserved);
    // Those messages travel on a send right of the credit's own (the
    // sender's may be about to go), so no-senders waits for them.
    if (c->in_flight > 0 && c->port->active() && c->port->srights > 0) {
      right_copy_send(*c->port);
      c->holds_right = true;
    }
  }
  if (c->in_flight == 0) close_credit(ipc, c);  // a revoked credit reserves nothing
}

template <typename T>
T load(std::span<const uint8_t> b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

// The restricted shape a credited send may have (see Kernel::credit_post).
bool simple_shape(const Ipc& ipc, std::span<const uint8_t> msg) {
  const size_t size = msg.size();
  if (size < sizeof(mach_msg_header_t) || (size & 3) || size > ipc.max_msg_size) return false;
  const auto h = load<mach_msg_header_t>(msg, 0);
  return h.msgh_size == size && h.msgh_bits == MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) &&
         h.msgh_local_port == MACH_PORT_NULL && h.msgh_voucher_port == MACH_PORT_NULL;
}

}  // namespace

CreditGrant credit_grant(Ipc& ipc, Task& task, mach_port_name_t name, uint32_t want) {
  if (!ipc.hooks || want == 0) return {};
  Entry* e = task.space.lookup(name);
  if (!e || !(e->type() & MACH_PORT_TYPE_SEND)) return {};
  Port* p = e->port();
  if (!p->active() || p->receiver == ipc.kernel) return {};
  if (p->msgcount >= p->qlimit || p->qlimit - p->msgcount < 2) return {};
  const uint32_t n = std::min(want, (p->qlimit - p->msgcount) / 2u);

  auto owned = std::make_unique<Credit>();
  Credit* c = owned.get();
  c->id = ipc.next_credit++;
  c->task = task.id;
  c->name = name;
  c->port = p;
  p->refs++;  // a plain reference: while open, the sender's own entry holds the send right
  c->reserved = n;
  p->msgcount += n;
  p->ensure_aux().credits.push_back(c);
  task.credits.push_back(c);
  ipc.credits.emplace(c->id, std::move(owned));
  return CreditGrant{c->id, n};
}

mach_msg_return_t credit_post(Ipc& ipc, TaskId tid, CreditId id, std::span<const uint8_t> msg) {
  auto it = ipc.credits.find(id);
  Task* task = ipc.task(tid);
  if (it == ipc.credits.end() || !task) return MACH_SEND_INVALID_DEST;
  Credit* c = it->second.get();
  if (c->task != tid || (c->revoked ? c->in_flight : c->reserved) == 0) return MACH_SEND_INVALID_DEST;
  if (msg.size() > ipc.max_msg_size) return MACH_SEND_INVALID_HEADER;

  // Copied once (msg may be memory the sender can still change), then only
  // the copy is looked at. A pooled message reuses its buffer.
  Kmsg* k = ipc.new_kmsg();
  k->bytes.assign(msg.begin(), msg.end());
  mach_msg_return_t bad = MACH_MSG_SUCCESS;
  if (!simple_shape(ipc, k->bytes)) bad = MACH_SEND_INVALID_HEADER;
  else if (load<mach_msg_header_t>(k->bytes, 0).msgh_remote_port != c->name) bad = MACH_SEND_INVALID_DEST;
  if (bad != MACH_MSG_SUCCESS) {
    ipc.free_kmsg(k);
    return bad;
  }

  // As kmsg_copyin for this shape: the destination is a send right in
  // flight to the credit's port, no reply.
  k->sender = sender_for(ipc, *task, c->port);
  k->bits = MACH_MSGH_BITS(kPortSend, 0);
  k->dest = right_copy_send(*c->port);
  auto h = load<mach_msg_header_t>(k->bytes, 0);
  h.msgh_bits = k->bits;
  std::memcpy(k->bytes.data(), &h, sizeof h);

  Port& port = *c->port;
  if (c->revoked) {
    // Taken before the revocation, whose slots all went back: it gets a
    // slot of its own now (past the limit if the queue filled meanwhile).
    if (port.active()) port.msgcount++;
    if (--c->in_flight == 0) close_credit(ipc, c);  // k holds its own right
  } else {
    c->reserved--;  // its slot is reserved
  }
  mqueue_post(ipc, port, k);  // a dead port destroys k
  return MACH_MSG_SUCCESS;
}

void credit_revoke_port(Ipc& ipc, Port& port) {
  if (!port.aux || port.aux->credits.empty()) return;
  const std::vector<Credit*> list = port.aux->credits;  // revoking unlists
  for (Credit* c : list) revoke(ipc, c);
}

void credit_revoke_one(Ipc& ipc, CreditId id) {
  auto it = ipc.credits.find(id);
  if (it != ipc.credits.end()) revoke(ipc, it->second.get());
}

void credit_revoke_task(Ipc& ipc, Task& task) {
  if (task.credits.empty()) return;
  const std::vector<Credit*> list = task.credits;
  for (Credit* c : list) revoke(ipc, c);
}

void credit_drop_task(Ipc& ipc, Task& task) {
  while (!task.credits.empty()) {
    Credit* c = task.credits.back();
    release_slots(ipc, *c, c->reserved);
    close_credit(ipc, c);
  }
}

uint32_t credit_reserved(const Port& port) {
  uint32_t n = 0;
  if (port.aux)
    for (const Credit* c : port.aux->credits) n += c->reserved;
  return n;
}

}  // namespace machd::ipc
