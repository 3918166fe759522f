// See fake_kernel.h. Not a model of Mach (machd is): just enough kernel to
// move MIG messages between stubs of one process and account for what they
// carry.
#include "fake_kernel.h"

#include <cstdlib>
#include <cstring>
#include <memory>

namespace fake {
namespace {

struct State {
  std::map<mach_port_name_t, PortState> ports;
  std::map<vm_address_t, vm_size_t> regions;
  std::vector<std::string> errors;
  mach_port_name_t next_name = 0x1003;
  mach_port_name_t reply_port = MACH_PORT_NULL;
  Demux server;
  mach_port_seqno_t seqno = 0;
  mach_msg_size_t last_size = 0;
  mach_msg_id_t last_id = 0;
};

State& st() {
  static State s;
  return s;
}

void error(const std::string& e) { st().errors.push_back(e); }

enum class Kind { None, Send, SendOnce, Receive };

mach_msg_type_name_t received_type(Kind k) {
  switch (k) {
    case Kind::Send: return MACH_MSG_TYPE_PORT_SEND;
    case Kind::SendOnce: return MACH_MSG_TYPE_PORT_SEND_ONCE;
    case Kind::Receive: return MACH_MSG_TYPE_PORT_RECEIVE;
    default: return 0;
  }
}

// The sender gives up (or copies) a right; returns what travels.
Kind take(mach_port_name_t name, mach_msg_type_name_t disp) {
  if (!MACH_PORT_VALID(name)) return Kind::None;
  auto it = st().ports.find(name);
  if (it == st().ports.end()) {
    error("send of unknown name " + std::to_string(name));
    return Kind::None;
  }
  PortState& p = it->second;
  switch (disp) {
    case MACH_MSG_TYPE_MOVE_RECEIVE:
      if (!p.receive) error("MOVE_RECEIVE without a receive right");
      p.receive = false;
      return Kind::Receive;
    case MACH_MSG_TYPE_MOVE_SEND:
      if (p.send <= 0) error("MOVE_SEND without a send right");
      --p.send;
      return Kind::Send;
    case MACH_MSG_TYPE_MOVE_SEND_ONCE:
      if (p.send_once <= 0) error("MOVE_SEND_ONCE without a send-once right");
      --p.send_once;
      return Kind::SendOnce;
    case MACH_MSG_TYPE_COPY_SEND:
      if (p.send <= 0) error("COPY_SEND without a send right");
      return Kind::Send;
    case MACH_MSG_TYPE_MAKE_SEND:
      if (!p.receive) error("MAKE_SEND without a receive right");
      return Kind::Send;
    case MACH_MSG_TYPE_MAKE_SEND_ONCE:
      if (!p.receive) error("MAKE_SEND_ONCE without a receive right");
      return Kind::SendOnce;
    default:
      error("bad disposition " + std::to_string(disp));
      return Kind::None;
  }
}

void give(mach_port_name_t name, Kind k) {
  if (!MACH_PORT_VALID(name) || k == Kind::None) return;
  PortState& p = st().ports[name];
  if (k == Kind::Send) ++p.send;
  if (k == Kind::SendOnce) ++p.send_once;
  if (k == Kind::Receive) p.receive = true;
}

// A received right given back (mach_msg_destroy of a received message).
void drop(mach_port_name_t name, mach_msg_type_name_t type) {
  if (!MACH_PORT_VALID(name)) return;
  switch (type) {
    case MACH_MSG_TYPE_PORT_RECEIVE:
      (void)mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
      break;
    case MACH_MSG_TYPE_PORT_SEND:
    case MACH_MSG_TYPE_PORT_SEND_ONCE:
      (void)mach_port_deallocate(mach_task_self(), name);
      break;
    default: break;
  }
}

vm_address_t new_region(const void* src, vm_size_t size) {
  if (size == 0) return 0;
  void* p = std::calloc(1, size);
  if (src) std::memcpy(p, src, size);
  vm_address_t a = reinterpret_cast<vm_address_t>(p);
  st().regions[a] = size;
  return a;
}

void free_region(vm_address_t a, vm_size_t size, const char* who) {
  if (a == 0 || size == 0) return;
  auto it = st().regions.find(a);
  if (it == st().regions.end()) {
    error(std::string(who) + ": region not allocated (double free?)");
    return;
  }
  if (it->second != size) error(std::string(who) + ": region size differs");
  std::free(reinterpret_cast<void*>(a));
  st().regions.erase(it);
}

// A message in flight: its bytes with kernel-held rights and copies.
struct InFlight {
  std::vector<char> bytes;
  Kind remote = Kind::None;   // right carried for the receiver's reply port
  mach_port_name_t reply = MACH_PORT_NULL;
  mach_port_name_t dest = MACH_PORT_NULL;
  struct Item {
    size_t offset;
    mach_msg_descriptor_type_t type;
    std::vector<Kind> kinds;            // ports / ool ports
    std::vector<mach_port_name_t> names;
    std::vector<char> data;             // ool
  };
  std::vector<Item> items;
};

bool copyin(mach_msg_header_t* msg, mach_msg_size_t size, InFlight& f) {
  if (size < sizeof(mach_msg_header_t) || size % 4) {
    error("bad send size " + std::to_string(size));
    return false;
  }
  f.bytes.assign(reinterpret_cast<char*>(msg), reinterpret_cast<char*>(msg) + size);
  mach_msg_bits_t bits = msg->msgh_bits;
  f.dest = msg->msgh_remote_port;
  (void)take(f.dest, MACH_MSGH_BITS_REMOTE(bits));
  f.reply = msg->msgh_local_port;
  f.remote = take(f.reply, MACH_MSGH_BITS_LOCAL(bits));
  if (!(bits & MACH_MSGH_BITS_COMPLEX)) return true;
  auto* body = reinterpret_cast<mach_msg_body_t*>(msg + 1);
  char* p = reinterpret_cast<char*>(body + 1);
  for (mach_msg_size_t i = 0; i < body->msgh_descriptor_count; ++i) {
    auto* d = reinterpret_cast<mach_msg_type_descriptor_t*>(p);
    InFlight::Item it;
    it.offset = static_cast<size_t>(p - reinterpret_cast<char*>(msg));
    it.type = d->type;
    switch (d->type) {
      case MACH_MSG_PORT_DESCRIPTOR: {
        auto* pd = reinterpret_cast<mach_msg_port_descriptor_t*>(p);
        it.names.push_back(pd->name);
        it.kinds.push_back(take(pd->name, pd->disposition));
        p += sizeof(*pd);
        break;
      }
      case MACH_MSG_OOL_DESCRIPTOR: {
        auto* od = reinterpret_cast<mach_msg_ool_descriptor_t*>(p);
        const char* src = static_cast<const char*>(od->address);
        if (od->size) it.data.assign(src, src + od->size);
        if (od->deallocate)
          free_region(reinterpret_cast<vm_address_t>(od->address), od->size, "ool deallocate");
        p += sizeof(*od);
        break;
      }
      case MACH_MSG_OOL_PORTS_DESCRIPTOR: {
        auto* od = reinterpret_cast<mach_msg_ool_ports_descriptor_t*>(p);
        auto* names = static_cast<mach_port_t*>(od->address);
        for (mach_msg_size_t j = 0; j < od->count; ++j) {
          it.names.push_back(names[j]);
          it.kinds.push_back(take(names[j], od->disposition));
        }
        if (od->deallocate)
          free_region(reinterpret_cast<vm_address_t>(od->address),
                      od->count * sizeof(mach_port_t), "ool ports deallocate");
        p += sizeof(*od);
        break;
      }
      default:
        error("unknown descriptor type");
        return false;
    }
    f.items.push_back(std::move(it));
  }
  return true;
}

// Writes the message for its receiver, with a full trailer of `trailer`
// bytes (the receive buffer must have room).
mach_msg_return_t copyout(InFlight& f, mach_msg_header_t* out, mach_msg_size_t room,
                          mach_msg_size_t trailer) {
  mach_msg_size_t size = static_cast<mach_msg_size_t>(f.bytes.size());
  if (size + trailer > room) {
    error("receive buffer too small: " + std::to_string(size + trailer) + " > " +
          std::to_string(room));
    return MACH_RCV_TOO_LARGE;
  }
  std::memcpy(out, f.bytes.data(), size);
  mach_msg_bits_t complex = out->msgh_bits & MACH_MSGH_BITS_COMPLEX;
  out->msgh_bits = complex | MACH_MSGH_BITS(received_type(f.remote), 0);
  out->msgh_remote_port = f.reply;
  out->msgh_local_port = f.dest;
  out->msgh_size = size;
  give(f.reply, f.remote);
  char* base = reinterpret_cast<char*>(out);
  for (auto& it : f.items) {
    char* p = base + it.offset;
    switch (it.type) {
      case MACH_MSG_PORT_DESCRIPTOR: {
        auto* pd = reinterpret_cast<mach_msg_port_descriptor_t*>(p);
        give(it.names[0], it.kinds[0]);
        pd->name = it.kinds[0] == Kind::None ? MACH_PORT_NULL : it.names[0];
        pd->disposition = received_type(it.kinds[0]);
        break;
      }
      case MACH_MSG_OOL_DESCRIPTOR: {
        auto* od = reinterpret_cast<mach_msg_ool_descriptor_t*>(p);
        od->address = reinterpret_cast<void*>(new_region(it.data.data(), it.data.size()));
        od->deallocate = FALSE;
        break;
      }
      case MACH_MSG_OOL_PORTS_DESCRIPTOR: {
        auto* od = reinterpret_cast<mach_msg_ool_ports_descriptor_t*>(p);
        std::vector<mach_port_t> names(it.names.size());
        for (size_t j = 0; j < it.names.size(); ++j) {
          give(it.names[j], it.kinds[j]);
          names[j] = it.names[j];
          if (it.kinds[j] != Kind::None) od->disposition = received_type(it.kinds[j]);
        }
        od->address = reinterpret_cast<void*>(
            new_region(names.data(), names.size() * sizeof(mach_port_t)));
        od->deallocate = FALSE;
        break;
      }
      default: break;
    }
  }
  auto* t = reinterpret_cast<mach_msg_max_trailer_t*>(base + round_msg(size));
  std::memset(t, 0, trailer);
  t->msgh_trailer_type = MACH_MSG_TRAILER_FORMAT_0;
  t->msgh_trailer_size = trailer;
  if (trailer >= 12) t->msgh_seqno = st().seqno++;
  if (trailer >= 20) t->msgh_sender.val[0] = 501;
  if (trailer >= 52) {
    t->msgh_audit.val[1] = 501;
    t->msgh_audit.val[5] = 4242;  // pid
  }
  return MACH_MSG_SUCCESS;
}

// Drops the kernel's copy of a message nobody receives.
void discard(InFlight& f) {
  for (auto& it : f.items)
    for (size_t j = 0; j < it.names.size(); ++j) {
      // A right in flight that nobody receives: give it back to the space
      // and destroy it, as the kernel would.
      give(it.names[j], it.kinds[j]);
      drop(it.names[j], received_type(it.kinds[j]));
    }
  give(f.reply, f.remote);
  drop(f.reply, received_type(f.remote));
}

alignas(16) char g_request[1 << 16];
alignas(16) char g_reply[1 << 16];

mach_msg_return_t deliver(mach_msg_header_t* msg, mach_msg_option_t option,
                          mach_msg_size_t send_size, mach_msg_size_t rcv_size,
                          bool rpc) {
  InFlight req;
  if (!copyin(msg, send_size, req)) return MACH_SEND_MSG_TOO_SMALL;
  State& s = st();
  s.last_size = send_size;
  s.last_id = msg->msgh_id;
  if (!s.server) {
    discard(req);
    return MACH_SEND_INVALID_DEST;
  }
  auto* in = reinterpret_cast<mach_msg_header_t*>(g_request);
  mach_msg_return_t r =
      copyout(req, in, sizeof g_request, sizeof(mach_msg_max_trailer_t));
  if (r != MACH_MSG_SUCCESS) return r;
  std::memset(g_reply, 0, sizeof g_reply);
  auto* out = reinterpret_cast<mach_msg_header_t*>(g_reply);
  (void)s.server(in, out);

  // What mach_msg_server() does with the reply.
  auto* err = reinterpret_cast<mig_reply_error_t*>(out);
  if (!(out->msgh_bits & MACH_MSGH_BITS_COMPLEX)) {
    if (err->RetCode == MIG_NO_REPLY) {
      out->msgh_remote_port = MACH_PORT_NULL;
    } else if (err->RetCode != KERN_SUCCESS) {
      in->msgh_remote_port = MACH_PORT_NULL;
      mach_msg_destroy(in);
    }
  }
  if (!MACH_PORT_VALID(out->msgh_remote_port)) {
    return rpc ? MACH_RCV_TIMED_OUT : MACH_MSG_SUCCESS;
  }
  InFlight rep;
  if (!copyin(out, out->msgh_size, rep)) return MACH_RCV_INVALID_DATA;
  if (!rpc) {
    discard(rep);
    return MACH_MSG_SUCCESS;
  }
  // The reply goes to the client's reply port, where it waits.
  return copyout(rep, msg, rcv_size, REQUESTED_TRAILER_SIZE(option));
}

}  // namespace

void set_server(Demux demux) { st().server = std::move(demux); }

mach_port_name_t new_port(int sends) {
  mach_port_name_t n = st().next_name;
  st().next_name += 4;
  PortState p;
  p.receive = true;
  p.send = sends;
  st().ports[n] = p;
  return n;
}

PortState port(mach_port_name_t name) {
  auto it = st().ports.find(name);
  return it == st().ports.end() ? PortState{} : it->second;
}

void* allocate(vm_size_t size) {
  vm_address_t a = 0;
  (void)vm_allocate(mach_task_self(), &a, size, VM_FLAGS_ANYWHERE);
  return reinterpret_cast<void*>(a);
}

Snapshot snapshot() {
  Snapshot s;
  for (const auto& [n, p] : st().ports)
    if (p.send || p.send_once || p.receive) s.ports[n] = p;
  s.regions = st().regions;
  return s;
}

const std::vector<std::string>& errors() { return st().errors; }

void reset() {
  st().errors.clear();
  st().server = nullptr;
}

mach_msg_size_t last_request_size() { return st().last_size; }
mach_msg_id_t last_request_id() { return st().last_id; }

mach_msg_return_t raw_rpc(mach_msg_header_t* request, mach_msg_size_t size,
                          mach_msg_header_t* reply, mach_msg_size_t reply_size) {
  std::vector<char> buf(std::max<size_t>(size, reply_size + sizeof(mach_msg_max_trailer_t)));
  std::memcpy(buf.data(), request, size);
  auto* m = reinterpret_cast<mach_msg_header_t*>(buf.data());
  mach_msg_return_t r = deliver(m, MACH_SEND_MSG | MACH_RCV_MSG, size,
                                static_cast<mach_msg_size_t>(buf.size()), true);
  std::memcpy(reply, buf.data(), reply_size);
  return r;
}

}  // namespace fake

