// machd/kern/runtime.cc — see runtime.h.
#include "runtime.h"

#include <mach/mig_errors.h>
#include <mach/ndr.h>

#include <cstring>

#include "daemon/message_rights.h"

namespace machd::kern {

namespace {
Runtime* g_runtime = nullptr;
// Kernel-task sends never block: the waiter id only names the attempt.
constexpr ipc::WaiterId kKernelSendWaiter = 3;

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
}  // namespace

Runtime& runtime() { return *g_runtime; }

Runtime::Runtime(ipc::Kernel& kernel, mach_port_name_t kernel_set, TaskHost& host)
    : kernel_(kernel), kt_(kernel.kernel_task()), kernel_set_(kernel_set), host_(host) {
  g_runtime = this;
}

Runtime::~Runtime() {
  if (g_runtime == this) g_runtime = nullptr;
}

mach_port_name_t Runtime::create_port(KType type, uint64_t id) {
  mach_port_name_t name = MACH_PORT_NULL;
  if (kernel_.kobject_alloc(kt_, make_kobject(type, id), &name) != KERN_SUCCESS) return MACH_PORT_NULL;
  kernel_.port_insert_member(kt_, name, kernel_set_);
  return name;
}

void Runtime::destroy_port(mach_port_name_t kernel_name) {
  if (!MACH_PORT_VALID(kernel_name)) return;
  kernel_.kobject_set(kernel_name, {});
  kernel_.port_destroy(kt_, kernel_name);
}

mach_port_name_t Runtime::make_send(ipc::TaskId task, mach_port_name_t kernel_name) {
  mach_port_name_t out = MACH_PORT_NULL;
  if (kernel_.kobject_make_send(task, kernel_name, &out) != KERN_SUCCESS) return MACH_PORT_NULL;
  return out;
}

void Runtime::release_send(mach_port_name_t kernel_name) {
  if (MACH_PORT_VALID(kernel_name)) kernel_.port_deallocate(kt_, kernel_name);
}

mach_port_name_t Runtime::release_after_reply(mach_port_name_t kernel_name) {
  if (MACH_PORT_VALID(kernel_name)) after_reply([this, kernel_name] { release_send(kernel_name); });
  return kernel_name;
}

mach_msg_return_t Runtime::send(std::vector<uint8_t> msg, ipc::SendArgs extras) {
  ipc::MsgArgs args;
  args.options = MACH_SEND_MSG | MACH_SEND_TIMEOUT;
  args.timeout = 0;
  extras.msg = std::move(msg);
  args.send = std::move(extras);
  ipc::MsgOutcome o = kernel_.msg(kt_, kKernelSendWaiter, std::move(args), now_ns());
  if (o.blocked) return MACH_MSG_SUCCESS;  // cannot happen with a zero timeout
  // A message that came back (the send failed) is destroyed with every
  // right it carried, header and body.
  if (o.done.result != MACH_MSG_SUCCESS && o.done.returned_send)
    release_message_rights(kernel_, kt_, o.done, true, true);
  return o.done.result;
}

void Runtime::remove_observer(TaskObserver* o) { std::erase(observers_, o); }

void Runtime::notify_task_created(ipc::TaskId t) {
  for (TaskObserver* o : observers_) o->task_created(t);
}

void Runtime::notify_task_terminating(ipc::TaskId t) {
  for (TaskObserver* o : observers_) o->task_terminating(t);
  std::vector<std::function<void()>> run;
  for (auto it = at_task_end_.begin(); it != at_task_end_.end();) {
    if (it->second.first != t) {
      ++it;
      continue;
    }
    run.push_back(std::move(it->second.second));
    it = at_task_end_.erase(it);
  }
  for (auto& f : run) f();
}

uint64_t Runtime::at_task_end(ipc::TaskId task, std::function<void()> f) {
  if (task == ipc::kNoTask || kernel_.credentials(task) == nullptr) return 0;
  const uint64_t token = next_task_end_token_++;
  at_task_end_.emplace(token, std::make_pair(task, std::move(f)));
  return token;
}

void Runtime::cancel_at_task_end(uint64_t token) { at_task_end_.erase(token); }

ipc::TaskId Runtime::create_task(const ipc::Credentials& creds) {
  const ipc::TaskId t = kernel_.task_create(creds);
  if (t == ipc::kNoTask) return t;
  kernel_.port_insert_member(kt_, kernel_.task_port_kernel_name(t), kernel_set_);
  return t;
}

void Runtime::end_task(ipc::TaskId t) {
  notify_task_terminating(t);
  host_.remove_process(t);
  kernel_.task_terminate(t);
}

DeferredReply Runtime::defer() {
  DeferredReply d{request_.reply, request_.reply_type, request_.id};
  request_.reply = MACH_PORT_NULL;  // the routine owns it now
  return d;
}

bool Runtime::serve_again_when(Wait wait) {
  if (last_wait_failed_ || waited_ >= kMaxWaits || wait_ || !wait) return false;
  wait_ = std::move(wait);
  return true;
}

void Runtime::set_waits(uint32_t waited, bool last_wait_failed) {
  waited_ = waited;
  last_wait_failed_ = last_wait_failed;
  wait_ = nullptr;
}

Runtime::Wait Runtime::take_wait() {
  Wait w = std::move(wait_);
  wait_ = nullptr;
  return w;
}

mach_msg_return_t Runtime::send_reply(const DeferredReply& d, const void* reply, size_t size) {
  if (!MACH_PORT_VALID(d.reply)) return MACH_SEND_INVALID_DEST;
  if (size < sizeof(mach_msg_header_t)) return MACH_SEND_MSG_TOO_SMALL;
  std::vector<uint8_t> msg(static_cast<const uint8_t*>(reply), static_cast<const uint8_t*>(reply) + size);
  mach_msg_header_t h;
  memcpy(&h, msg.data(), sizeof h);
  const mach_msg_type_name_t disp =
      d.reply_type == MACH_MSG_TYPE_PORT_SEND_ONCE ? MACH_MSG_TYPE_MOVE_SEND_ONCE : MACH_MSG_TYPE_MOVE_SEND;
  h.msgh_bits = MACH_MSGH_BITS(disp, 0) | (h.msgh_bits & MACH_MSGH_BITS_COMPLEX);
  h.msgh_size = mach_msg_size_t(size);
  h.msgh_remote_port = d.reply;
  h.msgh_local_port = MACH_PORT_NULL;
  h.msgh_voucher_port = MACH_PORT_NULL;
  h.msgh_id = d.id + 100;
  memcpy(msg.data(), &h, sizeof h);
  return send(std::move(msg));
}

mach_msg_return_t Runtime::send_port_reply(const DeferredReply& d, mach_port_name_t port,
                                           mach_msg_type_name_t disposition) {
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
  } r{};
  r.head.msgh_bits = MACH_MSGH_BITS_COMPLEX;
  r.body.msgh_descriptor_count = 1;
  r.port.name = port;
  r.port.disposition = disposition;
  r.port.type = MACH_MSG_PORT_DESCRIPTOR;
  return send_reply(d, &r, sizeof r);
}

void Runtime::run_after_reply() {
  std::vector<std::function<void()>> run;
  run.swap(after_reply_);
  for (auto& f : run) f();
}

void Runtime::send_error_reply(const DeferredReply& d, kern_return_t kr) {
  mig_reply_error_t r{};
  r.NDR = NDR_record;
  r.RetCode = kr;
  send_reply(d, &r, sizeof r);
}

}  // namespace machd::kern
