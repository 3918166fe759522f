// machd/kern/dispatch.cc — see dispatch.h.
#include "dispatch.h"

#include <mach/mig_errors.h>
#include <mach/ndr.h>
#include <mach/notify.h>

#include <cstring>

#include "runtime.h"

namespace machd::kern {

namespace {

// The demux of ids no subsystem serves: MIG's own MIG_BAD_ID reply.
boolean_t bad_id_demux(mach_msg_header_t* in, mach_msg_header_t* out) {
  auto* r = reinterpret_cast<mig_reply_error_t*>(out);
  r->Head.msgh_bits = MACH_MSGH_BITS(MACH_MSGH_BITS_REMOTE(in->msgh_bits), 0);
  r->Head.msgh_remote_port = in->msgh_remote_port;
  r->Head.msgh_size = sizeof *r;
  r->Head.msgh_local_port = MACH_PORT_NULL;
  // Any id a task sends ends here: the reply's wraps as it does in XNU
  // (unsigned arithmetic; INT32_MAX + 100 in int is undefined).
  r->Head.msgh_id = mach_msg_id_t(uint32_t(in->msgh_id) + 100u);
  r->Head.msgh_reserved = 0;
  r->NDR = NDR_record;
  r->RetCode = MIG_BAD_ID;
  return FALSE;
}

Request request_of(const std::vector<uint8_t>& msg) {
  Request r;
  mach_msg_header_t h;
  memcpy(&h, msg.data(), sizeof h);
  r.id = h.msgh_id;
  r.reply = h.msgh_remote_port;
  r.reply_type = MACH_MSGH_BITS_REMOTE(h.msgh_bits);
  r.local = h.msgh_local_port;
  // The kernel task receives with the audit trailer.
  const size_t trailer = (size_t(h.msgh_size) + 3) & ~size_t(3);
  if (trailer + sizeof(mach_msg_audit_trailer_t) <= msg.size()) {
    mach_msg_audit_trailer_t t;
    memcpy(&t, msg.data() + trailer, sizeof t);
    r.audit = t.msgh_audit;
    Runtime& rt = runtime();
    const pid_t pid = pid_t(t.msgh_audit.val[5]);
    ipc::TaskId task = rt.host().task_of_pid(pid);
    const ipc::Credentials* c = rt.kernel().credentials(task);
    if (c && c->pidversion == t.msgh_audit.val[7]) r.sender = task;
  }
  return r;
}

}  // namespace

void Dispatch::add(const Subsystem& s) { subsystems_.push_back(s); }

void Dispatch::on_no_senders(KType type, NoSendersHandler h) { no_senders_[size_t(type)] = std::move(h); }
void Dispatch::on_send_once(KType type, SendOnceHandler h, bool sole_right) {
  send_once_[size_t(type)] = std::move(h);
  sole_right_[size_t(type)] = sole_right;
}

void Dispatch::on_message(KType type, MessageHandler h) { messages_[size_t(type)] = std::move(h); }

const Subsystem* Dispatch::find(mach_msg_id_t id) const {
  for (const Subsystem& s : subsystems_)
    if (id >= s.base && id < s.end) return &s;
  return nullptr;
}

KernelReply Dispatch::serve(const std::vector<uint8_t>& msg, ipc::KObject ko) {
  KernelReply r = serve_message(msg, ko);
  const size_t type = size_t(type_of(ko));
  if (sole_right_[type] && send_once_[type] && msg.size() >= sizeof(mach_msg_header_t)) {
    mach_msg_header_t h;
    memcpy(&h, msg.data(), sizeof h);
    send_once_[type](ko, h.msgh_local_port);  // the message used up the port's only right
  }
  return r;
}

KernelReply Dispatch::serve_message(const std::vector<uint8_t>& msg, ipc::KObject ko) {
  if (msg.size() < sizeof(mach_msg_header_t)) return {};
  if (auto& h = messages_[size_t(type_of(ko))]) {
    h(msg, ko);
    KernelReply none;
    none.keep_body = false;
    return none;
  }
  Runtime& rt = runtime();
  Request req = request_of(msg);
  if ((req.id == MACH_NOTIFY_NO_SENDERS || req.id == MACH_NOTIFY_SEND_ONCE) && req.reply_type == 0) {
    // The kernel's own notifications (kobject.h: delivered to the port
    // itself). Only the kernel's audit token (pid 0) is believed.
    if (req.audit.val[5] != 0 || req.sender != ipc::kNoTask) return {};
    if (req.id == MACH_NOTIFY_SEND_ONCE) {
      if (auto& h = send_once_[size_t(type_of(ko))]) h(ko, req.local);
      return {};
    }
    mach_no_senders_notification_t n{};
    if (msg.size() >= sizeof(mach_msg_header_t) + sizeof(NDR_record_t) + sizeof(mach_msg_type_number_t)) {
      memcpy(&n, msg.data(), std::min(msg.size(), sizeof n));
      if (auto& h = no_senders_[size_t(type_of(ko))]) h(ko, req.local, n.not_count);
    }
    return {};
  }
  rt.set_request(req);
  const Subsystem* s = find(req.id);
  KernelReply r = s ? run_mig_server(s->demux, msg, s->max_reply)
                    : run_mig_server(bad_id_demux, msg, sizeof(mig_reply_error_t));
  // A routine that deferred its reply took the reply right: keep it.
  if (!MACH_PORT_VALID(rt.request().reply) && MACH_PORT_VALID(req.reply)) r.keep_reply = true;
  rt.set_request(Request{});
  return r;
}

}  // namespace machd::kern
