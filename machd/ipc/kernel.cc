// machd/ipc/kernel.cc — the public facade: find the task, call the core,
// run the deferred work, return the code.
#include "kernel.h"

#include <algorithm>
#include <cstring>

#include "credit.h"
#include "ipc.h"
#include "kobject.h"
#include "lane.h"
#include "mach_port.h"
#include "msg.h"
#include "port.h"
#include "right.h"
#include "space.h"
#include "space_info.h"
#include "task.h"
#include "voucher.h"

namespace machd::ipc {

class KernelImpl {
 public:
  KernelImpl() { task_create_kernel(ipc); }
  ~KernelImpl() {
    std::vector<TaskId> ids;
    for (auto& [id, t] : ipc.tasks)
      if (id != ipc.kernel) ids.push_back(id);
    for (TaskId id : ids) {
      task_terminate(ipc, id, false);
      drain(ipc);
    }
    while (task_reap(ipc, UINT64_MAX)) drain(ipc);
    drain(ipc);
    right_release(ipc, ipc.bootstrap, kPortSend);
    ipc.bootstrap = nullptr;
    task_terminate(ipc, ipc.kernel, false);
    drain(ipc);
  }
  Ipc ipc;
};

namespace {

// Runs deferred work when the facade call returns.
struct Drain {
  Ipc& ipc;
  ~Drain() { drain(ipc); }
};

// True if sending `msg` may take send rights out of the sender's space (its
// credits must be revoked first): a header MOVE_SEND (voucher included), or
// any descriptor. Send-once moves cannot touch a send right.
bool send_may_drop_send_rights(const std::vector<uint8_t>& msg) {
  if (msg.size() < sizeof(mach_msg_bits_t)) return false;
  mach_msg_bits_t bits = 0;
  std::memcpy(&bits, msg.data(), sizeof bits);
  return (bits & MACH_MSGH_BITS_COMPLEX) ||
         MACH_MSGH_BITS_REMOTE(bits) == MACH_MSG_TYPE_MOVE_SEND ||
         MACH_MSGH_BITS_LOCAL(bits) == MACH_MSG_TYPE_MOVE_SEND ||
         MACH_MSGH_BITS_VOUCHER(bits) == MACH_MSG_TYPE_MOVE_SEND;
}

}  // namespace

#define TASK_OR(var, id, err)        \
  Task* var = impl_->ipc.task(id);   \
  if (!var) return err;              \
  Drain drain_guard_{impl_->ipc}

Kernel::Kernel() : impl_(std::make_unique<KernelImpl>()) {}
Kernel::~Kernel() = default;

TaskId Kernel::kernel_task() const { return impl_->ipc.kernel; }

TaskId Kernel::task_create(const Credentials& creds) {
  Drain d{impl_->ipc};
  return ipc::task_create(impl_->ipc, creds);
}

void Kernel::task_terminate(TaskId task, bool incremental) {
  if (task == impl_->ipc.kernel) return;
  Drain d{impl_->ipc};
  ipc::task_terminate(impl_->ipc, task, incremental);
}

bool Kernel::reap(uint64_t budget) {
  Drain d{impl_->ipc};
  return ipc::task_reap(impl_->ipc, budget);
}

bool Kernel::reaping() const { return !impl_->ipc.dying.empty(); }

mach_port_name_t Kernel::task_self_name(TaskId task) const {
  Task* t = impl_->ipc.task(task);
  return t ? t->self_name : MACH_PORT_NULL;
}

TaskId Kernel::resolve_task(TaskId caller, mach_port_name_t name) const {
  return task_resolve(impl_->ipc, caller, name);
}

mach_port_name_t Kernel::task_port_kernel_name(TaskId task) const {
  Task* t = impl_->ipc.task(task);
  if (!t || !t->task_port || t->task_port->receiver != impl_->ipc.kernel) return MACH_PORT_NULL;
  return t->task_port->receiver_name;
}

kern_return_t Kernel::kobject_alloc(TaskId task, KObject ko, mach_port_name_t* name) {
  Drain d{impl_->ipc};
  return ipc::kobject_alloc(impl_->ipc, task, ko, name);
}

KObject Kernel::kobject_of(TaskId caller, mach_port_name_t name) const {
  return ipc::kobject_of(impl_->ipc, caller, name);
}

TaskId Kernel::port_receiver(TaskId caller, mach_port_name_t name, uint64_t* port_key) const {
  return ipc::port_receiver(impl_->ipc, caller, name, port_key);
}

kern_return_t Kernel::kobject_make_send(TaskId task, mach_port_name_t kernel_name, mach_port_name_t* out) {
  Drain d{impl_->ipc};
  return ipc::kobject_make_send(impl_->ipc, task, kernel_name, out);
}

kern_return_t Kernel::kobject_set(mach_port_name_t kernel_name, KObject ko) {
  return ipc::kobject_set(impl_->ipc, kernel_name, ko);
}

kern_return_t Kernel::kobject_request_no_senders(mach_port_name_t kernel_name) {
  Drain d{impl_->ipc};
  return ipc::kobject_request_no_senders(impl_->ipc, kernel_name);
}

mach_port_mscount_t Kernel::kobject_mscount(mach_port_name_t kernel_name) const {
  return ipc::kobject_mscount(impl_->ipc, kernel_name);
}

const Credentials* Kernel::credentials(TaskId task) const {
  Task* t = impl_->ipc.task(task);
  return t ? &t->creds : nullptr;
}

kern_return_t Kernel::set_relayed_sender(TaskId task, const Credentials* relayed) {
  Task* t = impl_->ipc.task(task);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  if (relayed == nullptr) t->relayed.reset();
  else t->relayed = sender_of(*relayed);
  return KERN_SUCCESS;
}

kern_return_t Kernel::set_bootstrap_port(mach_port_name_t kernel_name) {
  Drain d{impl_->ipc};
  return task_set_bootstrap(impl_->ipc, kernel_name);
}

kern_return_t Kernel::task_get_special_port(TaskId caller, TaskId target, int which,
                                            mach_port_name_t* out) {
  Drain d{impl_->ipc};
  return task_get_special(impl_->ipc, caller, target, which, out);
}

kern_return_t Kernel::task_set_special_port(TaskId caller, TaskId target, int which,
                                            mach_port_name_t name) {
  Drain d{impl_->ipc};
  return task_set_special(impl_->ipc, caller, target, which, name);
}

MsgOutcome Kernel::msg(TaskId task, WaiterId waiter, MsgArgs&& args, uint64_t now_ns) {
  Ipc& ipc = impl_->ipc;
  if (now_ns > ipc.now_ns) ipc.now_ns = now_ns;
  Drain d{ipc};
  Task* t = ipc.task(task);
  if (t && !t->credits.empty() && args.send && (args.options & MACH_SEND_MSG) &&
      send_may_drop_send_rights(args.send->msg))
    credit_revoke_task(ipc, *t);
  return msg_trap(ipc, t, waiter, std::move(args));
}

void Kernel::abort_wait(WaiterId waiter, mach_msg_return_t reason) {
  Drain d{impl_->ipc};
  msg_abort(impl_->ipc, waiter, reason);
}

void Kernel::expire(uint64_t now_ns) {
  Drain d{impl_->ipc};
  msg_expire(impl_->ipc, now_ns);
}

std::optional<uint64_t> Kernel::next_deadline() const {
  const auto& dl = impl_->ipc.deadlines;
  if (dl.empty()) return std::nullopt;
  return dl.begin()->first;
}

std::vector<Completion> Kernel::take_completions() {
  std::vector<Completion> out;
  out.swap(impl_->ipc.completions);
  return out;
}

mach_port_name_t Kernel::reply_port(TaskId task) {
  mach_port_name_t name = MACH_PORT_NULL;
  if (port_allocate(task, MACH_PORT_RIGHT_RECEIVE, &name) != KERN_SUCCESS) return MACH_PORT_NULL;
  return name;
}

kern_return_t Kernel::port_allocate(TaskId task, mach_port_right_t right, mach_port_name_t* name) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_allocate(impl_->ipc, *t, right, name);
}

