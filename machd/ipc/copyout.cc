// machd/ipc/copyout.cc — kernel message -> receiver's names and bytes
// (XNU ipc_kmsg_copyout_header / _body, msg_receive_error,
// ipc_kmsg_copyout_pseudo).
#include <cstring>

#include "ipc.h"
#include "kmsg.h"
#include "notify.h"
#include "port.h"
#include "right.h"
#include "space.h"
#include "voucher.h"

namespace machd::ipc {

namespace {

constexpr uint32_t kHeader = sizeof(mach_msg_header_t);

template <typename T>
void store(std::vector<uint8_t>& b, size_t off, const T& v) {
  std::memcpy(b.data() + off, &v, sizeof v);
}

void write_header(Kmsg& k, mach_msg_bits_t bits, mach_msg_size_t size, mach_port_name_t remote,
                  mach_port_name_t local, mach_port_name_t voucher) {
  mach_msg_header_t h;
  std::memcpy(&h, k.bytes.data(), sizeof h);
  h.msgh_bits = bits;
  h.msgh_size = size;
  h.msgh_remote_port = remote;
  h.msgh_local_port = local;
  h.msgh_voucher_port = voucher;
  std::memcpy(k.bytes.data(), &h, sizeof h);
}

void set_voucher_field(Kmsg& k, mach_port_name_t name) {
  store(k.bytes, offsetof(mach_msg_header_t, msgh_voucher_port), name);
}

// Copies every descriptor's rights / memory out into `space` and rewrites the
// descriptors as the receiver sees them. Returns MACH_MSG_SUCCESS or
// MACH_RCV_BODY_ERROR | MACH_MSG_IPC_SPACE (names that did not fit are NULL).
// `buffer` is the address of the user buffer the message is written to;
// `pseudo` is set when the message goes back to its sender.
mach_msg_return_t copyout_body(Ipc& ipc, Space& space, Kmsg& k, Completion& c, uint64_t buffer,
                               bool pseudo) {
  mach_msg_return_t mr = MACH_MSG_SUCCESS;
  auto note = [&mr](mach_msg_return_t r) {
    if (r != MACH_MSG_SUCCESS) mr = MACH_RCV_BODY_ERROR | r;
  };
  for (KDesc& d : k.descs) {
    const uint32_t off = d.offset;
    switch (d.type) {
      case MACH_MSG_PORT_DESCRIPTOR: {
        mach_port_name_t name = MACH_PORT_NULL;
        note(right_copyout(ipc, space, d.port, d.right_type, &name));
        d.port = nullptr;
        mach_msg_port_descriptor_t pd{};
        pd.name = name;
        pd.disposition = d.right_type;
        pd.type = MACH_MSG_PORT_DESCRIPTOR;
        store(k.bytes, off, pd);
        break;
      }
      case MACH_MSG_GUARDED_PORT_DESCRIPTOR: {
        Port* p = d.port;
        mach_port_name_t name = MACH_PORT_NULL;
        note(right_copyout(ipc, space, p, d.right_type, &name));
        d.port = nullptr;
        mach_msg_guarded_port_descriptor64_t gd{};
        uint32_t flags = d.guard_flags & ~MACH_MSG_GUARD_FLAGS_UNGUARDED_ON_SEND;
        if ((d.guard_flags & MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE) && MACH_PORT_VALID(name)) {
          // As XNU ipc_right_copyout (MACH_MSG_TYPE_PORT_RECEIVE): a
          // non-strict guard whose value is the address of the buffer the
          // message is written to (ith_msg_addr); immovable, except when a
          // pseudo-receive gives the right back to its sender.
          p->flags |= Port::kGuarded;
          if (!pseudo) p->flags |= Port::kImmovableReceive;
          p->flags &= ~Port::kStrictGuard;
          p->context = buffer;
          gd.context = buffer;
        }
        gd.flags = flags;
        gd.disposition = d.right_type;
        gd.type = MACH_MSG_GUARDED_PORT_DESCRIPTOR;
        gd.name = name;
        store(k.bytes, off, gd);
        break;
      }
      case MACH_MSG_OOL_DESCRIPTOR:
      case MACH_MSG_OOL_VOLATILE_DESCRIPTOR: {
        mach_msg_ool_descriptor64_t od;
        std::memcpy(&od, k.bytes.data() + off, sizeof od);
        const uint32_t copy = od.copy;
        const uint32_t size = od.size;
        od = mach_msg_ool_descriptor64_t{};
        od.address = 0;  // the caller maps the payload and fills this in
        od.deallocate = copy == MACH_MSG_VIRTUAL_COPY;
        od.copy = copy;
        od.type = d.type;
        od.size = size;
        store(k.bytes, off, od);
        if (d.payload) ipc.live_payloads--;
        c.ool.push_back(OolOut{off, std::move(d.payload)});
        break;
      }
      case MACH_MSG_OOL_PORTS_DESCRIPTOR: {
        mach_msg_ool_ports_descriptor64_t pd;
        std::memcpy(&pd, k.bytes.data() + off, sizeof pd);
        OolPortsOut out;
        out.descriptor_offset = off;
        out.names.reserve(d.ports.size());
        for (Port*& p : d.ports) {
          mach_port_name_t name = MACH_PORT_NULL;
          note(right_copyout(ipc, space, p, d.right_type, &name));
          p = nullptr;
          out.names.push_back(name);
        }
        // XNU ipc_kmsg_copyout_ool_ports_descriptor: the array is always new
        // memory in the receiver (copy_options = MACH_MSG_VIRTUAL_COPY), so
        // deallocate is TRUE whatever the sender asked for.
        pd = mach_msg_ool_ports_descriptor64_t{};
        pd.address = 0;
        pd.deallocate = true;
        pd.copy = MACH_MSG_VIRTUAL_COPY;
        pd.disposition = d.right_type;
        pd.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
        pd.count = static_cast<mach_msg_size_t>(out.names.size());
        store(k.bytes, off, pd);
        c.ool_ports.push_back(std::move(out));
        break;
      }
      default:
        break;
    }
  }
  k.descs.clear();
  return mr;
}

}  // namespace

Completion kmsg_copyout(Ipc& ipc, Task& task, Kmsg* k, Port& from, mach_port_seqno_t seqno,
                        mach_msg_option_t options, uint64_t rcv_addr) {
  Space& space = task.space;
  Completion c;
  port_spnotify(ipc, *k->dest);
  const mach_port_context_t context = from.context;
  const mach_msg_type_name_t dest_type = k->dest_type();
  const mach_msg_type_name_t reply_type = k->reply_type();

  // The voucher (XNU ipc_kmsg_copyout_header): without a voucher
  // disposition the sender's field comes through as it was; otherwise only
  // a receiver that asked with MACH_RCV_VOUCHER gets it (after its receive
  // processing), and the others get no bits and no name.
  mach_msg_type_name_t voucher_type = k->voucher_type();
  mach_port_name_t voucher_name = voucher_type == 0 ? k->voucher_field() : MACH_PORT_NULL;
  if (voucher_type != 0 && !(options & MACH_RCV_VOUCHER)) {
    voucher_type = 0;
    right_release(ipc, k->voucher, kPortSend);
    k->voucher = nullptr;
  } else if (k->voucher) {
    if (task.id != ipc.kernel) k->voucher = voucher_receive_postprocess(ipc, task, k->voucher);
    mach_msg_return_t vmr = right_copyout(ipc, space, k->voucher, kPortSend, &voucher_name);
    k->voucher = nullptr;
    if (vmr != MACH_MSG_SUCCESS) {
      set_voucher_field(*k, MACH_PORT_NULL);  // the voucher is gone (destroyed by the failed copyout)
      return kmsg_receive_error(ipc, task, k, from, seqno, options, UINT32_MAX, MACH_RCV_HEADER_ERROR | vmr);
    }
  }

  mach_port_name_t reply_name = MACH_PORT_NULL;
  mach_msg_return_t mr = right_copyout(ipc, space, k->reply, reply_type, &reply_name);
  k->reply = nullptr;
  if (mr != MACH_MSG_SUCCESS) {
    // No room for the reply's name: the voucher's goes too (XNU reserves both
    // names before copying either out).
    if (MACH_PORT_VALID(voucher_name) && voucher_type != 0) {
      if (Entry* e = space.lookup(voucher_name)) right_dealloc(ipc, space, space.index_of(e));
      set_voucher_field(*k, MACH_PORT_NULL);
    }
    return kmsg_receive_error(ipc, task, k, from, seqno, options, UINT32_MAX,
                              MACH_RCV_HEADER_ERROR | mr);
  }
  const mach_port_name_t dest_name = right_copyout_dest(ipc, space, k->dest, dest_type);
  k->dest = nullptr;

  mr = copyout_body(ipc, space, *k, c, rcv_addr, false);
  write_header(*k, MACH_MSGH_BITS_SET(reply_type, dest_type, voucher_type, k->bits), k->size(), reply_name,
               dest_name, voucher_name);
  c.msg = std::move(k->bytes);
  append_trailer(c.msg, options, seqno, k->sender, context);
  c.result = mr;
  ipc.free_kmsg(k);
  return c;
}

Completion kmsg_receive_error(Ipc& ipc, Task& task, Kmsg* k, Port& from, mach_port_seqno_t seqno,
                              mach_msg_option_t options, mach_msg_size_t rcv_size,
                              mach_msg_return_t mr) {
  Completion c;
  const mach_port_context_t context = from.context;
  const mach_msg_type_name_t dest_type = k->dest_type();
  const mach_msg_type_name_t reply_type = k->reply_type();
  mach_port_name_t dest_name = MACH_PORT_NULL;
  if (k->dest) {
    dest_name = right_copyout_dest(ipc, task.space, k->dest, dest_type);
    k->dest = nullptr;
  }
  // The reply right, the voucher and the body are destroyed; the voucher
  // bits stay (XNU ipc_kmsg_copyout_dest_to_user).
  mach_port_name_t reply_name = k->reply == dead_port() ? MACH_PORT_DEAD : MACH_PORT_NULL;
  right_release(ipc, k->reply, reply_type);
  k->reply = nullptr;
  const mach_port_name_t voucher_name = k->voucher ? MACH_PORT_NULL : k->voucher_field();
  right_release(ipc, k->voucher, kPortSend);
  k->voucher = nullptr;

  Kmsg* rest = ipc.new_kmsg();
  rest->descs = std::move(k->descs);
  kmsg_destroy_now(ipc, rest);

  k->bytes.resize(kHeader);
  write_header(*k, MACH_MSGH_BITS_SET(reply_type, dest_type, k->voucher_type(), k->bits), kHeader, reply_name,
               dest_name, voucher_name);
  c.msg = std::move(k->bytes);
  append_trailer(c.msg, options, seqno, k->sender, context);
  if (c.msg.size() > rcv_size) c.msg.resize(rcv_size);
  c.result = mr;
  ipc.free_kmsg(k);
  return c;
}

Completion kmsg_copyout_pseudo(Ipc& ipc, Task& task, Kmsg* k, uint64_t msg_addr) {
  Completion c;
  Space& space = task.space;
  const mach_msg_type_name_t dest_type = k->dest_type();
  const mach_msg_type_name_t reply_type = k->reply_type();
  mach_port_name_t dest_name = MACH_PORT_NULL;
  mach_port_name_t reply_name = MACH_PORT_NULL;
  mach_msg_return_t mr = right_copyout(ipc, space, k->dest, dest_type, &dest_name);
  mr |= right_copyout(ipc, space, k->reply, reply_type, &reply_name);
  k->dest = nullptr;
  k->reply = nullptr;
  // A moved voucher goes back (the one the send processing made, if it made
  // one: XNU gives back what the message carries); a copied one was never
  // taken from the sender: the field keeps its name, the bits COPY_SEND.
  mach_msg_type_name_t voucher_type = k->voucher_type();
  mach_port_name_t voucher_name = k->voucher_field();
  if (k->voucher && k->voucher_disp == MACH_MSG_TYPE_MOVE_SEND) {
    mr |= right_copyout(ipc, space, k->voucher, kPortSend, &voucher_name);
  } else if (k->voucher) {
    right_release(ipc, k->voucher, kPortSend);
    voucher_type = MACH_MSG_TYPE_COPY_SEND;
  }
  k->voucher = nullptr;
  mr |= copyout_body(ipc, space, *k, c, msg_addr, true);
  write_header(*k, MACH_MSGH_BITS_SET(dest_type, reply_type, voucher_type, k->bits), k->size(), dest_name,
               reply_name, voucher_name);
  c.msg = std::move(k->bytes);
  c.result = mr & MACH_MSG_MASK;  // only the MACH_MSG_IPC_SPACE-style bits
  c.returned_send = true;
  ipc.free_kmsg(k);
  return c;
}

}  // namespace machd::ipc
