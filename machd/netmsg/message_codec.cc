// machd/netmsg/message_codec.cc — Mach messages to and from Cap'n Proto
// (message_codec.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "message_codec.h"

#include <kj/debug.h>

#include <cstring>

namespace netmsg {

mach_msg_size_t descriptor_size(const mach_msg_type_descriptor_t* d) {
  switch (d->type) {
    case MACH_MSG_PORT_DESCRIPTOR: return sizeof(mach_msg_port_descriptor_t);
    case MACH_MSG_OOL_DESCRIPTOR:
    case MACH_MSG_OOL_VOLATILE_DESCRIPTOR: return sizeof(mach_msg_ool_descriptor_t);
    case MACH_MSG_OOL_PORTS_DESCRIPTOR: return sizeof(mach_msg_ool_ports_descriptor_t);
    case MACH_MSG_GUARDED_PORT_DESCRIPTOR: return sizeof(mach_msg_guarded_port_descriptor_t);
    default: return 0;
  }
}

bool encode_message(ReceivedMessage& in, RightTranslator& rights, Message::Builder out) {
  mach_msg_header_t* h = in.header();
  uint8_t* const base = in.bytes.data();
  uint8_t* const end = base + h->msgh_size;
  // Every descriptor known and inside the message before any right moves:
  // otherwise the message is destroyed whole, nothing half exported.
  if ((h->msgh_bits & MACH_MSGH_BITS_COMPLEX) != 0) {
    uint8_t* q = base + sizeof(mach_msg_header_t);
    bool ok = q + sizeof(mach_msg_body_t) <= end;
    const mach_msg_size_t count = ok ? reinterpret_cast<mach_msg_body_t*>(q)->msgh_descriptor_count : 0;
    q += sizeof(mach_msg_body_t);
    uint64_t ool_bytes = 0;
    for (mach_msg_size_t i = 0; ok && i < count; i++) {
      auto* d = reinterpret_cast<mach_msg_type_descriptor_t*>(q);
      const mach_msg_size_t size = q + sizeof(mach_msg_type_descriptor_t) <= end ? descriptor_size(d) : 0;
      ok = size != 0 && q + size <= end;
      if (ok && (d->type == MACH_MSG_OOL_DESCRIPTOR || d->type == MACH_MSG_OOL_VOLATILE_DESCRIPTOR)) {
        const uint64_t n = reinterpret_cast<mach_msg_ool_descriptor_t*>(q)->size;
        ool_bytes += n;
        ok = n <= kMaxOutOfLineRegion && ool_bytes <= kMaxOutOfLineMessage;
      }
      q += size;
    }
    if (!ok) {
      mach_msg_destroy(h);
      return false;
    }
  }
  out.setId(h->msgh_id);
  if (MACH_MSGH_BITS_VOUCHER(h->msgh_bits) != 0 && MACH_PORT_VALID(h->msgh_voucher_port))
    mach_port_deallocate(mach_task_self(), h->msgh_voucher_port);
  rights.export_right(h->msgh_remote_port, MACH_MSGH_BITS_REMOTE(h->msgh_bits), out.initReply());

  uint8_t* p = base + sizeof(mach_msg_header_t);
  const bool complex = (h->msgh_bits & MACH_MSGH_BITS_COMPLEX) != 0;
  out.setComplex(complex);
  if (complex) {
    const mach_msg_size_t count = reinterpret_cast<mach_msg_body_t*>(p)->msgh_descriptor_count;
    p += sizeof(mach_msg_body_t);
    auto list = out.initDescriptors(count);
    for (mach_msg_size_t i = 0; i < count; i++) {
      auto* d = reinterpret_cast<mach_msg_type_descriptor_t*>(p);
      const mach_msg_size_t size = descriptor_size(d);  // checked above
      auto slot = list[i];
      switch (d->type) {
        case MACH_MSG_PORT_DESCRIPTOR: {
          auto* pd = reinterpret_cast<mach_msg_port_descriptor_t*>(p);
          rights.export_right(pd->name, pd->disposition, slot.initPort());
          break;
        }
        case MACH_MSG_GUARDED_PORT_DESCRIPTOR: {
          auto* gd = reinterpret_cast<mach_msg_guarded_port_descriptor_t*>(p);
          rights.export_right(gd->name, gd->disposition, slot.initPort());
          break;
        }
        case MACH_MSG_OOL_DESCRIPTOR:
        case MACH_MSG_OOL_VOLATILE_DESCRIPTOR: {
          auto* od = reinterpret_cast<mach_msg_ool_descriptor_t*>(p);
          auto ool = slot.initOutOfLine();
          ool.setCopy(od->copy);
          if (od->size > 0) {
            ool.setData(kj::arrayPtr(static_cast<const kj::byte*>(od->address), od->size));
            vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(od->address), od->size);
          }
          break;
        }
        case MACH_MSG_OOL_PORTS_DESCRIPTOR: {
          auto* od = reinterpret_cast<mach_msg_ool_ports_descriptor_t*>(p);
          auto refs = slot.initOutOfLinePorts().initPorts(od->count);
          auto* names = static_cast<mach_port_t*>(od->address);
          for (mach_msg_size_t k = 0; k < od->count; k++) rights.export_right(names[k], od->disposition, refs[k]);
          if (od->count > 0)
            vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(od->address),
                          od->count * sizeof(mach_port_t));
          break;
        }
      }
      p += size;
    }
  }
  if (p < end) out.setInline(kj::arrayPtr(p, end - p));
  return true;
}

