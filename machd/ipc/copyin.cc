// machd/ipc/copyin.cc — user-layout message -> kernel message
// (XNU ipc_kmsg_copyin_header / ipc_kmsg_copyin_body).
//
// The bytes are the caller's private copy and are read once, here. Every
// offset and count is checked against the message size before use.
#include <cstring>

#include "ipc.h"
#include "kmsg.h"
#include "mqueue.h"
#include "notify.h"
#include "port.h"
#include "right.h"
#include "space.h"
#include "voucher.h"

namespace machd::ipc {

namespace {

constexpr uint32_t kHeader = sizeof(mach_msg_header_t);
constexpr uint32_t kBodyStart = kHeader + sizeof(mach_msg_body_t);
constexpr uint32_t kMaxOolPorts = 16383;  // XNU IPC_KMSG_MAX_OOL_PORT_COUNT

template <typename T>
T load(const std::vector<uint8_t>& b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

bool is_move(mach_msg_type_name_t disp) {
  return disp == MACH_MSG_TYPE_MOVE_SEND || disp == MACH_MSG_TYPE_MOVE_SEND_ONCE ||
         disp == MACH_MSG_TYPE_MOVE_RECEIVE;
}

mach_msg_return_t copyin_header(Ipc& ipc, Task& task, Kmsg& k, mach_msg_option_t options) {
  Space& sp = task.space;
  auto h = load<mach_msg_header_t>(k.bytes, 0);
  // The checks of XNU ipc_kmsg_copyin_header_validate, in its order: only
  // the bits a user may set, the reply's disposition, the voucher's, the
  // destination's.
  if (h.msgh_bits & ~MACH_MSGH_BITS_USER) return MACH_SEND_INVALID_HEADER;
  const mach_msg_bits_t mbits = h.msgh_bits;
  const mach_msg_type_name_t dest_type = MACH_MSGH_BITS_REMOTE(mbits);
  const mach_msg_type_name_t reply_type = MACH_MSGH_BITS_LOCAL(mbits);
  const mach_msg_type_name_t voucher_type = MACH_MSGH_BITS_VOUCHER(mbits);
  const mach_port_name_t dest_name = h.msgh_remote_port;
  const mach_port_name_t reply_name = h.msgh_local_port;

  if (reply_type == 0 ? reply_name != MACH_PORT_NULL : !is_send_disposition(reply_type))
    return MACH_SEND_INVALID_HEADER;
  // A voucher is a send right, copied or moved; a null name is no voucher
  // (the bits stay), a dead name is refused.
  mach_port_name_t voucher_name = MACH_PORT_NULL;
  if (voucher_type != 0) {
    if (voucher_type != MACH_MSG_TYPE_MOVE_SEND && voucher_type != MACH_MSG_TYPE_COPY_SEND)
      return MACH_SEND_INVALID_VOUCHER;
    voucher_name = h.msgh_voucher_port;
    if (voucher_name == MACH_PORT_DEAD) return MACH_SEND_INVALID_VOUCHER;
  }
  if (!is_send_disposition(dest_type)) return MACH_SEND_INVALID_HEADER;
  if (!MACH_PORT_VALID(dest_name)) return MACH_SEND_INVALID_DEST;
  const bool has_voucher = voucher_name != MACH_PORT_NULL;
  // One name for destination and voucher: both must be send rights.
  if (has_voucher && dest_name == voucher_name && dest_type != MACH_MSG_TYPE_MOVE_SEND &&
      dest_type != MACH_MSG_TYPE_COPY_SEND)
    return MACH_SEND_INVALID_DEST;
  if (MACH_PORT_VALID(reply_name) && reply_name == voucher_name) return MACH_SEND_INVALID_REPLY;

  // The voucher is looked at first (XNU ipc_kmsg_copyin_header_rights): a
  // send right to a voucher's port, else MACH_SEND_INVALID_VOUCHER.
  uint32_t vi = 0;
  if (has_voucher) {
    Entry* ve = sp.lookup(voucher_name);
    if (!ve || !(ve->type() & MACH_PORT_TYPE_SEND) || !voucher_of_port(ipc, ve->port()))
      return MACH_SEND_INVALID_VOUCHER;
    vi = sp.index_of(ve);
  }

  Entry* de = sp.lookup(dest_name);
  if (!de) return MACH_SEND_INVALID_DEST;
  const uint32_t di = sp.index_of(de);
  const bool reply_valid = MACH_PORT_VALID(reply_name);
  uint32_t ri = 0;
  if (reply_valid) {
    Entry* re = sp.lookup(reply_name);
    if (!re) return MACH_SEND_INVALID_REPLY;
    ri = sp.index_of(re);
  }

  // Checking may turn an entry whose port died into a dead name, which can
  // change the answer for the other name when both are the same: check
  // twice (conversions happen once, so the second round is stable).
  for (int round = 0; round < 2; round++) {
    if (!right_copyin_check(ipc, sp, di, dest_type, CopyinFlags{false, true}))
      return MACH_SEND_INVALID_DEST;
    if (reply_valid && !right_copyin_check(ipc, sp, ri, reply_type, CopyinFlags{true, false}))
      return MACH_SEND_INVALID_REPLY;
  }
  if (reply_valid && ri == di) {
    // One entry giving two rights.
    if (dest_type == MACH_MSG_TYPE_MOVE_SEND_ONCE && reply_type == MACH_MSG_TYPE_MOVE_SEND_ONCE)
      return MACH_SEND_INVALID_REPLY;
    const Entry& e = sp.table[di];
    if (dest_type == MACH_MSG_TYPE_MOVE_SEND && reply_type == MACH_MSG_TYPE_MOVE_SEND &&
        e.urefs() < 2)
      return MACH_SEND_INVALID_DEST;
  }
  if (has_voucher && vi == di && dest_type == MACH_MSG_TYPE_MOVE_SEND &&
      voucher_type == MACH_MSG_TYPE_MOVE_SEND && sp.table[di].urefs() < 2)
    return MACH_SEND_INVALID_DEST;  // two moves from one entry need two user references

  // MACH_SEND_NOTIFY: arm the destination's send-possible request if full.
  if ((options & MACH_SEND_NOTIFY) && copyin_result_type(dest_type) != kPortSendOnce &&
      de->request != 0 && (de->type() & MACH_PORT_TYPE_SEND_RIGHTS)) {
    Port* p = de->port();
    if (p->active()) mqueue_make_room(ipc, *p);
    if (p->active() && p->full()) request_sparm(*p, de->request);
  }

  // Copies that leave the entry alone first, then the moves (so that a move
  // of the last reference cannot starve a copy from the same name). The
  // voucher shares an entry with the destination at most.
  Port* dest = nullptr;
  Port* reply = nullptr;
  Port* voucher = nullptr;
  kern_return_t dkr = KERN_SUCCESS, rkr = KERN_SUCCESS, vkr = KERN_SUCCESS;
  auto do_dest = [&] { dkr = right_copyin(ipc, sp, di, dest_type, CopyinFlags{false, true}, &dest); };
  auto do_reply = [&] {
    if (reply_valid) rkr = right_copyin(ipc, sp, ri, reply_type, CopyinFlags{true, false}, &reply);
    else if (reply_name == MACH_PORT_DEAD) reply = dead_port();
  };
  auto do_voucher = [&] {
    if (has_voucher) vkr = right_copyin(ipc, sp, vi, voucher_type, CopyinFlags{}, &voucher);
  };
  if (voucher_type == MACH_MSG_TYPE_COPY_SEND) do_voucher();
  if (is_move(dest_type) && !is_move(reply_type)) {
    do_reply();
    do_dest();
  } else {
    do_dest();
    do_reply();
  }
  if (voucher_type == MACH_MSG_TYPE_MOVE_SEND) do_voucher();
  if (dkr != KERN_SUCCESS || rkr != KERN_SUCCESS || vkr != KERN_SUCCESS) {
    // Only reachable with one entry giving two rights in an order the checks
    // could not foresee: drop what was taken (as a body error would).
    right_release(ipc, dest, copyin_result_type(dest_type));
    right_release(ipc, reply, copyin_result_type(reply_type));
    right_release(ipc, voucher, kPortSend);
    return dkr != KERN_SUCCESS ? MACH_SEND_INVALID_DEST
                               : (rkr != KERN_SUCCESS ? MACH_SEND_INVALID_REPLY : MACH_SEND_INVALID_VOUCHER);
  }

  k.dest = dest;
  k.reply = reply;
  k.voucher = voucher;
  k.voucher_disp = voucher ? voucher_type : 0;
  k.bits = MACH_MSGH_BITS_SET(copyin_result_type(dest_type), reply_type ? copyin_result_type(reply_type) : 0,
                              voucher ? kPortSend : voucher_type, mbits);
  return MACH_MSG_SUCCESS;
}

// Copies one named right of a descriptor in (deadok).
mach_msg_return_t copyin_desc_right(Ipc& ipc, Space& sp, mach_port_name_t name,
                                    mach_msg_type_name_t disp, Port** out) {
  if (name == MACH_PORT_NULL) {
    *out = nullptr;
    return MACH_MSG_SUCCESS;
  }
  if (name == MACH_PORT_DEAD) {
    *out = dead_port();
    return MACH_MSG_SUCCESS;
  }
  Entry* e = sp.lookup(name);
  if (!e) return MACH_SEND_INVALID_RIGHT;
  if (right_copyin(ipc, sp, sp.index_of(e), disp, CopyinFlags{true, false}, out) != KERN_SUCCESS)
    return MACH_SEND_INVALID_RIGHT;
  return MACH_MSG_SUCCESS;
}

uint32_t desc_size(mach_msg_descriptor_type_t type) {
  switch (type) {
    case MACH_MSG_OOL_DESCRIPTOR:
    case MACH_MSG_OOL_VOLATILE_DESCRIPTOR:
    case MACH_MSG_OOL_PORTS_DESCRIPTOR:
    case MACH_MSG_GUARDED_PORT_DESCRIPTOR:
      return 16;
    default:
      return 12;
  }
}

mach_msg_return_t copyin_body(Ipc& ipc, Task& task, Kmsg& k, SendArgs& args) {
  Space& sp = task.space;
  const std::vector<uint8_t>& b = k.bytes;
  const uint32_t size = static_cast<uint32_t>(b.size());
  if (size < kBodyStart) return MACH_SEND_MSG_TOO_SMALL;
  const uint32_t count = load<mach_msg_body_t>(b, kHeader).msgh_descriptor_count;
  if (count > (size - kBodyStart) / sizeof(mach_msg_type_descriptor_t))
    return MACH_SEND_MSG_TOO_SMALL;

  // Pass 1: layout, copy options, and the caller-provided OOL material.
  uint32_t off = kBodyStart;
  size_t n_ool = 0, n_ool_ports = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (off + 12 > size) return MACH_SEND_MSG_TOO_SMALL;
    const auto type = static_cast<mach_msg_descriptor_type_t>(b[off + 11]);
    const uint32_t ds = desc_size(type);
    if (off + ds > size) return MACH_SEND_MSG_TOO_SMALL;
    if (type == MACH_MSG_OOL_DESCRIPTOR || type == MACH_MSG_OOL_VOLATILE_DESCRIPTOR) {
      const uint8_t copy = b[off + 9];
      if (copy != MACH_MSG_PHYSICAL_COPY && copy != MACH_MSG_VIRTUAL_COPY)
        return MACH_SEND_INVALID_TYPE;
      n_ool++;
    } else if (type == MACH_MSG_OOL_PORTS_DESCRIPTOR) {
      if (load<uint32_t>(b, off + 12) > kMaxOolPorts) return MACH_SEND_TOO_LARGE;
      n_ool_ports++;
    }
    off += ds;
  }
  if (n_ool != args.ool.size() || n_ool_ports != args.ool_ports.size())
    return MACH_SEND_INVALID_MEMORY;

  // Pass 2: rights and payloads, in order; on failure the caller destroys
  // what was copied in so far.
  off = kBodyStart;
  size_t j_ool = 0, j_ports = 0;
  k.descs.reserve(count);
  for (uint32_t i = 0; i < count; i++) {
    const auto type = static_cast<mach_msg_descriptor_type_t>(b[off + 11]);
    const uint8_t disp = b[off + 10];
    KDesc d;
    d.offset = off;
    d.type = type;
    switch (type) {
      case MACH_MSG_PORT_DESCRIPTOR: {
        if (!is_port_disposition(disp)) return MACH_SEND_INVALID_TYPE;
        d.right_type = copyin_result_type(disp);
        mach_msg_return_t mr = copyin_desc_right(ipc, sp, load<uint32_t>(b, off), disp, &d.port);
        if (mr != MACH_MSG_SUCCESS) return mr;
        if (d.right_type == kPortReceive && port_valid(d.port) &&
            port_check_circularity(d.port, k.dest))
          k.circular = true;
        break;
      }
      case MACH_MSG_OOL_DESCRIPTOR:
      case MACH_MSG_OOL_VOLATILE_DESCRIPTOR: {
        std::unique_ptr<OolPayload>& p = args.ool[j_ool++];
        const uint32_t len = load<uint32_t>(b, off + 12);
        if (p ? p->size() != len : len != 0) return MACH_SEND_INVALID_MEMORY;
        if (p) {
          d.payload = std::move(p);
          ipc.live_payloads++;
        }
        break;
      }
      case MACH_MSG_OOL_PORTS_DESCRIPTOR: {
        if (!is_port_disposition(disp)) return MACH_SEND_INVALID_TYPE;
        const std::vector<mach_port_name_t>& names = args.ool_ports[j_ports++];
        if (names.size() != load<uint32_t>(b, off + 12)) return MACH_SEND_INVALID_MEMORY;
        d.right_type = copyin_result_type(disp);
        d.ports.reserve(names.size());
        mach_msg_return_t mr = MACH_MSG_SUCCESS;
        for (mach_port_name_t name : names) {
          Port* p = nullptr;
          mr = copyin_desc_right(ipc, sp, name, disp, &p);
          if (mr != MACH_MSG_SUCCESS) break;
          d.ports.push_back(p);
          if (d.right_type == kPortReceive && port_valid(p) && port_check_circularity(p, k.dest))
            k.circular = true;
        }
        if (mr != MACH_MSG_SUCCESS) {
          k.descs.push_back(std::move(d));  // so the rights taken so far are released
          return mr;
        }
        break;
      }
      case MACH_MSG_GUARDED_PORT_DESCRIPTOR: {
        const auto flags = load<uint16_t>(b, off + 8);
        const auto context = load<uint64_t>(b, off);
        const auto name = load<uint32_t>(b, off + 12);
        if (disp != MACH_MSG_TYPE_MOVE_RECEIVE || (flags & ~MACH_MSG_GUARD_FLAGS_MASK))
          return MACH_SEND_INVALID_TYPE;
        d.right_type = kPortReceive;
        d.guard_flags = flags;
        if (MACH_PORT_VALID(name)) {
          Entry* e = sp.lookup(name);
          if (!e || !(e->type() & MACH_PORT_TYPE_RECEIVE)) return MACH_SEND_INVALID_RIGHT;
          const Port* p = e->port();
          const bool guarded = (p->flags & Port::kGuarded) != 0;
          const bool ok = (guarded && p->context == context) ||
                          ((flags & MACH_MSG_GUARD_FLAGS_UNGUARDED_ON_SEND) && !guarded && context == 0);
          if (!ok) return MACH_SEND_INVALID_RIGHT;
        }
        mach_msg_return_t mr = copyin_desc_right(ipc, sp, name, disp, &d.port);
        if (mr != MACH_MSG_SUCCESS) return mr;
        if (port_valid(d.port) && port_check_circularity(d.port, k.dest)) k.circular = true;
        break;
      }
      default:
        return MACH_SEND_INVALID_TYPE;
    }
    k.descs.push_back(std::move(d));
    off += desc_size(type);
  }
  return MACH_MSG_SUCCESS;
}

}  // namespace

SenderId sender_for(const Ipc& ipc, const Task& task, const Port* dest) {
  if (!task.relayed || dest == nullptr || dest->receiver == kNoTask || dest->receiver == ipc.kernel) return task.sender;
  return *task.relayed;
}

mach_msg_return_t kmsg_copyin(Ipc& ipc, Task& task, SendArgs&& args, mach_msg_option_t options,
                              Kmsg** out) {
  // machd's own messages are not charged; a user's beyond its bound fail
  // before anything is taken, as when XNU cannot allocate a kernel buffer.
  uint64_t bytes = 0;
  if (task.user != 0) {
    bytes = args.msg.size();
    for (const auto& p : args.ool)
      if (p) bytes += p->heap_bytes();
    if (!ipc.msg_fits(task.user, bytes)) return MACH_SEND_NO_BUFFER;
  }
  Kmsg* k = ipc.new_kmsg();
  k->bytes = std::move(args.msg);
  k->sender = task.sender;
  mach_msg_return_t mr = copyin_header(ipc, task, *k, options);
  if (mr != MACH_MSG_SUCCESS) {
    ipc.free_kmsg(k);  // nothing was taken
    return mr;
  }
  k->sender = sender_for(ipc, task, k->dest);
  if (k->bits & MACH_MSGH_BITS_COMPLEX) {
    mr = copyin_body(ipc, task, *k, args);
    if (mr != MACH_MSG_SUCCESS) {
      kmsg_destroy_now(ipc, k);
      return mr;
    }
  }
  // What it occupies of machd's heap counts against its user's bound
  // (checked above, before anything was taken).
  ipc.charge(k, task.user, bytes);
  // The kernel's msgh_size is the send size (the user's field is ignored).
  auto h = load<mach_msg_header_t>(k->bytes, 0);
  h.msgh_bits = k->bits;
  h.msgh_size = k->size();
  std::memcpy(k->bytes.data(), &h, sizeof h);
  *out = k;
  return MACH_MSG_SUCCESS;
}

}  // namespace machd::ipc
