// machd/ipc/right.cc — making, copying, moving and consuming rights.
#include "right.h"

#include "ipc.h"
#include "notify.h"
#include "port.h"
#include "port_set.h"
#include "space.h"

namespace machd::ipc {

namespace {

constexpr uint32_t kSend = MACH_PORT_TYPE_SEND;
constexpr uint32_t kRecv = MACH_PORT_TYPE_RECEIVE;
constexpr uint32_t kSendOnce = MACH_PORT_TYPE_SEND_ONCE;
constexpr uint32_t kPset = MACH_PORT_TYPE_PORT_SET;
constexpr uint32_t kDead = MACH_PORT_TYPE_DEAD_NAME;
constexpr uint32_t kSendRights = kSend | kSendOnce;

// Cancels the entry's request (if any) and sends port-deleted with it.
void cancel_request_deleted(Ipc& ipc, Entry& e, Port& port, mach_port_name_t name) {
  if (e.request == 0) return;
  Port* so = request_cancel(port, e.request);
  e.request = 0;
  if (so) notify_port_deleted(ipc, so, name);
}

}  // namespace

bool right_reverse(Space& space, const Port& port, uint32_t* index) {
  if (port.active() && port.receiver == space.task) {
    *index = MACH_PORT_INDEX(port.receiver_name);
    return true;
  }
  return space.send_hash.find(&port, index);
}

Port* right_make_send(Port& port) {
  port.mscount++;
  port.srights++;
  port.refs++;
  return &port;
}

Port* right_make_send_once(Port& port) {
  port.sorights++;
  port.refs++;
  return &port;
}

Port* right_copy_send(Port& port) {
  port.srights++;
  port.refs++;
  return &port;
}

void port_srights_dec(Ipc& ipc, Port& port) {
  port.srights--;
  if (port.srights != 0 || !port.active() || !port.aux) return;
  if (port.aux->nsrequest) {
    Port* so = port.aux->nsrequest;
    port.aux->nsrequest = nullptr;
    notify_no_senders(ipc, so, port.mscount);
  }
  if (port.aux->kobject_type == kKObjectVoucherType) {
    // A voucher lives while send rights to it exist (voucher.h).
    port.refs++;
    ipc.defer(Work{Work::Kind::kVoucherNoSenders, nullptr, &port, 0});
  }
}

bool right_check(Ipc& ipc, Space& space, uint32_t index) {
  Entry& e = space.table[index];
  if ((e.type() & kSendRights) == 0) return false;
  Port* p = e.port();
  if (p->active()) return false;
  uint32_t urefs = e.urefs();
  if (e.type() & kSend) {
    p->srights--;
    space.send_hash.erase(p);
  } else {
    p->sorights--;
  }
  if (e.request != 0 && request_dead_fired(*p, e.request) && urefs < kUrefsMax) urefs++;
  e.request = 0;
  e.object = nullptr;
  e.set_type_urefs(kDead, urefs);
  port_release(ipc, p);
  return true;
}

// ---- copyin -----------------------------------------------------------------

namespace {

// The send-once destination exception (newer XNU): a dead send-once right
// with no request still copies in as a destination; the send then succeeds
// and the message is destroyed.
bool dead_so_dest_ok(const Entry& e, CopyinFlags flags) {
  return flags.dest && e.type() == kSendOnce && e.request == 0;
}

}  // namespace

bool right_copyin_check(Ipc& ipc, Space& space, uint32_t index, mach_msg_type_name_t disp,
                        CopyinFlags flags) {
  Entry& e = space.table[index];
  switch (disp) {
    case MACH_MSG_TYPE_MAKE_SEND:
    case MACH_MSG_TYPE_MAKE_SEND_ONCE:
      return (e.type() & kRecv) != 0;
    case MACH_MSG_TYPE_MOVE_RECEIVE:
      return (e.type() & kRecv) != 0 && !(e.port()->flags & Port::kImmovableReceive);
    case MACH_MSG_TYPE_COPY_SEND:
    case MACH_MSG_TYPE_MOVE_SEND:
    case MACH_MSG_TYPE_MOVE_SEND_ONCE: {
      if (e.type() & kDead) return flags.deadok;
      if ((e.type() & kSendRights) == 0) return false;
      if (!e.port()->active()) {
        if (disp == MACH_MSG_TYPE_MOVE_SEND_ONCE && dead_so_dest_ok(e, flags)) return true;
        right_check(ipc, space, index);
        return flags.deadok;
      }
      if (disp == MACH_MSG_TYPE_MOVE_SEND_ONCE) return (e.type() & kSendOnce) != 0;
      return (e.type() & kSend) != 0;
    }
    default:
      return false;
  }
}

kern_return_t right_copyin(Ipc& ipc, Space& space, uint32_t index, mach_msg_type_name_t disp,
                           CopyinFlags flags, Port** out) {
  if (!right_copyin_check(ipc, space, index, disp, flags)) {
    Entry& e = space.table[index];
    if (disp == MACH_MSG_TYPE_MOVE_RECEIVE && (e.type() & kRecv)) return KERN_INVALID_CAPABILITY;
    return KERN_INVALID_RIGHT;
  }
  Entry& e = space.table[index];
  const mach_port_name_t name = space.name_of(index);

  // Dead names (checked above to be acceptable).
  if (e.type() & kDead) {
    if (disp != MACH_MSG_TYPE_COPY_SEND) {
      uint32_t urefs = e.urefs();
      if (urefs == 1) space.dealloc(index);
      else if (urefs < kUrefsMax) e.set_type_urefs(kDead, urefs - 1);
    }
    *out = dead_port();
    return KERN_SUCCESS;
  }

  Port* p = e.port();
  switch (disp) {
    case MACH_MSG_TYPE_MAKE_SEND:
      *out = right_make_send(*p);
      return KERN_SUCCESS;
    case MACH_MSG_TYPE_MAKE_SEND_ONCE:
      *out = right_make_send_once(*p);
      return KERN_SUCCESS;
    case MACH_MSG_TYPE_MOVE_RECEIVE: {
      if (e.type() & kSend) {
        // The send right stays under the name: it needs its own reference.
        e.set_type_urefs(kSend, e.urefs());
        space.send_hash.insert(p, index);
        p->refs++;
      } else {
        cancel_request_deleted(ipc, e, *p, name);
        space.dealloc(index);
      }
      port_clear_receiver(ipc, *p);
      *out = p;
      return KERN_SUCCESS;
    }
    case MACH_MSG_TYPE_COPY_SEND:
      *out = right_copy_send(*p);
      return KERN_SUCCESS;
    case MACH_MSG_TYPE_MOVE_SEND: {
      uint32_t urefs = e.urefs();
      if (urefs == 1) {
        if (e.type() & kRecv) {
          e.set_type_urefs(kRecv, 0);
          p->refs++;  // the entry keeps the receive right's reference
        } else {
          cancel_request_deleted(ipc, e, *p, name);
          space.send_hash.erase(p);
          space.dealloc(index);  // the entry's reference moves with the right
        }
      } else {
        p->srights++;
        p->refs++;
        if (urefs < kUrefsMax) e.set_type_urefs(e.type(), urefs - 1);
      }
      *out = p;
      return KERN_SUCCESS;
    }
    case MACH_MSG_TYPE_MOVE_SEND_ONCE: {
      if (p->active()) cancel_request_deleted(ipc, e, *p, name);
      space.dealloc(index);
      *out = p;
      return KERN_SUCCESS;
    }
    default:
      return KERN_INVALID_RIGHT;
  }
}

// ---- copyout ----------------------------------------------------------------

namespace {

// Puts the right (port, type) into entry `index`, which is either fresh
// (type 0) or already names `port` with send and/or receive rights.
void entry_put_right(Ipc& ipc, Space& space, uint32_t index, Port* port,
                     mach_msg_type_name_t type) {
  Entry& e = space.table[index];
  const mach_port_name_t name = space.name_of(index);
  switch (type) {
    case kPortSendOnce:
      e.object = port;
      e.set_type_urefs(kSendOnce, 1);
      return;
    case kPortSend:
      if (e.type() & kSend) {
        if (e.urefs() < kUrefsMax) e.set_type_urefs(e.type(), e.urefs() + 1);
        port_srights_dec(ipc, *port);  // merges into the entry's send right
        port_release(ipc, port);
      } else if (e.type() & kRecv) {
        e.set_type_urefs(kRecv | kSend, 1);
        port_release(ipc, port);  // the receive right's reference covers the entry
      } else {
        e.object = port;
        e.set_type_urefs(kSend, 1);
        space.send_hash.insert(port, index);
      }
      return;
    case kPortReceive:
      if (e.type() & kSend) {
        space.send_hash.erase(port);
        e.set_type_urefs(kRecv | kSend, e.urefs());
        port_release(ipc, port);  // entry had a ref; the receive right brings one
      } else {
        e.object = port;
        e.set_type_urefs(kRecv, 0);
      }
      port->receiver = space.task;
      port->receiver_name = name;
      if (port->aux) port->aux->destination = nullptr;
      return;
    default:
      return;
  }
}

}  // namespace

mach_msg_return_t right_copyout(Ipc& ipc, Space& space, Port* port, mach_msg_type_name_t type,
                                mach_port_name_t* name) {
  if (port == nullptr) {
    *name = MACH_PORT_NULL;
    return MACH_MSG_SUCCESS;
  }
  if (port == dead_port()) {
    *name = MACH_PORT_DEAD;
    return MACH_MSG_SUCCESS;
  }
  if (!port->active()) {
    right_release(ipc, port, type);
    *name = MACH_PORT_DEAD;
    return MACH_MSG_SUCCESS;
  }
  uint32_t index = 0;
  if (type != kPortSendOnce && right_reverse(space, *port, &index)) {
    entry_put_right(ipc, space, index, port, type);
    *name = space.name_of(index);
    return MACH_MSG_SUCCESS;
  }
  mach_port_name_t fresh = MACH_PORT_NULL;
  if (!space.active || space.alloc(&fresh, &index) != KERN_SUCCESS) {
    right_release(ipc, port, type);
    *name = MACH_PORT_NULL;
    return MACH_MSG_IPC_SPACE;
  }
  entry_put_right(ipc, space, index, port, type);
  *name = fresh;
  return MACH_MSG_SUCCESS;
}

kern_return_t right_copyout_name(Ipc& ipc, Space& space, Port* port, mach_msg_type_name_t type,
                                 mach_port_name_t name) {
  uint32_t index = 0;
  bool existing = false;
  kern_return_t kr = space.alloc_name(name, &index, &existing);
  if (kr != KERN_SUCCESS) {
    right_release(ipc, port, type);
    return kr;
  }
  if (!port->active()) {
    if (!existing) space.dealloc(index);
    right_release(ipc, port, type);
    return KERN_INVALID_CAPABILITY;
  }
  uint32_t other = 0;
  if (type != kPortSendOnce && right_reverse(space, *port, &other)) {
    if (other != index) {
      if (!existing) space.dealloc(index);
      right_release(ipc, port, type);
      return KERN_RIGHT_EXISTS;
    }
  } else if (existing) {
    right_release(ipc, port, type);
    return KERN_NAME_EXISTS;
  }
  entry_put_right(ipc, space, index, port, type);
  return KERN_SUCCESS;
}

mach_port_name_t right_copyout_dest(Ipc& ipc, Space& space, Port* port,
                                    mach_msg_type_name_t type) {
  mach_port_name_t name = MACH_PORT_NULL;
  const bool ours = port->active() && port->receiver == space.task;
  if (ours) name = port->receiver_name;
  if (type == kPortSend) {
    port_srights_dec(ipc, *port);
    port_release(ipc, port);
  } else if (type == kPortSendOnce) {
    if (ours || !port->active()) {
      port->sorights--;  // quietly consumed by the receive
      port_release(ipc, port);
    } else {
      notify_send_once(ipc, port);
    }
  }
  return name;
}

void right_release(Ipc& ipc, Port* port, mach_msg_type_name_t type) {
  if (!port_valid(port)) return;
  switch (type) {
    case kPortSend:
      port_srights_dec(ipc, *port);
      port_release(ipc, port);
      return;
    case kPortSendOnce:
      if (port->active()) {
        notify_send_once(ipc, port);
      } else {
        port->sorights--;
        port_release(ipc, port);
      }
      return;
    case kPortReceive:
      if (port->aux) port->aux->destination = nullptr;
      ipc.defer_destroy_port(port);
      return;
    default:
      return;
  }
}

// ---- entry operations -------------------------------------------------------

Port* right_alloc_receive(Ipc& ipc, Space& space, uint32_t index, uint16_t user) {
  Port* p = port_new(ipc);
  p->user = user;
  if (user != 0) ipc.usage[user].ports++;
  Entry& e = space.table[index];
  e.object = p;
  e.set_type_urefs(kRecv, 0);
  p->receiver = space.task;
  p->receiver_name = space.name_of(index);
  return p;
}

namespace {

// Destroys the receive right named by entry `index` (XNU: the receive cases
// of ipc_right_delta / destroy / destruct). The entry keeps a send right if
// a port-destroyed request will carry the port away, else becomes a dead
// name (send rights) or is freed.
void destroy_receive_in_entry(Ipc& ipc, Space& space, uint32_t index) {
  Entry& e = space.table[index];
  Port* p = e.port();
  const mach_port_name_t name = space.name_of(index);
  if (e.type() & kSend) {
    if (p->aux && p->aux->pdrequest) {
      e.set_type_urefs(kSend, e.urefs());
      space.send_hash.insert(p, index);
      p->refs++;
    } else {
      uint32_t urefs = e.urefs();
      if (e.request != 0 && urefs < kUrefsMax) urefs++;
      e.request = 0;  // the request itself fires from port_dnnotify
      e.object = nullptr;
      e.set_type_urefs(kDead, urefs);
    }
    port_destroy(ipc, p);
  } else {
    uint32_t req = e.request;
    e.request = 0;
    Port* so = req ? request_cancel(*p, req) : nullptr;
    space.dealloc(index);
    port_destroy(ipc, p);
    if (so) notify_port_deleted(ipc, so, name);
  }
}

// Frees entry `index` (send, send-once and/or receive rights) and destroys
// every right it held (XNU: the port cases of ipc_right_destroy /
// ipc_right_terminate): its request sends port-deleted, the receive right
// destroys the port, send rights count down (no-senders), a send-once right
// sends its send-once notification.
void destroy_port_rights(Ipc& ipc, Space& space, uint32_t index) {
  Entry& e = space.table[index];
  const mach_port_name_t name = space.name_of(index);
  const uint32_t type = e.type();
  Port* p = e.port();
  Port* so = nullptr;
  if (p->active() && e.request) so = request_cancel(*p, e.request);
  e.request = 0;
  if (type == kSend) space.send_hash.erase(p);
  space.dealloc(index);
  if (type & kSend) port_srights_dec(ipc, *p);
  if (type & kRecv) {
    port_destroy(ipc, p);
  } else if (type & kSendOnce) {
    right_release(ipc, p, kPortSendOnce);
  } else {
    port_release(ipc, p);
  }
  if (so) notify_port_deleted(ipc, so, name);
}

// The entry's last send user reference goes: a receive right stays under the
// name, else the entry is freed (its request sends port-deleted).
void drop_send_right(Ipc& ipc, Space& space, uint32_t index) {
  Entry& e = space.table[index];
  Port* p = e.port();
  if (e.type() & kRecv) {
    e.set_type_urefs(kRecv, 0);
    port_srights_dec(ipc, *p);
    return;
  }
  cancel_request_deleted(ipc, e, *p, space.name_of(index));
  space.send_hash.erase(p);
  space.dealloc(index);
  port_srights_dec(ipc, *p);
  port_release(ipc, p);
}

// XNU ipc_right_delta's user-reference arithmetic: `urefs` changed by
// `delta`, never past kUrefsMax; a saturated count only drops, to zero, by
// -kUrefsMax. False (KERN_INVALID_VALUE) for a delta out of range or below
// zero.
bool urefs_after(uint32_t urefs, mach_port_delta_t delta, uint32_t* out) {
  const int64_t max = kUrefsMax;
  if (delta > max || delta < -max) return false;
  if (urefs == kUrefsMax) {
    *out = delta == -max ? 0 : urefs;
    return true;
  }
  const int64_t n = int64_t{urefs} + delta;
  if (n < 0) return false;
  *out = static_cast<uint32_t>(n > max ? max : n);
  return true;
}

}  // namespace

kern_return_t right_dealloc(Ipc& ipc, Space& space, uint32_t index) {
  Entry& e = space.table[index];
  const mach_port_name_t name = space.name_of(index);
  switch (e.type()) {
    case kPset: {
      PortSet* set = e.pset();
      space.dealloc(index);
      pset_destroy(ipc, set);
      return KERN_SUCCESS;
    }
    case kSendOnce: {
      if (right_check(ipc, space, index)) return right_dealloc(ipc, space, index);
      Port* p = e.port();
      cancel_request_deleted(ipc, e, *p, name);
      space.dealloc(index);
      notify_send_once(ipc, p);
      return KERN_SUCCESS;
    }
    case kSend:
      if (right_check(ipc, space, index)) return right_dealloc(ipc, space, index);
      [[fallthrough]];
    case kSend | kRecv:
      if (e.urefs() == 1) drop_send_right(ipc, space, index);
      else if (e.urefs() < kUrefsMax) e.set_type_urefs(e.type(), e.urefs() - 1);
      return KERN_SUCCESS;
    case kDead: {
      if (e.urefs() == 1) space.dealloc(index);
      else if (e.urefs() < kUrefsMax) e.set_type_urefs(kDead, e.urefs() - 1);
      return KERN_SUCCESS;
    }
    default:
      return KERN_INVALID_RIGHT;
  }
}

kern_return_t right_delta(Ipc& ipc, Space& space, uint32_t index, mach_port_right_t right,
                          mach_port_delta_t delta) {
  Entry& e = space.table[index];
  const mach_port_name_t name = space.name_of(index);
  switch (right) {
    case MACH_PORT_RIGHT_PORT_SET: {
      if ((e.type() & kPset) == 0) return KERN_INVALID_RIGHT;
      if (delta == 0) return KERN_SUCCESS;
      if (delta != -1) return KERN_INVALID_VALUE;
      return right_dealloc(ipc, space, index);
    }
    case MACH_PORT_RIGHT_RECEIVE: {
      if ((e.type() & kRecv) == 0) return KERN_INVALID_RIGHT;
      if (delta == 0) return KERN_SUCCESS;
      if (delta != -1) return KERN_INVALID_VALUE;
      if (e.port()->flags & Port::kGuarded) return KERN_INVALID_RIGHT;  // guard violation
      destroy_receive_in_entry(ipc, space, index);
      return KERN_SUCCESS;
    }
    case MACH_PORT_RIGHT_SEND_ONCE: {
      if ((e.type() & kSendOnce) == 0) return KERN_INVALID_RIGHT;
      if (right_check(ipc, space, index)) return KERN_INVALID_RIGHT;
      if (delta > 0 || delta < -1) return KERN_INVALID_VALUE;
      if (delta == 0) return KERN_SUCCESS;
      Port* p = e.port();
      cancel_request_deleted(ipc, e, *p, name);
      space.dealloc(index);
      notify_send_once(ipc, p);
      return KERN_SUCCESS;
    }
    case MACH_PORT_RIGHT_DEAD_NAME: {
      if (e.type() & kSendRights) {
        if (!right_check(ipc, space, index)) return KERN_INVALID_RIGHT;
      } else if ((e.type() & kDead) == 0) {
        return KERN_INVALID_RIGHT;
      }
      uint32_t urefs = 0;
      if (!urefs_after(e.urefs(), delta, &urefs)) return KERN_INVALID_VALUE;
      if (urefs == 0) space.dealloc(index);
      else if (urefs != e.urefs()) e.set_type_urefs(kDead, urefs);
      return KERN_SUCCESS;
    }
    case MACH_PORT_RIGHT_SEND: {
      if ((e.type() & kSend) == 0) return KERN_INVALID_RIGHT;
      if (right_check(ipc, space, index)) return KERN_INVALID_RIGHT;
      uint32_t urefs = 0;
      if (!urefs_after(e.urefs(), delta, &urefs)) return KERN_INVALID_VALUE;
      if (urefs == 0) drop_send_right(ipc, space, index);
      else if (urefs != e.urefs()) e.set_type_urefs(e.type(), urefs);
      return KERN_SUCCESS;
    }
    default:
      return KERN_INVALID_RIGHT;  // LABELH and beyond
  }
}

kern_return_t right_destroy(Ipc& ipc, Space& space, uint32_t index) {
  Entry& e = space.table[index];
  const uint32_t type = e.type();
  switch (type) {
    case kDead:
      space.dealloc(index);
      return KERN_SUCCESS;
    case kPset:
      return right_dealloc(ipc, space, index);
    case kSend:
    case kRecv:
    case kSend | kRecv:
    case kSendOnce: {
      const Port* p = e.port();
      if ((type & kRecv) && (p->flags & Port::kGuarded) && p->context != 0)
        return KERN_INVALID_RIGHT;
      destroy_port_rights(ipc, space, index);
      return KERN_SUCCESS;
    }
    default:
      return KERN_INVALID_RIGHT;
  }
}

kern_return_t right_destruct(Ipc& ipc, Space& space, uint32_t index, mach_port_delta_t srdelta,
                             mach_port_context_t guard) {
  Entry& e = space.table[index];
  if ((e.type() & kRecv) == 0) return KERN_INVALID_RIGHT;
  if (srdelta != 0 && (e.type() & kSend) == 0) return KERN_INVALID_RIGHT;
  if (srdelta > 0) return KERN_INVALID_VALUE;
  Port* p = e.port();
  if ((p->flags & Port::kGuarded) && guard != p->context) return KERN_INVALID_ARGUMENT;
  if (srdelta != 0) {
    uint32_t urefs = 0;
    if (!urefs_after(e.urefs(), srdelta, &urefs)) return KERN_INVALID_VALUE;
    if (urefs == 0) drop_send_right(ipc, space, index);  // the receive right stays
    else e.set_type_urefs(e.type(), urefs);
  }
  destroy_receive_in_entry(ipc, space, index);
  return KERN_SUCCESS;
}

void right_info(Ipc& ipc, Space& space, uint32_t index, mach_port_type_t* type,
                mach_port_urefs_t* urefs) {
  right_check(ipc, space, index);
  Entry& e = space.table[index];
  mach_port_type_t t = e.type();
  if (e.request != 0 && (t & (kSendRights | kRecv))) t |= request_type(*e.port(), e.request);
  *type = t;
  *urefs = e.urefs();
}

void right_terminate(Ipc& ipc, Space& space, uint32_t index) {
  const uint32_t type = space.table[index].type();
  if (type == kDead || type == 0) {
    space.dealloc(index);
    return;
  }
  if (type == kPset) {
    right_dealloc(ipc, space, index);
    return;
  }
  destroy_port_rights(ipc, space, index);
}

}  // namespace machd::ipc