kj::Own<OutgoingMessage> decode_message(Message::Reader in, mach_port_t dest, mach_msg_type_name_t dest_disposition,
                                        RightTranslator& rights) {
  auto msg = kj::heap<OutgoingMessage>();
  const auto descriptors = in.getDescriptors();
  const auto inline_data = in.getInline();
  size_t size = sizeof(mach_msg_header_t);
  if (in.getComplex()) {
    size += sizeof(mach_msg_body_t);
    for (auto d : descriptors) {
      switch (d.which()) {
        case Descriptor::PORT: size += sizeof(mach_msg_port_descriptor_t); break;
        case Descriptor::OUT_OF_LINE: size += sizeof(mach_msg_ool_descriptor_t); break;
        case Descriptor::OUT_OF_LINE_PORTS: size += sizeof(mach_msg_ool_ports_descriptor_t); break;
      }
    }
  } else {
    KJ_REQUIRE(descriptors.size() == 0, "descriptors in a simple message");
  }
  size += inline_data.size();
  KJ_REQUIRE(size % 4 == 0 && size <= MACH_MSG_SIZE_MAX, "message size", size);
  msg->bytes.assign(size, 0);

  mach_port_t reply = MACH_PORT_NULL;
  mach_msg_type_name_t reply_disposition = 0;
  rights.import_right(in.getReply(), &reply, &reply_disposition, *msg);
  mach_msg_header_t* h = msg->header();
  h->msgh_bits = MACH_MSGH_BITS(dest_disposition, reply == MACH_PORT_NULL ? 0 : reply_disposition) |
                 (in.getComplex() ? MACH_MSGH_BITS_COMPLEX : 0);
  h->msgh_size = static_cast<mach_msg_size_t>(size);
  h->msgh_remote_port = dest;
  h->msgh_local_port = reply;
  h->msgh_voucher_port = MACH_PORT_NULL;
  h->msgh_id = in.getId();

  uint8_t* p = msg->bytes.data() + sizeof(mach_msg_header_t);
  if (in.getComplex()) {
    reinterpret_cast<mach_msg_body_t*>(p)->msgh_descriptor_count = descriptors.size();
    p += sizeof(mach_msg_body_t);
    for (auto d : descriptors) {
      switch (d.which()) {
        case Descriptor::PORT: {
          auto* pd = reinterpret_cast<mach_msg_port_descriptor_t*>(p);
          mach_port_t name = MACH_PORT_NULL;
          mach_msg_type_name_t disposition = MACH_MSG_TYPE_MOVE_SEND;
          rights.import_right(d.getPort(), &name, &disposition, *msg);
          pd->name = name;
          pd->disposition = disposition;
          pd->type = MACH_MSG_PORT_DESCRIPTOR;
          p += sizeof *pd;
          break;
        }
        case Descriptor::OUT_OF_LINE: {
          auto* od = reinterpret_cast<mach_msg_ool_descriptor_t*>(p);
          auto data = d.getOutOfLine().getData();
          od->address = data.size() ? const_cast<kj::byte*>(data.begin()) : nullptr;
          od->size = data.size();
          od->deallocate = FALSE;
          od->copy = MACH_MSG_VIRTUAL_COPY;
          od->type = MACH_MSG_OOL_DESCRIPTOR;
          p += sizeof *od;
          break;
        }
        case Descriptor::OUT_OF_LINE_PORTS: {
          auto* od = reinterpret_cast<mach_msg_ool_ports_descriptor_t*>(p);
          auto refs = d.getOutOfLinePorts().getPorts();
          std::vector<mach_port_t> names(refs.size());
          // One disposition for the array: rights this host has (yours)
          // are copied, new proxies made; MOVE_SEND for each keeps one rule.
          mach_msg_type_name_t disposition = MACH_MSG_TYPE_MOVE_SEND;
          for (size_t k = 0; k < refs.size(); k++) {
            mach_msg_type_name_t one = MACH_MSG_TYPE_MOVE_SEND;
            rights.import_right(refs[k], &names[k], &one, *msg);
            // The array has one disposition: a right made or copied for it
            // becomes an extra reference this task moves.
            // (import_right makes send-once rights itself and moves them.)
            if (names[k] != MACH_PORT_NULL && names[k] != MACH_PORT_DEAD && one != MACH_MSG_TYPE_MOVE_SEND &&
                one != MACH_MSG_TYPE_MOVE_SEND_ONCE) {
              mach_port_insert_right(mach_task_self(), names[k], names[k], one);
              one = MACH_MSG_TYPE_MOVE_SEND;
              msg->owned.push_back({names[k], one});
            }
            disposition = one;
          }
          msg->port_arrays.push_back(kj::mv(names));
          od->address = msg->port_arrays.back().empty() ? nullptr : msg->port_arrays.back().data();
          od->count = static_cast<mach_msg_size_t>(refs.size());
          od->deallocate = FALSE;
          od->copy = MACH_MSG_PHYSICAL_COPY;
          od->disposition = disposition;
          od->type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
          p += sizeof *od;
          break;
        }
      }
    }
  }
  if (inline_data.size()) std::memcpy(p, inline_data.begin(), inline_data.size());
  return msg;
}

}  // namespace netmsg
