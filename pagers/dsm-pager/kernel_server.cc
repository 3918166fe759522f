// pagers/dsm-pager/kernel_server.cc — see kernel_server.h.
#include "kernel_server.h"

#include <mach/mach.h>
#include <mach/mig_errors.h>
#include <mach/notify.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "../common/wake.h"
// Our stubs of mach.defs share the include guard of libmach-compat's.
#undef _mach_user_
#include "dsm_control.h"
#include "dsm_lock_request.h"
#include "dsm_memory_objectServer.h"
#include "runs.h"

extern "C" {
mach_msg_timeout_t dsm_send_timeout_ms = 1000;
}

namespace dsm {
namespace {

// The message stop() sends to wake the loop.
constexpr mach_msg_id_t kStopId = 0x64736d73;  // 'dsms'

// The server whose serve() runs on this thread (the MIG entry points below
// hand each message to it).
thread_local KernelServer* t_server = nullptr;

// Room for any message of memory_object.defs (the largest, data_return,
// carries its data out of line).
constexpr mach_msg_size_t kBuffer = 4096;

// The longest a send to a control port may wait for room in its queue.
constexpr std::chrono::milliseconds kMaxSendWait{1000};

bool dead(kern_return_t kr) { return kr == MACH_SEND_INVALID_DEST || kr == MACH_SEND_INVALID_RIGHT; }

void release_send(mach_port_t name) {
  if (MACH_PORT_VALID(name)) (void)mach_port_deallocate(mach_task_self(), name);
}

// Asks for a dead-name notification of `control` on `notify` (our object
// port), or cancels it (MACH_PORT_NULL). The right a request replaces is
// released (a send-once right to our own port: its death notice is ignored).
void watch(mach_port_t control, mach_port_t notify) {
  mach_port_t previous = MACH_PORT_NULL;
  if (mach_port_request_notification(mach_task_self(), control, MACH_NOTIFY_DEAD_NAME, 0, notify,
                                     MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous) == KERN_SUCCESS)
    release_send(previous);
}

}  // namespace

KernelServer::KernelServer(uint64_t size, std::chrono::milliseconds revoke_timeout)
    : size_((size + vm_page_size - 1) / vm_page_size * vm_page_size),
      page_(vm_page_size),
      revoke_timeout_(revoke_timeout),
      machine_(size_ / vm_page_size, revoke_timeout) {
  dsm_send_timeout_ms = mach_msg_timeout_t(std::min(revoke_timeout, kMaxSendWait).count());
}

KernelServer::~KernelServer() {
  for (auto& [id, k] : kernels_) {
    watch(k.control, MACH_PORT_NULL);
    release_send(k.control);
    release_send(k.name);
  }
  if (MACH_PORT_VALID(port_)) (void)mach_port_mod_refs(mach_task_self(), port_, MACH_PORT_RIGHT_RECEIVE, -1);
  if (contents_ != nullptr) munmap(contents_, size_);
}

kern_return_t KernelServer::open() {
  void* mem = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return KERN_RESOURCE_SHORTAGE;
  contents_ = static_cast<uint8_t*>(mem);
  kern_return_t kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port_);
  if (kr != KERN_SUCCESS) return kr;
  // machd's own messages pass a full queue, but kernels of other hosts
  // reach the port through a network server that sends as a task does: the
  // longest queue, so that a flush's data returns wait there, not in it.
  mach_port_limits_t limits{MACH_PORT_QLIMIT_MAX};
  return mach_port_set_attributes(mach_task_self(), port_, MACH_PORT_LIMITS_INFO,
                                  reinterpret_cast<mach_port_info_t>(&limits), MACH_PORT_LIMITS_INFO_COUNT);
}

KernelServer::Stats KernelServer::stats() const {
  Stats s;
  s.kernels = kernels_now_;
  s.inits = inits_;
  s.pages_supplied = supplied_;
  s.write_grants = grants_;
  s.revocations = revocations_;
  s.pages_returned = returned_;
  s.stale_returns = stale_;
  s.kernels_removed = removed_;
  return s;
}

void KernelServer::stop() {
  stopping_ = true;
  pagerprog::send_wake(port_, kStopId);
}

