// machd/bootstrap/bootstrap_server.cc — see bootstrap_server.h.
#include "bootstrap_server.h"

#include <mach/mig_errors.h>
#include <mach/ndr.h>
#include <mach/notify.h>
#include <servers/bootstrap_defs.h>

#include <cstring>

namespace machd {

namespace {

constexpr mach_msg_id_t kBase = 400;
constexpr mach_msg_id_t kCheckIn = 402;
constexpr mach_msg_id_t kRegister = 403;
constexpr mach_msg_id_t kLookUp = 404;
constexpr mach_msg_id_t kParent = 406;
constexpr mach_msg_id_t kCreateService = 410;
constexpr mach_msg_id_t kLast = 416;

// Request layouts (x86_64, as MIG lays out the bootstrap subsystem).
constexpr size_t kNameOffset = 32;          // Head + NDR
constexpr size_t kNameRequestSize = 160;    // + name_t
constexpr size_t kRegisterPortOffset = 28;  // Head + body
constexpr size_t kRegisterNameOffset = 48;  // + port descriptor + NDR
constexpr size_t kRegisterSize = 176;

#pragma pack(push, 4)
struct ErrorReply {
  mach_msg_header_t head;
  NDR_record_t ndr;
  kern_return_t ret;
};
struct PortReply {
  mach_msg_header_t head;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port;
};
#pragma pack(pop)
static_assert(sizeof(ErrorReply) == 36);
static_assert(sizeof(PortReply) == 40);

std::vector<uint8_t> bytes_of(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  return std::vector<uint8_t>(b, b + n);
}

mach_msg_header_t reply_head(const mach_msg_header_t& in, size_t size, bool complex) {
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(MACH_MSGH_BITS_REMOTE(in.msgh_bits), 0) |
                (complex ? MACH_MSGH_BITS_COMPLEX : 0);
  h.msgh_size = mach_msg_size_t(size);
  h.msgh_remote_port = in.msgh_remote_port;
  h.msgh_local_port = MACH_PORT_NULL;
  h.msgh_id = in.msgh_id + 100;
  return h;
}

std::vector<uint8_t> error_reply(const mach_msg_header_t& in, kern_return_t kr) {
  ErrorReply r{};
  r.head = reply_head(in, sizeof r, false);
  r.ndr = NDR_record;
  r.ret = kr;
  return bytes_of(&r, sizeof r);
}

std::vector<uint8_t> port_reply(const mach_msg_header_t& in, mach_port_name_t name,
                                mach_msg_type_name_t disposition) {
  PortReply r{};
  r.head = reply_head(in, sizeof r, true);
  r.body.msgh_descriptor_count = 1;
  r.port.name = name;
  r.port.disposition = disposition;
  r.port.type = MACH_MSG_PORT_DESCRIPTOR;
  return bytes_of(&r, sizeof r);
}

bool read_name(const std::vector<uint8_t>& msg, size_t off, size_t size, std::string& out) {
  if (msg.size() < off + BOOTSTRAP_MAX_NAME_LEN || size < off + BOOTSTRAP_MAX_NAME_LEN) return false;
  const char* p = reinterpret_cast<const char*>(msg.data() + off);
  size_t n = strnlen(p, BOOTSTRAP_MAX_NAME_LEN);
  if (n == 0 || n == BOOTSTRAP_MAX_NAME_LEN) return false;  // empty or unterminated
  out.assign(p, n);
  return true;
}

}  // namespace

BootstrapServer::BootstrapServer(ipc::Kernel& k, mach_port_name_t kernel_set)
    : k_(k), kt_(k.kernel_task()) {
  k_.port_allocate(kt_, MACH_PORT_RIGHT_RECEIVE, &port_);
  k_.port_insert_right(kt_, kt_, port_, port_, MACH_MSG_TYPE_MAKE_SEND);
  k_.port_insert_member(kt_, port_, kernel_set);
  mach_port_limits_t lim{MACH_PORT_QLIMIT_LARGE};
  k_.port_set_attributes(kt_, port_, MACH_PORT_LIMITS_INFO, reinterpret_cast<integer_t*>(&lim),
                         MACH_PORT_LIMITS_INFO_COUNT);
  k_.port_allocate(kt_, MACH_PORT_RIGHT_RECEIVE, &notify_);
  k_.port_insert_member(kt_, notify_, kernel_set);
  k_.set_bootstrap_port(port_);
}

void BootstrapServer::watch(mach_port_name_t send) {
  mach_port_name_t prev = MACH_PORT_NULL;
  k_.port_request_notification(kt_, send, MACH_NOTIFY_DEAD_NAME, 1, notify_,
                               MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev);
  if (prev != MACH_PORT_NULL) k_.port_deallocate(kt_, prev);
}

void BootstrapServer::forget(std::map<std::string, Service>::iterator it) {
  const Service& s = it->second;
  if (s.receive != MACH_PORT_NULL) k_.port_mod_refs(kt_, s.receive, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_type_t type = 0;
  if (k_.port_type(kt_, s.send, &type) == KERN_SUCCESS) {
    if (type & MACH_PORT_TYPE_SEND) k_.port_mod_refs(kt_, s.send, MACH_PORT_RIGHT_SEND, -1);
    if (type & MACH_PORT_TYPE_DEAD_NAME) {
      mach_port_urefs_t refs = 0;
      k_.port_get_refs(kt_, s.send, MACH_PORT_RIGHT_DEAD_NAME, &refs);
      k_.port_mod_refs(kt_, s.send, MACH_PORT_RIGHT_DEAD_NAME, -mach_port_delta_t(refs));
    }
  }
  services_.erase(it);
}

void BootstrapServer::on_dead_name(mach_port_name_t name) {
  for (auto it = services_.begin(); it != services_.end(); ++it) {
    if (it->second.send == name) {
      forget(it);
      return;
    }
  }
  // Not ours any more: drop the reference the notification carried.
  k_.port_mod_refs(kt_, name, MACH_PORT_RIGHT_DEAD_NAME, -1);
}

kern_return_t BootstrapServer::check_in(const std::string& name, mach_port_name_t* receive_out) {
  auto it = services_.find(name);
  if (it != services_.end()) {
    if (it->second.receive == MACH_PORT_NULL) return BOOTSTRAP_SERVICE_ACTIVE;
    *receive_out = it->second.receive;
    it->second.receive = MACH_PORT_NULL;
    return KERN_SUCCESS;
  }
  mach_port_name_t p = MACH_PORT_NULL;
  kern_return_t kr = k_.port_allocate(kt_, MACH_PORT_RIGHT_RECEIVE, &p);
  if (kr != KERN_SUCCESS) return BOOTSTRAP_NO_MEMORY;
  k_.port_insert_right(kt_, kt_, p, p, MACH_MSG_TYPE_MAKE_SEND);
  services_[name] = Service{p, MACH_PORT_NULL};
  watch(p);  // the name goes away when the checked-in server's port dies
  *receive_out = p;
  return KERN_SUCCESS;
}

kern_return_t BootstrapServer::do_register(const std::string& name, mach_port_name_t send) {
  auto it = services_.find(name);
  if (it != services_.end()) {
    // A name whose server is alive stays; one whose server is gone (the
    // dead-name notification not yet handled) is replaced.
    mach_port_type_t type = 0;
    k_.port_type(kt_, it->second.send, &type);
    if ((type & MACH_PORT_TYPE_DEAD_NAME) == 0) return BOOTSTRAP_NAME_IN_USE;
    forget(it);
  }
  if (send == MACH_PORT_NULL || send == MACH_PORT_DEAD) return KERN_SUCCESS;  // unregister
  services_[name] = Service{send, MACH_PORT_NULL};
  watch(send);
  return KERN_SUCCESS;
}

kern_return_t BootstrapServer::look_up(const std::string& name, mach_port_name_t* send_out) {
  auto it = services_.find(name);
  if (it == services_.end()) return BOOTSTRAP_UNKNOWN_SERVICE;
  *send_out = it->second.send;
  return KERN_SUCCESS;
}

kern_return_t BootstrapServer::create_service(const std::string& name, mach_port_name_t* send_out) {
  if (services_.count(name)) return BOOTSTRAP_NAME_IN_USE;
  mach_port_name_t p = MACH_PORT_NULL;
  if (k_.port_allocate(kt_, MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return BOOTSTRAP_NO_MEMORY;
  k_.port_insert_right(kt_, kt_, p, p, MACH_MSG_TYPE_MAKE_SEND);
  services_[name] = Service{p, p};
  watch(p);
  *send_out = p;
  return KERN_SUCCESS;
}

std::vector<uint8_t> BootstrapServer::handle(const std::vector<uint8_t>& msg, bool& keep_body) {
  keep_body = false;
  if (msg.size() < sizeof(mach_msg_header_t)) return {};
  mach_msg_header_t in;
  memcpy(&in, msg.data(), sizeof in);
  const size_t size = in.msgh_size;

  if (in.msgh_local_port == notify_) {
    if (in.msgh_id == MACH_NOTIFY_DEAD_NAME && size >= 36 && msg.size() >= 36) {
      mach_port_name_t dead;
      memcpy(&dead, msg.data() + 32, sizeof dead);
      on_dead_name(dead);
    }
    return {};
  }
  const bool has_reply = in.msgh_remote_port != MACH_PORT_NULL;
  auto finish = [&](std::vector<uint8_t> r) { return has_reply ? r : std::vector<uint8_t>{}; };
  if (in.msgh_id < kBase || in.msgh_id > kLast) return finish(error_reply(in, MIG_BAD_ID));

  std::string name;
  switch (in.msgh_id) {
    case kCheckIn: {
      if (size < kNameRequestSize || (in.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
          !read_name(msg, kNameOffset, size, name))
        return finish(error_reply(in, MIG_BAD_ARGUMENTS));
      mach_port_name_t r = MACH_PORT_NULL;
      kern_return_t kr = check_in(name, &r);
      if (kr != KERN_SUCCESS) return finish(error_reply(in, kr));
      return finish(port_reply(in, r, MACH_MSG_TYPE_MOVE_RECEIVE));
    }
    case kLookUp: {
      if (size < kNameRequestSize || (in.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
          !read_name(msg, kNameOffset, size, name))
        return finish(error_reply(in, MIG_BAD_ARGUMENTS));
      mach_port_name_t s = MACH_PORT_NULL;
      kern_return_t kr = look_up(name, &s);
      if (kr != KERN_SUCCESS) return finish(error_reply(in, kr));
      return finish(port_reply(in, s, MACH_MSG_TYPE_COPY_SEND));
    }
    case kCreateService: {
      if (size < kNameRequestSize || !read_name(msg, kNameOffset, size, name))
        return finish(error_reply(in, MIG_BAD_ARGUMENTS));
      mach_port_name_t s = MACH_PORT_NULL;
      kern_return_t kr = create_service(name, &s);
      if (kr != KERN_SUCCESS) return finish(error_reply(in, kr));
      return finish(port_reply(in, s, MACH_MSG_TYPE_COPY_SEND));
    }
    case kParent:
      return finish(port_reply(in, port_, MACH_MSG_TYPE_COPY_SEND));
    case kRegister: {
      mach_msg_port_descriptor_t d{};
      if (size >= kRegisterPortOffset + sizeof d && msg.size() >= kRegisterPortOffset + sizeof d)
        memcpy(&d, msg.data() + kRegisterPortOffset, sizeof d);
      bool ok = (in.msgh_bits & MACH_MSGH_BITS_COMPLEX) && size >= kRegisterSize &&
                msg.size() >= kRegisterSize && d.type == MACH_MSG_PORT_DESCRIPTOR &&
                read_name(msg, kRegisterNameOffset, size, name);
      kern_return_t kr = ok ? do_register(name, d.name) : MIG_BAD_ARGUMENTS;
      keep_body = kr == KERN_SUCCESS;  // on error the request's right is released
      return finish(error_reply(in, kr));
    }
    default:
      return finish(error_reply(in, KERN_NOT_SUPPORTED));
  }
}

}  // namespace machd