kern_return_t Kernel::port_allocate_name(TaskId task, mach_port_right_t right, mach_port_name_t name) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_allocate_name(impl_->ipc, *t, right, name);
}

kern_return_t Kernel::port_construct(TaskId task, const mach_port_options_t& options,
                                     mach_port_context_t context, mach_port_name_t* name) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_construct(impl_->ipc, *t, options, context, name);
}

kern_return_t Kernel::port_destruct(TaskId task, mach_port_name_t name, mach_port_delta_t srdelta,
                                    mach_port_context_t guard) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  credit_revoke_task(impl_->ipc, *t);
  return mp_destruct(impl_->ipc, *t, name, srdelta, guard);
}

kern_return_t Kernel::port_deallocate(TaskId task, mach_port_name_t name) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  credit_revoke_task(impl_->ipc, *t);
  return mp_deallocate(impl_->ipc, *t, name);
}

kern_return_t Kernel::port_destroy(TaskId task, mach_port_name_t name) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  credit_revoke_task(impl_->ipc, *t);
  return mp_destroy(impl_->ipc, *t, name);
}

kern_return_t Kernel::port_mod_refs(TaskId task, mach_port_name_t name, mach_port_right_t right,
                                    mach_port_delta_t delta) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  if (delta < 0) credit_revoke_task(impl_->ipc, *t);  // only a decrement takes rights away
  return mp_mod_refs(impl_->ipc, *t, name, right, delta);
}