kern_return_t KernelServer::serve() {
  t_server = this;
  union {
    mach_msg_header_t head;
    uint8_t bytes[kBuffer + MAX_TRAILER_SIZE];
  } in;
  union {
    mig_reply_error_t error;
    uint8_t bytes[kBuffer];
  } out;
  kern_return_t result = KERN_SUCCESS;
  while (!stopping_) {
    mach_msg_option_t options = MACH_RCV_MSG | MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
                                MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT);
    mach_msg_timeout_t timeout = MACH_MSG_TIMEOUT_NONE;
    const Clock::time_point deadline = machine_.next_deadline();
    if (deadline != Clock::time_point::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      options |= MACH_RCV_TIMEOUT;
      timeout = mach_msg_timeout_t(left > 0 ? left : 0);
    }
    const mach_msg_return_t mr = mach_msg(&in.head, options, 0, sizeof in, port_, timeout, MACH_PORT_NULL);
    if (mr == MACH_RCV_TIMED_OUT) {
      remove_overdue();
      continue;
    }
    if (mr == MACH_RCV_TOO_LARGE) continue;  // not of this interface (dropped by the receive)
    if (mr != MACH_MSG_SUCCESS) {
      result = mr;
      break;
    }
    if (in.head.msgh_id == kStopId || in.head.msgh_id == MACH_NOTIFY_SEND_ONCE) {
      // The stop message; or a reply right we gave a kernel died unanswered
      // (the kernel went: its deadline removes it).
      mach_msg_destroy(&in.head);
      continue;
    }
    if (in.head.msgh_id == MACH_NOTIFY_DEAD_NAME) {
      if (!control_died(in.head)) mach_msg_destroy(&in.head);
      continue;
    }
    out.error = mig_reply_error_t{};
    const boolean_t known = memory_object_server(&in.head, &out.error.Head);
    if (!known || out.error.RetCode != KERN_SUCCESS) mach_msg_destroy(&in.head);
    remove_overdue();
  }
  t_server = nullptr;
  return result;
}

KernelServer::Kernel* KernelServer::find(mach_port_t control) {
  for (auto& [id, k] : kernels_)
    if (k.control == control) return &k;
  return nullptr;
}

vm_size_t KernelServer::within(const Kernel& k, vm_offset_t offset, vm_size_t length) {
  if (length == 0 || offset % page_ != 0 || length % page_ != 0 || offset + length < offset) {
    (void)dsm_memory_object_data_error(k.control, offset, length, KERN_INVALID_ARGUMENT);
    return 0;
  }
  const vm_size_t inside = offset >= size_ ? 0 : std::min<vm_size_t>(length, size_ - offset);
  if (inside < length) (void)dsm_memory_object_data_error(k.control, offset + inside, length - inside, KERN_INVALID_ADDRESS);
  return inside;
}

void KernelServer::send(std::vector<Action> actions) {
  while (!actions.empty()) {
    std::vector<Action> freed;
    for (const Run& r : gather_runs(std::move(actions))) {
      auto it = kernels_.find(r.kernel);
      if (it == kernels_.end()) continue;  // removed earlier in this batch
      const mach_port_t control = it->second.control;
      const vm_offset_t offset = r.first * page_;
      const vm_size_t length = r.count * page_;
      kern_return_t kr = KERN_SUCCESS;
      switch (r.kind) {
        case Action::kSupply:
          // Copied by the message (no deallocation): the contents stay ours.
          kr = dsm_memory_object_data_supply(control, offset, vm_offset_t(contents_ + offset),
                                         mach_msg_type_number_t(length), FALSE,
                                         r.writable ? VM_PROT_NONE : VM_PROT_WRITE, FALSE, MACH_PORT_NULL);
          if (kr == KERN_SUCCESS) supplied_ += r.count;
          break;
        case Action::kGrantWrite:
          kr = dsm_memory_object_lock_request(control, offset, length, MEMORY_OBJECT_RETURN_NONE, FALSE, VM_PROT_NONE,
                                          MACH_PORT_NULL);
          if (kr == KERN_SUCCESS) grants_ += r.count;
          break;
        case Action::kDowngrade:
        case Action::kFlush:
          // Write-locked first (so nothing is written after the return),
          // the dirty pages returned, dropped for a flush; then
          // lock_completed to the object port, after the returns. Through a
          // send right: on another host it then follows the returns' route
          // (lock_request.defs).
          kr = dsm_memory_object_lock_request_send_right(control, offset, length, MEMORY_OBJECT_RETURN_DIRTY,
                                                         r.kind == Action::kFlush, VM_PROT_WRITE, port_);
          if (kr == KERN_SUCCESS) revocations_ += r.count;
          break;
      }
      if (kr == MACH_SEND_TIMED_OUT) {
        fprintf(stderr, "dsm-pager: kernel %u's control port stayed full for %u ms: removed\n", r.kernel,
                dsm_send_timeout_ms);
        ++removed_;
      }
      if (dead(kr) || kr == MACH_SEND_TIMED_OUT) remove(r.kernel, false, false, &freed);
    }
    actions = std::move(freed);
  }
}