// ----------------------------------------------------- the C interface --

extern "C" {

mach_port_t mach_task_self_ = 0x103;
NDR_record_t NDR_record = {0, 0, 0, 0, 1, 0, 0, 0};

kern_return_t vm_allocate(vm_map_t, vm_address_t* address, vm_size_t size, int) {
  *address = fake::new_region(nullptr, size);
  return KERN_SUCCESS;
}

kern_return_t vm_deallocate(vm_map_t, vm_address_t address, vm_size_t size) {
  fake::free_region(address, size, "vm_deallocate");
  return KERN_SUCCESS;
}

void mig_deallocate(vm_address_t addr, vm_size_t size) {
  (void)vm_deallocate(mach_task_self(), addr, size);
}

void mig_allocate(vm_address_t* addr, vm_size_t size) {
  (void)vm_allocate(mach_task_self(), addr, size, VM_FLAGS_ANYWHERE);
}

kern_return_t mach_port_deallocate(ipc_space_t, mach_port_name_t name) {
  auto it = fake::st().ports.find(name);
  if (it == fake::st().ports.end()) {
    fake::error("mach_port_deallocate of unknown name");
    return KERN_INVALID_NAME;
  }
  if (it->second.send_once > 0) {
    --it->second.send_once;
  } else if (it->second.send > 0) {
    --it->second.send;
  } else {
    fake::error("mach_port_deallocate without a send right");
    return KERN_INVALID_RIGHT;
  }
  return KERN_SUCCESS;
}

kern_return_t mach_port_mod_refs(ipc_space_t, mach_port_name_t name, mach_port_right_t right,
                                 mach_port_delta_t delta) {
  auto it = fake::st().ports.find(name);
  if (it == fake::st().ports.end() || right != MACH_PORT_RIGHT_RECEIVE || delta != -1 ||
      !it->second.receive) {
    fake::error("mach_port_mod_refs: bad use");
    return KERN_INVALID_RIGHT;
  }
  it->second.receive = false;
  return KERN_SUCCESS;
}

mach_port_t mig_get_reply_port(void) {
  if (!MACH_PORT_VALID(fake::st().reply_port)) fake::st().reply_port = fake::new_port();
  return fake::st().reply_port;
}
void mig_dealloc_reply_port(mach_port_t) {}
void mig_put_reply_port(mach_port_t) {}

int mig_strncpy(char* dest, const char* src, int len) {
  if (len <= 0) return 0;
  int i = 0;
  for (; i < len - 1 && src[i]; ++i) dest[i] = src[i];
  dest[i] = '\0';
  return i + 1;
}

int mig_strncpy_zerofill(char* dest, const char* src, int len) {
  int n = mig_strncpy(dest, src, len);
  if (n < len) std::memset(dest + n, 0, static_cast<size_t>(len - n));
  return n;
}

mach_msg_return_t mach_msg(mach_msg_header_t* msg, mach_msg_option_t option,
                           mach_msg_size_t send_size, mach_msg_size_t rcv_size,
                           mach_port_name_t, mach_msg_timeout_t, mach_port_name_t) {
  if (!(option & MACH_SEND_MSG)) return MACH_RCV_INVALID_NAME;
  return fake::deliver(msg, option, send_size, rcv_size, (option & MACH_RCV_MSG) != 0);
}

void mach_msg_destroy(mach_msg_header_t* msg) {
  mach_msg_bits_t bits = msg->msgh_bits;
  fake::drop(msg->msgh_remote_port, MACH_MSGH_BITS_REMOTE(bits));
  fake::drop(msg->msgh_local_port, MACH_MSGH_BITS_LOCAL(bits));
  if (!(bits & MACH_MSGH_BITS_COMPLEX)) return;
  auto* body = reinterpret_cast<mach_msg_body_t*>(msg + 1);
  char* p = reinterpret_cast<char*>(body + 1);
  for (mach_msg_size_t i = 0; i < body->msgh_descriptor_count; ++i) {
    auto* d = reinterpret_cast<mach_msg_type_descriptor_t*>(p);
    switch (d->type) {
      case MACH_MSG_PORT_DESCRIPTOR: {
        auto* pd = reinterpret_cast<mach_msg_port_descriptor_t*>(p);
        fake::drop(pd->name, pd->disposition);
        p += sizeof(*pd);
        break;
      }
      case MACH_MSG_OOL_DESCRIPTOR: {
        auto* od = reinterpret_cast<mach_msg_ool_descriptor_t*>(p);
        if (od->size)
          (void)vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(od->address),
                              od->size);
        p += sizeof(*od);
        break;
      }
      case MACH_MSG_OOL_PORTS_DESCRIPTOR: {
        auto* od = reinterpret_cast<mach_msg_ool_ports_descriptor_t*>(p);
        auto* names = static_cast<mach_port_t*>(od->address);
        for (mach_msg_size_t j = 0; j < od->count; ++j) fake::drop(names[j], od->disposition);
        if (od->count)
          (void)vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(od->address),
                              od->count * sizeof(mach_port_t));
        p += sizeof(*od);
        break;
      }
      default: return;
    }
  }
}

}  // extern "C"