kern_return_t Kernel::port_get_refs(TaskId task, mach_port_name_t name, mach_port_right_t right,
                                    mach_port_urefs_t* refs) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_get_refs(impl_->ipc, *t, name, right, refs);
}

kern_return_t Kernel::port_type(TaskId task, mach_port_name_t name, mach_port_type_t* type) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_type(impl_->ipc, *t, name, type);
}

kern_return_t Kernel::port_names(TaskId task, std::vector<mach_port_name_t>* names,
                                 std::vector<mach_port_type_t>* types) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_names(impl_->ipc, *t, names, types);
}

kern_return_t Kernel::port_rename(TaskId task, mach_port_name_t, mach_port_name_t) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  (void)t;
  return KERN_NOT_SUPPORTED;  // removed from XNU
}

kern_return_t Kernel::port_insert_right(TaskId caller, TaskId task, mach_port_name_t name,
                                        mach_port_name_t poly, mach_msg_type_name_t poly_type) {
  TASK_OR(c, caller, KERN_INVALID_TASK);
  Task* t = impl_->ipc.task(task);
  if (!t) return KERN_INVALID_TASK;
  credit_revoke_task(impl_->ipc, *t);
  if (c != t) credit_revoke_task(impl_->ipc, *c);  // a moved send right leaves the caller
  return mp_insert_right(impl_->ipc, *c, *t, name, poly, poly_type);
}

kern_return_t Kernel::port_extract_right(TaskId caller, TaskId task, mach_port_name_t name,
                                         mach_msg_type_name_t msgt_name, mach_port_name_t* poly,
                                         mach_msg_type_name_t* poly_type) {
  TASK_OR(c, caller, KERN_INVALID_TASK);
  Task* t = impl_->ipc.task(task);
  if (!t) return KERN_INVALID_TASK;
  credit_revoke_task(impl_->ipc, *t);
  return mp_extract_right(impl_->ipc, *c, *t, name, msgt_name, poly, poly_type);
}

kern_return_t Kernel::port_move_member(TaskId task, mach_port_name_t member, mach_port_name_t after) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_move_member(impl_->ipc, *t, member, after);
}

kern_return_t Kernel::port_insert_member(TaskId task, mach_port_name_t member, mach_port_name_t pset) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_insert_member(impl_->ipc, *t, member, pset);
}

kern_return_t Kernel::port_extract_member(TaskId task, mach_port_name_t member, mach_port_name_t pset) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_extract_member(impl_->ipc, *t, member, pset);
}

