// machd/ipc/mach_port_attr.cc — attributes, make-send count, sequence
// number, context, guards, send-right count, peek.
#include <cstring>

#include "credit.h"
#include "ipc.h"
#include "kmsg.h"
#include "lane.h"
#include "mach_port.h"
#include "mqueue.h"
#include "notify.h"
#include "port.h"
#include "space.h"

namespace machd::ipc {

namespace {

// The receive right `name` of `task`, with its receive lane (if any) settled
// and closed: the caller is about to look at or change the queue, the seqno
// or the context.
kern_return_t translate_receive_settled(Ipc& ipc, Task& task, mach_port_name_t name, Port** out) {
  kern_return_t kr = translate_receive(task.space, name, out);
  if (kr == KERN_SUCCESS) lane_reclaim(ipc, **out, true);
  return kr;
}

void status_of(const Port& p, mach_port_status_t* s) {
  *s = mach_port_status_t{};
  s->mps_pset = p.aux ? static_cast<mach_port_rights_t>(p.aux->sets.size()) : 0;
  s->mps_seqno = p.seqno;
  s->mps_mscount = p.mscount;
  s->mps_qlimit = p.qlimit;
  const uint32_t reserved = credit_reserved(p);
  s->mps_msgcount = p.msgcount > reserved ? p.msgcount - reserved : 0;
  s->mps_sorights = p.sorights;
  s->mps_srights = p.srights > 0;
  s->mps_pdrequest = p.aux && p.aux->pdrequest != nullptr;
  s->mps_nsrequest = p.aux && p.aux->nsrequest != nullptr;
  s->mps_flags = 0;
  if (p.flags & Port::kGuarded) {
    s->mps_flags |= MACH_PORT_STATUS_FLAG_GUARDED;
    if (p.flags & Port::kStrictGuard) s->mps_flags |= MACH_PORT_STATUS_FLAG_STRICT_GUARD;
    if (p.flags & Port::kImmovableReceive)
      s->mps_flags |= MACH_PORT_STATUS_FLAG_GUARD_IMMOVABLE_RECEIVE;
  }
}

}  // namespace

kern_return_t mp_get_attributes(Ipc& ipc, Task& task, mach_port_name_t name, int flavor,
                                integer_t* info, mach_msg_type_number_t* count) {
  Port* p = nullptr;
  kern_return_t kr;
  switch (flavor) {
    case MACH_PORT_LIMITS_INFO: {
      if (*count < MACH_PORT_LIMITS_INFO_COUNT) return KERN_FAILURE;
      if (!MACH_PORT_VALID(name)) {
        *count = 0;
        return KERN_SUCCESS;
      }
      if ((kr = translate_receive(task.space, name, &p)) != KERN_SUCCESS) return kr;
      mach_port_limits_t l{p->qlimit};
      std::memcpy(info, &l, sizeof l);
      *count = MACH_PORT_LIMITS_INFO_COUNT;
      return KERN_SUCCESS;
    }
    case MACH_PORT_RECEIVE_STATUS: {
      if (*count < MACH_PORT_RECEIVE_STATUS_COUNT) return KERN_FAILURE;
      if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
      if ((kr = translate_receive_settled(ipc, task, name, &p)) != KERN_SUCCESS) return kr;
      mach_port_status_t s;
      status_of(*p, &s);
      std::memcpy(info, &s, sizeof s);
      *count = MACH_PORT_RECEIVE_STATUS_COUNT;
      return KERN_SUCCESS;
    }
    case MACH_PORT_DNREQUESTS_SIZE: {
      if (*count < MACH_PORT_DNREQUESTS_SIZE_COUNT) return KERN_FAILURE;
      if (!MACH_PORT_VALID(name)) {
        info[0] = 0;
        return KERN_SUCCESS;
      }
      if ((kr = translate_receive(task.space, name, &p)) != KERN_SUCCESS) return kr;
      info[0] = static_cast<integer_t>(request_table_size(*p));
      *count = MACH_PORT_DNREQUESTS_SIZE_COUNT;
      return KERN_SUCCESS;
    }
    case MACH_PORT_INFO_EXT: {
      if (*count < MACH_PORT_INFO_EXT_COUNT) return KERN_FAILURE;
      if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
      if ((kr = translate_receive_settled(ipc, task, name, &p)) != KERN_SUCCESS) return kr;
      mach_port_info_ext_t x{};
      status_of(*p, &x.mpie_status);
      std::memcpy(info, &x, sizeof x);
      *count = MACH_PORT_INFO_EXT_COUNT;
      return KERN_SUCCESS;
    }
    case MACH_PORT_GUARD_INFO: {
      if (*count < MACH_PORT_GUARD_INFO_COUNT) return KERN_FAILURE;
      if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
      if ((kr = translate_receive(task.space, name, &p)) != KERN_SUCCESS) return kr;
      mach_port_guard_info_t g{(p->flags & Port::kGuarded) ? p->context : 0};
      std::memcpy(info, &g, sizeof g);
      *count = MACH_PORT_GUARD_INFO_COUNT;
      return KERN_SUCCESS;
    }
    default:
      return KERN_INVALID_ARGUMENT;
  }
}

kern_return_t mp_set_attributes(Ipc& ipc, Task& task, mach_port_name_t name, int flavor,
                                const integer_t* info, mach_msg_type_number_t count) {
  Port* p = nullptr;
  kern_return_t kr;
  switch (flavor) {
    case MACH_PORT_LIMITS_INFO: {
      if (count < MACH_PORT_LIMITS_INFO_COUNT) return KERN_FAILURE;
      mach_port_limits_t l;
      std::memcpy(&l, info, sizeof l);
      if (l.mpl_qlimit > MACH_PORT_QLIMIT_MAX) return KERN_INVALID_VALUE;
      if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
      if ((kr = translate_receive(task.space, name, &p)) != KERN_SUCCESS) return kr;
      mqueue_set_qlimit(ipc, *p, static_cast<uint16_t>(l.mpl_qlimit));
      return KERN_SUCCESS;
    }
    case MACH_PORT_DNREQUESTS_SIZE: {
      if (count < MACH_PORT_DNREQUESTS_SIZE_COUNT) return KERN_FAILURE;
      if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
      if ((kr = translate_receive(task.space, name, &p)) != KERN_SUCCESS) return kr;
      return KERN_SUCCESS;  // the request table grows on demand
    }
    case MACH_PORT_TEMPOWNER:
    case MACH_PORT_IMPORTANCE_RECEIVER:
    case MACH_PORT_DENAP_RECEIVER: {
      if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
      return translate_receive(task.space, name, &p);  // importance: accepted, no effect
    }
    default:
      return KERN_INVALID_ARGUMENT;
  }
}

kern_return_t mp_set_mscount(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_mscount_t mscount) {
  (void)ipc;
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
  Port* p = nullptr;
  kern_return_t kr = translate_receive(task.space, name, &p);
  if (kr == KERN_SUCCESS) p->mscount = mscount;
  return kr;
}

kern_return_t mp_set_seqno(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_seqno_t seqno) {
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
  Port* p = nullptr;
  kern_return_t kr = translate_receive_settled(ipc, task, name, &p);
  if (kr == KERN_SUCCESS) p->seqno = seqno;
  return kr;
}

kern_return_t mp_get_context(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_context_t* ctx) {
  (void)ipc;
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
  Port* p = nullptr;
  kern_return_t kr = translate_receive(task.space, name, &p);
  if (kr != KERN_SUCCESS) return kr;
  // A strict guard is not revealed.
  *ctx = (p->flags & Port::kStrictGuard) ? 0 : p->context;
  return KERN_SUCCESS;
}

kern_return_t mp_set_context(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_context_t ctx) {
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
  Port* p = nullptr;
  kern_return_t kr = translate_receive_settled(ipc, task, name, &p);
  if (kr != KERN_SUCCESS) return kr;
  if (p->flags & Port::kStrictGuard) return KERN_INVALID_ARGUMENT;  // XNU: EXC_GUARD + this code
  p->context = ctx;
  return KERN_SUCCESS;
}

kern_return_t mp_guard(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_context_t guard,
                       bool strict, bool immovable_receive) {
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_NAME;
  Port* p = nullptr;
  kern_return_t kr = translate_receive_settled(ipc, task, name, &p);
  if (kr != KERN_SUCCESS) return kr;
  if (p->context != 0) return KERN_INVALID_ARGUMENT;  // already guarded or has a context
  p->context = guard;
  p->flags |= Port::kGuarded;
  if (strict) p->flags |= Port::kStrictGuard;
  // XNU mach_port_guard_locked: MPG_IMMOVABLE_RECEIVE pins the receive right.
  if (immovable_receive) p->flags |= Port::kImmovableReceive;
  return KERN_SUCCESS;
}

kern_return_t mp_unguard(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_context_t guard) {
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_NAME;
  Port* p = nullptr;
  kern_return_t kr = translate_receive_settled(ipc, task, name, &p);
  if (kr != KERN_SUCCESS) return kr;
  // XNU also raises EXC_GUARD (kGUARD_EXC_UNGUARDED / INCORRECT_GUARD).
  if (!(p->flags & Port::kGuarded)) return KERN_INVALID_ARGUMENT;
  if (p->context != guard) return KERN_INVALID_ARGUMENT;
  p->context = 0;
  // XNU mach_port_unguard_locked: unguarding also makes the right movable.
  p->flags &= ~(Port::kGuarded | Port::kStrictGuard | Port::kImmovableReceive);
  return KERN_SUCCESS;
}

kern_return_t mp_get_srights(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_rights_t* srights) {
  // MACH_PORT_NULL and MACH_PORT_DEAD name no entry: KERN_INVALID_NAME, as
  // XNU's ipc_port_translate_receive answers.
  Port* p = nullptr;
  // Settled: a message the receiver took from its lane no longer holds a right.
  kern_return_t kr = translate_receive_settled(ipc, task, name, &p);
  if (kr == KERN_SUCCESS) *srights = p->srights;
  return kr;
}

kern_return_t mp_peek(Ipc& ipc, Task& task, mach_port_name_t name, mach_msg_trailer_type_t trailer_type,
                      mach_port_seqno_t* seqno, mach_msg_size_t* size, mach_msg_id_t* id,
                      std::vector<uint8_t>* trailer) {
  if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
  if (GET_RCV_ELEMENTS(trailer_type) > MACH_RCV_TRAILER_AUDIT) return KERN_INVALID_VALUE;
  Port* p = nullptr;
  kern_return_t kr = translate_receive_settled(ipc, task, name, &p);
  if (kr != KERN_SUCCESS) return kr;
  // Sequence number 0 means the first queued message.
  mach_port_seqno_t want = *seqno == 0 ? p->seqno : *seqno;
  if (want < p->seqno || want - p->seqno >= p->msgcount) return KERN_FAILURE;
  const Kmsg* k = p->head;
  for (mach_port_seqno_t i = p->seqno; k && i != want; i++) k = k->next;
  if (!k) return KERN_FAILURE;
  *seqno = want;
  // XNU ipc_mqueue_peek_locked reports the kernel copy's msgh_size: its header
  // is 8 bytes longer than the user's (USER_HEADER_SIZE_DELTA) and each port
  // descriptor grows from 12 to 16 bytes (ipc_kmsg_copyin_body's dsc_adjust).
  mach_msg_size_t kernel_size = k->size() + 8;
  for (const KDesc& d : k->descs)
    if (d.type == MACH_MSG_PORT_DESCRIPTOR) kernel_size += 4;
  *size = kernel_size;
  *id = k->id();
  trailer->clear();
  append_trailer(*trailer, trailer_type, want, k->sender, 0);
  return KERN_SUCCESS;
}

}  // namespace machd::ipc