void KernelServer::remove(KernelId id, bool tell, bool own_receive, std::vector<Action>* out) {
  auto it = kernels_.find(id);
  if (it == kernels_.end()) return;
  const Kernel k = it->second;
  kernels_.erase(it);
  --kernels_now_;
  if (tell) (void)dsm_memory_object_destroy(k.control, KERN_OPERATION_TIMED_OUT);
  watch(k.control, MACH_PORT_NULL);
  const mach_port_t task = mach_task_self();
  for (mach_port_t p : {k.control, k.name}) {
    // The receive right first: the name then holds our send right as a
    // dead name, which the deallocation removes.
    if (own_receive) (void)mach_port_mod_refs(task, p, MACH_PORT_RIGHT_RECEIVE, -1);
    release_send(p);
  }
  machine_.remove_kernel(id, Clock::now(), out);
}

bool KernelServer::control_died(const mach_msg_header_t& head) {
  if (head.msgh_size != sizeof(mach_dead_name_notification_t) - sizeof(mach_msg_format_0_trailer_t)) return false;
  const auto& n = reinterpret_cast<const mach_dead_name_notification_t&>(head);
  const auto* trailer = reinterpret_cast<const mach_msg_audit_trailer_t*>(reinterpret_cast<const uint8_t*>(&head) +
                                                                          round_msg(head.msgh_size));
  // Only the kernel (machd) sends notifications: its audit token is zeros,
  // a task's carries its pid. Anything else is a forgery: ignored.
  if (trailer->msgh_trailer_size < sizeof(mach_msg_audit_trailer_t) || trailer->msgh_audit.val[5] != 0) return false;
  const mach_port_t name = n.not_port;
  std::vector<Action> freed;
  for (const auto& [id, k] : kernels_) {
    if (k.control != name) continue;
    fprintf(stderr, "dsm-pager: kernel %u's control port died: removed\n", id);
    ++removed_;
    remove(id, false, false, &freed);
    break;
  }
  (void)mach_port_deallocate(mach_task_self(), name);  // the notification's reference to the dead name
  send(std::move(freed));
  return true;
}

void KernelServer::remove_overdue() {
  std::vector<Action> freed;
  for (KernelId id : machine_.overdue(Clock::now())) {
    fprintf(stderr, "dsm-pager: kernel %u did not answer a revocation within %lld ms: removed\n", id,
            static_cast<long long>(revoke_timeout_.count()));
    ++removed_;
    remove(id, true, false, &freed);
  }
  send(std::move(freed));
}

kern_return_t KernelServer::init(mach_port_t control, mach_port_t name, vm_size_t page_size) {
  if (find(control) != nullptr) return KERN_INVALID_ARGUMENT;  // an init twice on one control port
  if (page_size != page_) {
    // Coherence is per page: every kernel must have the pager's page size.
    (void)dsm_memory_object_destroy(control, KERN_INVALID_ARGUMENT);
    release_send(control);
    release_send(name);
    return KERN_SUCCESS;
  }
  const KernelId id = next_id_++;
  kernels_.emplace(id, Kernel{id, control, name});
  ++kernels_now_;
  ++inits_;
  watch(control, port_);  // a kernel that dies is removed at once
  // Not cached: when a kernel's last mapping goes, it returns its dirty
  // pages and terminates, and stops holding pages others may want.
  const kern_return_t kr = dsm_memory_object_ready(control, FALSE, MEMORY_OBJECT_COPY_DELAY);
  if (dead(kr) || kr == MACH_SEND_TIMED_OUT) {
    std::vector<Action> freed;
    remove(id, false, false, &freed);
    send(std::move(freed));
  }
  return KERN_SUCCESS;
}

kern_return_t KernelServer::terminate(mach_port_t object, mach_port_t control, mach_port_t name) {
  Kernel* k = find(control);
  if (k == nullptr || k->name != name) return KERN_INVALID_ARGUMENT;
  std::vector<Action> freed;
  remove(k->id, false, true, &freed);
  release_send(object);  // the kernel's reference to the object, moved here
  send(std::move(freed));
  return KERN_SUCCESS;
}

kern_return_t KernelServer::data_request(mach_port_t control, vm_offset_t offset, vm_size_t length,
                                         vm_prot_t access) {
  Kernel* k = find(control);
  if (k == nullptr) return KERN_INVALID_ARGUMENT;
  release_send(control);  // the message's reference; the init's stays
  length = within(*k, offset, length);
  // A write fault asks for a cluster around the page that faulted, which
  // is not said: of several pages, only the free ones are given writable
  // (the others read-only, their holders left be; the write that wanted
  // one of them comes back as data_unlock).
  const Want want = !(access & VM_PROT_WRITE) ? Want::kRead : length > page_ ? Want::kWriteIfFree : Want::kWrite;
  std::vector<Action> actions;
  const Clock::time_point now = Clock::now();
  for (uint64_t p = offset / page_; p < (offset + length) / page_; ++p) machine_.request(k->id, p, want, now, &actions);
  send(std::move(actions));
  return KERN_SUCCESS;
}