kern_return_t Kernel::port_get_set_status(TaskId task, mach_port_name_t pset,
                                          std::vector<mach_port_name_t>* members) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_get_set_status(impl_->ipc, *t, pset, members);
}

kern_return_t Kernel::port_request_notification(TaskId task, mach_port_name_t name,
                                                mach_msg_id_t variant, mach_port_mscount_t sync,
                                                mach_port_name_t notify,
                                                mach_msg_type_name_t notify_type,
                                                mach_port_name_t* previous) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_request_notification(impl_->ipc, *t, *t, name, variant, sync, notify, notify_type, previous);
}

kern_return_t Kernel::port_request_notification_from(TaskId caller, TaskId task, mach_port_name_t name,
                                                     mach_msg_id_t variant, mach_port_mscount_t sync,
                                                     mach_port_name_t notify,
                                                     mach_msg_type_name_t notify_type,
                                                     mach_port_name_t* previous) {
  Task* c = impl_->ipc.task(caller);
  if (!c) return KERN_INVALID_TASK;
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_request_notification(impl_->ipc, *c, *t, name, variant, sync, notify, notify_type, previous);
}

kern_return_t Kernel::port_get_attributes(TaskId task, mach_port_name_t name, int flavor,
                                          integer_t* info, mach_msg_type_number_t* count) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_get_attributes(impl_->ipc, *t, name, flavor, info, count);
}

kern_return_t Kernel::port_set_attributes(TaskId task, mach_port_name_t name, int flavor,
                                          const integer_t* info, mach_msg_type_number_t count) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_set_attributes(impl_->ipc, *t, name, flavor, info, count);
}

kern_return_t Kernel::port_set_mscount(TaskId task, mach_port_name_t name, mach_port_mscount_t mscount) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_set_mscount(impl_->ipc, *t, name, mscount);
}

kern_return_t Kernel::port_set_seqno(TaskId task, mach_port_name_t name, mach_port_seqno_t seqno) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_set_seqno(impl_->ipc, *t, name, seqno);
}

kern_return_t Kernel::port_get_context(TaskId task, mach_port_name_t name, mach_port_context_t* ctx) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_get_context(impl_->ipc, *t, name, ctx);
}

kern_return_t Kernel::port_set_context(TaskId task, mach_port_name_t name, mach_port_context_t ctx) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_set_context(impl_->ipc, *t, name, ctx);
}

kern_return_t Kernel::port_guard(TaskId task, mach_port_name_t name, mach_port_context_t guard,
                                 bool strict, bool immovable_receive) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_guard(impl_->ipc, *t, name, guard, strict, immovable_receive);
}

kern_return_t Kernel::port_unguard(TaskId task, mach_port_name_t name, mach_port_context_t guard) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_unguard(impl_->ipc, *t, name, guard);
}

kern_return_t Kernel::port_get_srights(TaskId task, mach_port_name_t name,
                                       mach_port_rights_t* srights) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_get_srights(impl_->ipc, *t, name, srights);
}

kern_return_t Kernel::port_peek(TaskId task, mach_port_name_t name,
                                mach_msg_trailer_type_t trailer_type, mach_port_seqno_t* seqno,
                                mach_msg_size_t* size, mach_msg_id_t* id,
                                std::vector<uint8_t>* trailer) {
  TASK_OR(t, task, KERN_INVALID_TASK);
  return mp_peek(impl_->ipc, *t, name, trailer_type, seqno, size, id, trailer);
}

void Kernel::set_lane_hooks(LaneHooks* hooks) { impl_->ipc.hooks = hooks; }

CreditGrant Kernel::credit_grant(TaskId task, mach_port_name_t name, uint32_t want) {
  TASK_OR(t, task, CreditGrant{});
  return ipc::credit_grant(impl_->ipc, *t, name, want);
}

mach_msg_return_t Kernel::credit_post(TaskId task, CreditId id, std::span<const uint8_t> msg) {
  Drain d{impl_->ipc};
  return ipc::credit_post(impl_->ipc, task, id, msg);
}

