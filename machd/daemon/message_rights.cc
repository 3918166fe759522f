// machd/daemon/message_rights.cc — see message_rights.h.
#include "message_rights.h"

#include <cstring>

namespace machd {

namespace {

void release(ipc::Kernel& k, ipc::TaskId task, mach_port_name_t name, mach_msg_type_name_t type) {
  if (!MACH_PORT_VALID(name)) return;
  switch (type) {
    case MACH_MSG_TYPE_PORT_RECEIVE:
      k.port_mod_refs(task, name, MACH_PORT_RIGHT_RECEIVE, -1);
      break;
    case MACH_MSG_TYPE_PORT_SEND:
    case MACH_MSG_TYPE_PORT_SEND_ONCE:
      k.port_deallocate(task, name);
      break;
    default:
      break;
  }
}

}  // namespace

void release_message_rights(ipc::Kernel& k, ipc::TaskId task, const ipc::Completion& c, bool header,
                            bool body) {
  const auto& m = c.msg;
  if (m.size() < sizeof(mach_msg_header_t)) return;
  mach_msg_header_t h;
  memcpy(&h, m.data(), sizeof h);
  if (header) {
    release(k, task, h.msgh_remote_port, MACH_MSGH_BITS_REMOTE(h.msgh_bits));
    release(k, task, h.msgh_voucher_port, MACH_MSGH_BITS_VOUCHER(h.msgh_bits));
  }
  if (!body || (h.msgh_bits & MACH_MSGH_BITS_COMPLEX) == 0) return;
  if (m.size() < sizeof h + sizeof(mach_msg_body_t)) return;
  mach_msg_body_t b;
  memcpy(&b, m.data() + sizeof h, sizeof b);
  size_t off = sizeof h + sizeof b;
  size_t ool_ports = 0;
  for (uint32_t i = 0; i < b.msgh_descriptor_count; ++i) {
    if (off + sizeof(mach_msg_type_descriptor_t) > m.size()) return;
    mach_msg_type_descriptor_t t;
    memcpy(&t, m.data() + off, sizeof t);
    switch (t.type) {
      case MACH_MSG_PORT_DESCRIPTOR: {
        if (off + sizeof(mach_msg_port_descriptor_t) > m.size()) return;
        mach_msg_port_descriptor_t d;
        memcpy(&d, m.data() + off, sizeof d);
        release(k, task, d.name, d.disposition);
        off += sizeof d;
        break;
      }
      case MACH_MSG_GUARDED_PORT_DESCRIPTOR: {
        if (off + sizeof(mach_msg_guarded_port_descriptor_t) > m.size()) return;
        mach_msg_guarded_port_descriptor_t d;
        memcpy(&d, m.data() + off, sizeof d);
        release(k, task, d.name, d.disposition);
        off += sizeof d;
        break;
      }
      case MACH_MSG_OOL_PORTS_DESCRIPTOR: {
        if (off + sizeof(mach_msg_ool_ports_descriptor_t) > m.size()) return;
        mach_msg_ool_ports_descriptor_t d;
        memcpy(&d, m.data() + off, sizeof d);
        if (ool_ports < c.ool_ports.size())
          for (mach_port_name_t n : c.ool_ports[ool_ports].names) release(k, task, n, d.disposition);
        ++ool_ports;
        off += sizeof d;
        break;
      }
      default:  // out-of-line memory: no rights
        off += sizeof(mach_msg_ool_descriptor_t);
        break;
    }
  }
}

}  // namespace machd