kern_return_t KernelServer::data_unlock(mach_port_t control, vm_offset_t offset, vm_size_t length, vm_prot_t) {
  Kernel* k = find(control);
  if (k == nullptr) return KERN_INVALID_ARGUMENT;
  release_send(control);
  length = within(*k, offset, length);
  // The only lock the pager sets is VM_PROT_WRITE: an unlock asks to write.
  std::vector<Action> actions;
  const Clock::time_point now = Clock::now();
  for (uint64_t p = offset / page_; p < (offset + length) / page_; ++p) machine_.unlock(k->id, p, now, &actions);
  send(std::move(actions));
  return KERN_SUCCESS;
}

kern_return_t KernelServer::data_return(mach_port_t control, vm_offset_t offset, vm_offset_t data,
                                        mach_msg_type_number_t count, boolean_t dirty) {
  Kernel* k = find(control);
  if (k == nullptr || offset % page_ != 0) return KERN_INVALID_ARGUMENT;
  release_send(control);
  for (uint64_t at = 0; at + page_ <= count && offset + at + page_ <= size_; at += page_) {
    const uint64_t p = (offset + at) / page_;
    if (!dirty) continue;  // the pager's copy is the same
    if (machine_.accepts_return(k->id, p)) {
      memcpy(contents_ + offset + at, reinterpret_cast<const void*>(data + at), page_);
      ++returned_;
    } else {
      ++stale_;
    }
  }
  if (count != 0) (void)vm_deallocate(mach_task_self(), data, count);
  return KERN_SUCCESS;
}

kern_return_t KernelServer::lock_completed(mach_port_t control, vm_offset_t offset, vm_size_t length) {
  Kernel* k = find(control);
  if (k == nullptr) return KERN_INVALID_ARGUMENT;
  release_send(control);
  std::vector<Action> actions;
  const Clock::time_point now = Clock::now();
  const uint64_t end = std::min<uint64_t>(offset + length, size_);
  for (uint64_t p = offset / page_; p * page_ < end; ++p) machine_.revoked(k->id, p, now, &actions);
  send(std::move(actions));
  return KERN_SUCCESS;
}

}  // namespace dsm

// The server routines of mach/memory_object.defs (our mig's output with
// SERVERPREFIX dsm_, pagers/meson.build), handed to the serving server.
using dsm::t_server;

extern "C" {

kern_return_t dsm_memory_object_init(memory_object_t, mach_port_t control, mach_port_t name, vm_size_t page_size) {
  return t_server ? t_server->init(control, name, page_size) : KERN_INVALID_ARGUMENT;
}

kern_return_t dsm_memory_object_terminate(mach_port_t object, mach_port_t control, mach_port_t name) {
  return t_server ? t_server->terminate(object, control, name) : KERN_INVALID_ARGUMENT;
}

kern_return_t dsm_memory_object_copy(memory_object_t, mach_port_t, vm_offset_t, vm_size_t, mach_port_t) {
  // Only asked of MEMORY_OBJECT_COPY_CALL objects; this one is COPY_DELAY.
  return KERN_NOT_SUPPORTED;
}

kern_return_t dsm_memory_object_data_request(memory_object_t, mach_port_t control, vm_offset_t offset,
                                             vm_size_t length, vm_prot_t access) {
  return t_server ? t_server->data_request(control, offset, length, access) : KERN_INVALID_ARGUMENT;
}

kern_return_t dsm_memory_object_data_unlock(memory_object_t, mach_port_t control, vm_offset_t offset,
                                            vm_size_t length, vm_prot_t access) {
  return t_server ? t_server->data_unlock(control, offset, length, access) : KERN_INVALID_ARGUMENT;
}

kern_return_t dsm_memory_object_lock_completed(mach_port_t, mach_port_t control, vm_offset_t offset,
                                               vm_size_t length) {
  return t_server ? t_server->lock_completed(control, offset, length) : KERN_INVALID_ARGUMENT;
}

kern_return_t dsm_memory_object_supply_completed(mach_port_t, mach_port_t, vm_offset_t, vm_size_t, kern_return_t,
                                                 vm_offset_t) {
  return KERN_INVALID_ARGUMENT;  // never asked for (supplies name no reply port)
}

kern_return_t dsm_memory_object_data_return(memory_object_t, mach_port_t control, vm_offset_t offset,
                                            vm_offset_t data, mach_msg_type_number_t count, boolean_t dirty,
                                            boolean_t) {
  return t_server ? t_server->data_return(control, offset, data, count, dirty) : KERN_INVALID_ARGUMENT;
}

kern_return_t dsm_memory_object_change_completed(mach_port_t, boolean_t, memory_object_copy_strategy_t) {
  return KERN_INVALID_ARGUMENT;  // never asked for (no change_attributes)
}

}  // extern "C"