void Kernel::credit_revoke(CreditId id) {
  Drain d{impl_->ipc};
  ipc::credit_revoke_one(impl_->ipc, id);
}

uint32_t Kernel::lane_lend(TaskId task, mach_port_name_t name, LaneId lane, uint32_t max,
                           uint32_t max_image, std::vector<std::vector<uint8_t>>& out,
                           bool* senders_blocked) {
  TASK_OR(t, task, 0);
  return ipc::lane_lend(impl_->ipc, *t, name, lane, max, max_image, out, senders_blocked);
}

void Kernel::lane_settle(LaneId lane, uint32_t consumed, bool close) {
  Drain d{impl_->ipc};
  ipc::lane_settle(impl_->ipc, lane, consumed, close);
}

void Kernel::voucher_register(mach_voucher_attr_key_t key, VoucherAttrManager* manager) {
  if (key >= 1 && key <= kVoucherKeys) impl_->ipc.vouchers.managers[key - 1] = manager;
}

void Kernel::voucher_set_port_set(mach_port_name_t kernel_set) { impl_->ipc.vouchers.port_set = kernel_set; }

kern_return_t Kernel::voucher_create(TaskId caller, std::span<const uint8_t> recipes,
                                     mach_port_name_t* kernel_name) {
  *kernel_name = MACH_PORT_NULL;
  TASK_OR(t, caller, KERN_INVALID_ARGUMENT);
  Ipc& ipc = impl_->ipc;
  Port* send = nullptr;
  kern_return_t kr = voucher_create_user(ipc, *t, recipes, &send);
  if (kr != KERN_SUCCESS || !send) return kr;
  Task* kernel = ipc.task(ipc.kernel);
  // The kernel task holds the receive right: the send right joins that entry.
  return right_copyout(ipc, kernel->space, send, kPortSend, kernel_name) == MACH_MSG_SUCCESS
             ? KERN_SUCCESS
             : KERN_RESOURCE_SHORTAGE;
}

#define VOUCHER_OR(v, id)                       \
  Voucher* v = voucher_by_id(impl_->ipc, id);   \
  if (!v) return KERN_INVALID_ARGUMENT

kern_return_t Kernel::voucher_extract_recipe(TaskId caller, uint64_t voucher, mach_voucher_attr_key_t key,
                                             uint8_t* out, uint32_t* size) {
  TASK_OR(t, caller, KERN_INVALID_ARGUMENT);
  VOUCHER_OR(v, voucher);
  return ipc::voucher_extract_recipe(impl_->ipc, *t, *v, key, out, size);
}

kern_return_t Kernel::voucher_extract_all_recipes(TaskId caller, uint64_t voucher, uint8_t* out, uint32_t* size) {
  TASK_OR(t, caller, KERN_INVALID_ARGUMENT);
  VOUCHER_OR(v, voucher);
  return ipc::voucher_extract_all_recipes(impl_->ipc, *t, *v, out, size);
}

kern_return_t Kernel::voucher_extract_content(TaskId caller, uint64_t voucher, mach_voucher_attr_key_t key,
                                              uint8_t* out, uint32_t* size) {
  TASK_OR(t, caller, KERN_INVALID_ARGUMENT);
  VOUCHER_OR(v, voucher);
  return ipc::voucher_extract_content(impl_->ipc, *t, *v, key, out, size);
}

kern_return_t Kernel::voucher_command(TaskId caller, uint64_t voucher, mach_voucher_attr_key_t key,
                                      mach_voucher_attr_command_t command, std::span<const uint8_t> in,
                                      uint8_t* out, uint32_t* out_size) {
  TASK_OR(t, caller, KERN_INVALID_ARGUMENT);
  VOUCHER_OR(v, voucher);
  return ipc::voucher_command(impl_->ipc, *t, *v, key, command, in, out, out_size);
}

#undef VOUCHER_OR

