// libmach-compat/src/bootstrap.cc — the bootstrap name service client.
//
// Each call is an RPC in the classic bootstrap subsystem (MIG subsystem 400)
// to `bp`, laid out exactly as MIG lays it out, so a server of the same
// interface (machd's, or a program's own) answers it.
#include <mach/mach.h>
#include <mach/mig_errors.h>
#include <servers/bootstrap.h>

#include <cstring>

namespace {

constexpr mach_msg_id_t kCheckIn = 402;
constexpr mach_msg_id_t kRegister = 403;
constexpr mach_msg_id_t kLookUp = 404;
constexpr mach_msg_id_t kParent = 406;
constexpr mach_msg_id_t kCreateService = 410;

#pragma pack(push, 4)
struct NameRequest {  // check_in, look_up, create_service
  mach_msg_header_t head;
  NDR_record_t ndr;
  name_t name;
};
struct RegisterRequest {
  mach_msg_header_t head;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port;
  NDR_record_t ndr;
  name_t name;
};
struct PortReply {
  mach_msg_header_t head;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port;
};
union ReplyBuffer {
  mig_reply_error_t error;
  PortReply port;
  uint8_t space[sizeof(PortReply) + MAX_TRAILER_SIZE];
};
#pragma pack(pop)
static_assert(sizeof(NameRequest) == 160);
static_assert(sizeof(RegisterRequest) == 176);
static_assert(sizeof(PortReply) == 40);

// Sends `req` (header filled here) and waits for the reply. If `port_out`
// is set, a port reply is expected. Returns the RPC's result.
kern_return_t rpc(mach_port_t bp, mach_msg_header_t* req, mach_msg_size_t size, mach_msg_id_t id, bool complex,
                  mach_port_t* port_out) {
  mach_port_t reply = mig_get_reply_port();
  req->msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE) |
                   (complex ? MACH_MSGH_BITS_COMPLEX : 0);
  req->msgh_size = size;
  req->msgh_remote_port = bp;
  req->msgh_local_port = reply;
  req->msgh_voucher_port = MACH_PORT_NULL;
  req->msgh_id = id;
  ReplyBuffer buf;
  mach_msg_return_t mr = mach_msg_overwrite(req, MACH_SEND_MSG | MACH_RCV_MSG, size, sizeof buf, reply,
                                            MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL, &buf.error.Head, 0);
  if (mr != MACH_MSG_SUCCESS) {
    if (mr == MACH_SEND_INVALID_REPLY || (mr & ~MACH_MSG_MASK) >= MACH_RCV_IN_PROGRESS) mig_dealloc_reply_port(reply);
    return mr;
  }
  mach_msg_header_t& h = buf.error.Head;
  if (h.msgh_id != id + 100) {
    mach_msg_destroy(&h);
    return h.msgh_id == MACH_NOTIFY_SEND_ONCE ? MIG_SERVER_DIED : MIG_REPLY_MISMATCH;
  }
  if (port_out && (h.msgh_bits & MACH_MSGH_BITS_COMPLEX) && h.msgh_size == sizeof(PortReply) &&
      buf.port.body.msgh_descriptor_count == 1 && buf.port.port.type == MACH_MSG_PORT_DESCRIPTOR) {
    *port_out = buf.port.port.name;
    return KERN_SUCCESS;
  }
  if (!(h.msgh_bits & MACH_MSGH_BITS_COMPLEX) && h.msgh_size == sizeof(mig_reply_error_t)) {
    kern_return_t kr = buf.error.RetCode;
    if (kr == KERN_SUCCESS && port_out) return MIG_TYPE_ERROR;
    return kr;
  }
  mach_msg_destroy(&h);
  return MIG_TYPE_ERROR;
}

kern_return_t name_rpc(mach_port_t bp, const char* name, mach_msg_id_t id, mach_port_t* out) {
  if (out == nullptr) return KERN_INVALID_ARGUMENT;
  NameRequest req{};
  req.ndr = NDR_record;
  if (name == nullptr || strnlen(name, sizeof(name_t)) >= sizeof(name_t)) return BOOTSTRAP_BAD_COUNT;
  strncpy(req.name, name, sizeof(name_t) - 1);
  return rpc(bp, &req.head, sizeof req, id, false, out);
}

}  // namespace

extern "C" {

kern_return_t bootstrap_check_in(mach_port_t bp, const name_t service_name, mach_port_t* sp) {
  return name_rpc(bp, service_name, kCheckIn, sp);
}

kern_return_t bootstrap_look_up(mach_port_t bp, const name_t service_name, mach_port_t* sp) {
  return name_rpc(bp, service_name, kLookUp, sp);
}

kern_return_t bootstrap_create_service(mach_port_t bp, name_t service_name, mach_port_t* sp) {
  return name_rpc(bp, service_name, kCreateService, sp);
}

kern_return_t bootstrap_register(mach_port_t bp, name_t service_name, mach_port_t sp) {
  RegisterRequest req{};
  req.body.msgh_descriptor_count = 1;
  req.port.name = sp;
  req.port.disposition = MACH_MSG_TYPE_COPY_SEND;
  req.port.type = MACH_MSG_PORT_DESCRIPTOR;
  req.ndr = NDR_record;
  if (service_name == nullptr || strnlen(service_name, sizeof(name_t)) >= sizeof(name_t)) return BOOTSTRAP_BAD_COUNT;
  strncpy(req.name, service_name, sizeof(name_t) - 1);
  return rpc(bp, &req.head, sizeof req, kRegister, true, nullptr);
}

kern_return_t bootstrap_parent(mach_port_t bp, mach_port_t* parent_port) {
  mach_msg_header_t req{};
  return rpc(bp, &req, sizeof req, kParent, false, parent_port);
}

kern_return_t bootstrap_status(mach_port_t bp, name_t service_name, bootstrap_status_t* service_active) {
  mach_port_t p = MACH_PORT_NULL;
  kern_return_t kr = bootstrap_look_up(bp, service_name, &p);
  if (kr != KERN_SUCCESS) return kr;
  mach_port_deallocate(mach_task_self(), p);
  if (service_active) *service_active = BOOTSTRAP_STATUS_ACTIVE;
  return KERN_SUCCESS;
}

kern_return_t bootstrap_create_server(mach_port_t, cmd_t, uid_t, boolean_t, mach_port_t*) {
  return KERN_NOT_SUPPORTED;  // no on-demand server launching
}

kern_return_t bootstrap_subset(mach_port_t, mach_port_t, mach_port_t*) { return KERN_NOT_SUPPORTED; }

kern_return_t bootstrap_unprivileged(mach_port_t, mach_port_t*) { return KERN_NOT_SUPPORTED; }

const char* bootstrap_strerror(kern_return_t r) {
  switch (r) {
    case BOOTSTRAP_SUCCESS: return "Success";
    case BOOTSTRAP_NOT_PRIVILEGED: return "Permission denied";
    case BOOTSTRAP_NAME_IN_USE: return "Service name already exists";
    case BOOTSTRAP_UNKNOWN_SERVICE: return "Unknown service name";
    case BOOTSTRAP_SERVICE_ACTIVE: return "Service is already active";
    case BOOTSTRAP_BAD_COUNT: return "Too many lookups were requested in one request";
    case BOOTSTRAP_NO_MEMORY: return "Out of memory";
    case BOOTSTRAP_NO_CHILDREN: return "No children";
    default: return mach_error_string(r);
  }
}

}  // extern "C"