Stats Kernel::stats() const {
  const Ipc& ipc = impl_->ipc;
  Stats s;
  s.tasks = ipc.tasks.size();
  s.ports = ipc.ports.live();
  s.port_sets = ipc.port_sets;
  for (const auto& [id, t] : ipc.tasks) s.entries += t->space.in_use;
  for (const auto& t : ipc.dying) s.entries += t->space.in_use;
  s.dying_tasks = ipc.dying.size();
  s.messages = ipc.live_kmsgs;
  s.ool_payloads = ipc.live_payloads;
  s.waiters = ipc.waiters.size();
  s.credits = ipc.credits.size();
  s.lanes = ipc.lanes.size();
  s.vouchers = ipc.vouchers.by_id.size();
  s.voucher_values = voucher_value_count(ipc);
  return s;
}

void Kernel::set_user_queued_bytes_limit(uint64_t bytes) { impl_->ipc.user_bytes_limit = bytes; }

namespace {
const UserUsage* usage_of(const Ipc& ipc, uint32_t uid) {
  auto it = ipc.user_slot.find(uid);
  return it == ipc.user_slot.end() ? nullptr : &ipc.usage[it->second];
}
}  // namespace

uint64_t Kernel::user_queued_bytes(uint32_t uid) const {
  const UserUsage* u = usage_of(impl_->ipc, uid);
  return u ? u->queued_bytes : 0;
}

void Kernel::set_user_queued_messages_limit(uint64_t messages) { impl_->ipc.user_msgs_limit = messages; }

uint64_t Kernel::user_queued_messages(uint32_t uid) const {
  const UserUsage* u = usage_of(impl_->ipc, uid);
  return u ? u->queued_msgs : 0;
}

void Kernel::set_user_ports_limit(uint64_t ports) { impl_->ipc.user_ports_limit = ports; }

uint64_t Kernel::user_ports(uint32_t uid) const {
  const UserUsage* u = usage_of(impl_->ipc, uid);
  return u ? u->ports : 0;
}

void Kernel::set_space_limit(uint32_t max_names) {
  Ipc& ipc = impl_->ipc;
  // Names are index << 8 | generation: at most 2^24 - 1 indices.
  ipc.space_limit = max_names < 2 ? 2 : (max_names > 0xFFFFFFu ? 0xFFFFFFu : max_names);
  for (auto& [id, t] : ipc.tasks) t->space.limit = ipc.space_limit;
}

// ---- introspection ------------------------------------------------------------

kern_return_t Kernel::space_info(TaskId task, ipc_info_space_t* info,
                                 std::vector<ipc_info_name_t>* table) const {
  const Task* t = impl_->ipc.task(task);
  if (!t) return KERN_INVALID_TASK;
  si_space_info(*t, info, table);
  return KERN_SUCCESS;
}

kern_return_t Kernel::space_basic_info(TaskId task, ipc_info_space_basic_t* info) const {
  const Task* t = impl_->ipc.task(task);
  if (!t) return KERN_INVALID_TASK;
  si_space_basic_info(*t, info);
  return KERN_SUCCESS;
}

kern_return_t Kernel::port_dnrequest_info(TaskId task, mach_port_name_t name, unsigned* total,
                                          unsigned* used) const {
  Task* t = impl_->ipc.task(task);
  if (!t) return KERN_INVALID_TASK;
  return si_dnrequest_info(*t, name, total, used);
}

kern_return_t Kernel::port_kobject(TaskId task, mach_port_name_t name, KObject* out) const {
  Task* t = impl_->ipc.task(task);
  if (!t) return KERN_INVALID_TASK;
  return si_kobject(*t, name, out);
}

kern_return_t Kernel::space_names(TaskId task, std::vector<NameDetail>* out) const {
  const Task* t = impl_->ipc.task(task);
  if (!t) return KERN_INVALID_TASK;
  si_names(*t, out);
  return KERN_SUCCESS;
}

bool Kernel::queue_full(TaskId task, mach_port_name_t name) const {
  Task* t = impl_->ipc.task(task);
  return t && si_queue_full(*t, name);
}

std::vector<TaskId> Kernel::task_ids() const {
  std::vector<TaskId> ids;
  for (const auto& [id, t] : impl_->ipc.tasks) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace machd::ipc
