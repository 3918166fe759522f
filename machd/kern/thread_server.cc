// machd/kern/thread_server.cc — the routines of thread_act.defs and the
// thread part of task.defs that machd provides (thread.h holds the logic).
// Each: translate the port, one call into Threads, reply now or, when the
// thread must park first, defer() and reply from the callback.
#include <mach/mig_errors.h>
#include <mach/ndr.h>
#include <mach/thread_info.h>
#include <mach/thread_policy.h>
#include <sched.h>
#include <time.h>

#include <cstring>

#include "daemon/kernel_servers.h"
#include "task_suspension.h"
#include "thread.h"
#include "thread_state.h"
#include "translate.h"

extern "C" {
#include "processor_setServer.h"
#include "taskServer.h"
#include "thread_actServer.h"
}

namespace machd::kern {

mach_port_name_t thread_self(ipc::TaskId task, pid_t tid) {
  Thread* t = threads().of_tid(task, tid);
  return t ? threads().send_to(task, *t) : MACH_PORT_NULL;
}

namespace {

Thread* thread_of(mach_port_t port, std::initializer_list<KType> types) {
  auto id = translate(port, types);
  return id ? threads().of_id(*id) : nullptr;
}
Thread* control(mach_port_t p) { return thread_of(p, {KType::kThread}); }
Thread* readable(mach_port_t p) { return thread_of(p, {KType::kThread, KType::kThreadRead}); }
Thread* inspectable(mach_port_t p) {
  return thread_of(p, {KType::kThread, KType::kThreadRead, KType::kThreadInspect});
}
std::optional<ipc::TaskId> task_of(mach_port_t p, std::initializer_list<KType> types) {
  auto id = translate(p, types);
  if (!id) return std::nullopt;
  return ipc::TaskId(*id);
}

bool known_flavor(int f) {
  switch (f) {
    case x86_THREAD_STATE64: case x86_THREAD_STATE: case x86_FLOAT_STATE64: case x86_FLOAT_STATE:
    case x86_AVX_STATE64: case x86_EXCEPTION_STATE64: case x86_DEBUG_STATE64: return true;
    default: return false;
  }
}

// Runs `body` on the parked thread: now if it is parked, else after a
// transient hold (the reply is deferred). body returns the reply to send.
using ParkedBody = std::function<void(Thread&, const DeferredReply&)>;
kern_return_t with_parked(Thread& t, ParkedBody body) {
  DeferredReply d = runtime().defer();
  const uint64_t id = t.id;
  threads().hold(t, [id, d, body = std::move(body)](kern_return_t kr) {
    Thread* t = threads().of_id(id);
    if (t == nullptr) return runtime().send_error_reply(d, KERN_TERMINATED);
    if (kr != KERN_SUCCESS || threads().parked_slot(*t) == nullptr) {
      threads().unhold(*t);
      return runtime().send_error_reply(d, kr != KERN_SUCCESS ? kr : KERN_ABORTED);
    }
    body(*t, d);
    if (Thread* again = threads().of_id(id)) threads().unhold(*again);
  });
  return MIG_NO_REPLY;
}

void reply_state(const DeferredReply& d, Thread& t, int flavor, mach_msg_type_number_t room) {
  __Reply__thread_get_state_t r{};
  r.NDR = NDR_record;
  mach_msg_type_number_t count = std::min<mach_msg_type_number_t>(room, THREAD_STATE_MAX);
  kern_return_t kr = get_thread_state(*threads().parked_slot(t), t.debug, flavor,
                                      reinterpret_cast<natural_t*>(r.old_state), &count);
  if (kr != KERN_SUCCESS) return runtime().send_error_reply(d, kr);
  r.RetCode = KERN_SUCCESS;
  r.old_stateCnt = count;
  runtime().send_reply(d, &r, sizeof r - sizeof r.old_state + count * sizeof(natural_t));
}

// (Runtime::send_port_reply's layout.)
constexpr size_t kOnePortReply = sizeof(mach_msg_header_t) + sizeof(mach_msg_body_t) + sizeof(mach_msg_port_descriptor_t);
static_assert(sizeof(__Reply__thread_create_t) == kOnePortReply && sizeof(__Reply__task_suspend2_t) == kOnePortReply);

void reply_port(const DeferredReply& d, Thread& t) {
  const mach_port_name_t port = threads().reply_send(t);
  runtime().send_port_reply(d, port, MACH_MSG_TYPE_COPY_SEND);
  threads().release_reply_send(port);
}

kern_return_t do_get_state(mach_port_t port, int flavor, thread_state_t out, mach_msg_type_number_t* cnt) {
  Thread* t = readable(port);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  if (!known_flavor(flavor)) return KERN_INVALID_ARGUMENT;
  if (machd_thread_slot* s = threads().parked_slot(*t))  // suspended: a read of its slot
    return get_thread_state(*s, t->debug, flavor, reinterpret_cast<natural_t*>(out), cnt);
  const mach_msg_type_number_t room = *cnt;
  return with_parked(*t, [flavor, room](Thread& t, const DeferredReply& d) { reply_state(d, t, flavor, room); });
}

kern_return_t do_set_state(mach_port_t port, int flavor, thread_state_t in, mach_msg_type_number_t cnt) {
  Thread* t = control(port);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  if (!known_flavor(flavor)) return KERN_INVALID_ARGUMENT;
  if (machd_thread_slot* s = threads().parked_slot(*t))
    return set_thread_state(*s, t->debug, flavor, reinterpret_cast<const natural_t*>(in), cnt);
  std::vector<natural_t> copy(reinterpret_cast<natural_t*>(in), reinterpret_cast<natural_t*>(in) + cnt);
  return with_parked(*t, [flavor, copy](Thread& t, const DeferredReply& d) {
    runtime().send_error_reply(d, set_thread_state(*threads().parked_slot(t), t.debug, flavor, copy.data(),
                                                   mach_msg_type_number_t(copy.size())));
  });
}

integer_t run_state_of(const ThreadProc& p, const Thread& t) {
  if (t.frozen) return TH_STATE_HALTED;  // a corpse's: XNU's have terminated
  if (t.suspend_count > 0 || t.task_held) return TH_STATE_STOPPED;
  switch (p.state) {
    case 'R': return TH_STATE_RUNNING;
    case 'D': return TH_STATE_UNINTERRUPTIBLE;
    case 'T': case 't': return TH_STATE_STOPPED;
    case 'Z': case 'X': return TH_STATE_HALTED;
    default: return TH_STATE_WAITING;
  }
}

}  // namespace
}  // namespace machd::kern

using namespace machd::kern;

extern "C" {

kern_return_t thread_get_state(thread_read_t t, thread_state_flavor_t flavor, thread_state_t out,
                               mach_msg_type_number_t* cnt) {
  return do_get_state(t, flavor, out, cnt);
}
kern_return_t act_get_state(thread_read_t t, int flavor, thread_state_t out, mach_msg_type_number_t* cnt) {
  return do_get_state(t, flavor, out, cnt);
}
kern_return_t thread_set_state(thread_act_t t, thread_state_flavor_t flavor, thread_state_t in,
                               mach_msg_type_number_t cnt) {
  return do_set_state(t, flavor, in, cnt);
}
kern_return_t act_set_state(thread_act_t t, int flavor, thread_state_t in, mach_msg_type_number_t cnt) {
  return do_set_state(t, flavor, in, cnt);
}

// XNU thread_suspend: the count goes up, and the call returns once the
// thread is stopped.
kern_return_t thread_suspend(thread_read_t port) {
  Thread* t = readable(port);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  ++t->suspend_count;
  DeferredReply d = runtime().defer();
  threads().hold(*t, [d](kern_return_t kr) { runtime().send_error_reply(d, kr); });
  return MIG_NO_REPLY;
}

// XNU thread_resume: a count of 0 is KERN_FAILURE.
kern_return_t thread_resume(thread_read_t port) {
  Thread* t = readable(port);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  if (t->suspend_count == 0) return KERN_FAILURE;
  --t->suspend_count;
  threads().unhold(*t);
  return KERN_SUCCESS;
}

// A thread blocked in mach_msg returns MACH_SEND_INTERRUPTED /
// MACH_RCV_INTERRUPTED (mach_msg retries unless the INTERRUPT option is
// given, as libsyscall). Other blocking syscalls go on (SA_RESTART).
// thread_abort_safely is the same here: a mach_msg wait is always at a
// safe point.
kern_return_t thread_abort(thread_act_t port) {
  Thread* t = control(port);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  agent().interrupt_wait(t->task, t->tid);
  return KERN_SUCCESS;
}
kern_return_t thread_abort_safely(thread_act_t port) { return thread_abort(port); }

// XNU: a read port may get the read and inspect ports, an inspect port only
// the inspect port (KERN_INVALID_CAPABILITY otherwise); the control port any.
kern_return_t thread_get_special_port(thread_inspect_t port, int which, mach_port_t* out) {
  Thread* t = inspectable(port);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  const KType type = type_of(runtime().object_of(port));
  const bool allowed = type == KType::kThread ||
                       (type == KType::kThreadRead && (which == THREAD_READ_PORT || which == THREAD_INSPECT_PORT)) ||
                       (type == KType::kThreadInspect && which == THREAD_INSPECT_PORT);
  if (!allowed) return KERN_INVALID_CAPABILITY;
  KType want;
  switch (which) {
    case THREAD_KERNEL_PORT: want = KType::kThread; break;
    case THREAD_READ_PORT: want = KType::kThreadRead; break;
    case THREAD_INSPECT_PORT: want = KType::kThreadInspect; break;
    default: return KERN_INVALID_ARGUMENT;
  }
  *out = threads().flavor_reply_send(*t, want);
  return MACH_PORT_VALID(*out) ? KERN_SUCCESS : KERN_FAILURE;
}

// XNU with SIP on: the kernel port cannot be replaced (KERN_NO_ACCESS); the
// read and inspect ports, or another `which`, are KERN_INVALID_ARGUMENT. The
// error reply releases `special`.
kern_return_t thread_set_special_port(thread_act_t port, int which, mach_port_t special) {
  (void)special;
  if (control(port) == nullptr) return KERN_INVALID_ARGUMENT;
  return which == THREAD_KERNEL_PORT ? KERN_NO_ACCESS : KERN_INVALID_ARGUMENT;
}

kern_return_t thread_terminate(thread_act_t port) {
  Thread* t = control(port);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  DeferredReply d = runtime().defer();
  const uint64_t id = t->id;
  threads().hold(*t, [d, id](kern_return_t kr) {
    Thread* t = threads().of_id(id);
    if (t != nullptr && kr == KERN_SUCCESS) threads().end(*t);
    runtime().send_error_reply(d, kr == KERN_SUCCESS || t == nullptr ? KERN_SUCCESS : kr);
  });
  return MIG_NO_REPLY;
}

kern_return_t thread_info(thread_inspect_t port, thread_flavor_t flavor, thread_info_t out,
                          mach_msg_type_number_t* cnt) {
  Thread* t = inspectable(port);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  ThreadProc p;
  if (t->frozen)
    p = t->frozen_facts;
  else if (!read_thread_proc(runtime().host().pid_of(t->task), t->tid, p))
    return KERN_TERMINATED;
  switch (flavor) {
    case THREAD_BASIC_INFO: {
      if (*cnt < THREAD_BASIC_INFO_COUNT) return KERN_INVALID_ARGUMENT;
      thread_basic_info_data_t b{};
      b.user_time.seconds = integer_t(p.utime_us / 1000000);
      b.user_time.microseconds = integer_t(p.utime_us % 1000000);
      b.system_time.seconds = integer_t(p.stime_us / 1000000);
      b.system_time.microseconds = integer_t(p.stime_us % 1000000);
      b.cpu_usage = 0;
      b.policy = POLICY_TIMESHARE;
      b.run_state = run_state_of(p, *t);
      b.flags = 0;
      b.suspend_count = integer_t(t->suspend_count);
      b.sleep_time = 0;
      memcpy(out, &b, sizeof b);
      *cnt = THREAD_BASIC_INFO_COUNT;
      return KERN_SUCCESS;
    }
    case THREAD_IDENTIFIER_INFO: {
      if (*cnt < THREAD_IDENTIFIER_INFO_COUNT) return KERN_INVALID_ARGUMENT;
      thread_identifier_info_data_t id{};
      id.thread_id = uint64_t(t->tid);
      const machd_thread_slot* parked = threads().parked_slot(*t);
      id.thread_handle = parked != nullptr ? parked->fs_base : 0;
      id.dispatch_qaddr = 0;
      memcpy(out, &id, sizeof id);
      *cnt = THREAD_IDENTIFIER_INFO_COUNT;
      return KERN_SUCCESS;
    }
    case THREAD_EXTENDED_INFO: {
      if (*cnt < THREAD_EXTENDED_INFO_COUNT) return KERN_INVALID_ARGUMENT;
      thread_extended_info_data_t e{};
      e.pth_user_time = p.utime_us * 1000;
      e.pth_system_time = p.stime_us * 1000;
      e.pth_cpu_usage = 0;
      e.pth_policy = POLICY_TIMESHARE;
      e.pth_run_state = run_state_of(p, *t);
      e.pth_flags = 0;
      e.pth_sleep_time = 0;
      e.pth_curpri = 31 - p.nice;  // BASEPRI_DEFAULT, moved by nice
      e.pth_priority = 31 - p.nice;
      e.pth_maxpriority = 63;
      strncpy(e.pth_name, p.name.c_str(), sizeof e.pth_name - 1);
      memcpy(out, &e, sizeof e);
      *cnt = THREAD_EXTENDED_INFO_COUNT;
      return KERN_SUCCESS;
    }
    default: return KERN_INVALID_ARGUMENT;
  }
}

// Policies are kept as set and reported back; Linux scheduling is not changed.
kern_return_t thread_policy_set(thread_act_t port, thread_policy_flavor_t flavor, thread_policy_t info,
                                mach_msg_type_number_t cnt) {
  Thread* t = control(port);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  mach_msg_type_number_t need = 0;
  switch (flavor) {
    case THREAD_EXTENDED_POLICY: need = THREAD_EXTENDED_POLICY_COUNT; break;
    case THREAD_TIME_CONSTRAINT_POLICY: need = THREAD_TIME_CONSTRAINT_POLICY_COUNT; break;
    case THREAD_PRECEDENCE_POLICY: need = THREAD_PRECEDENCE_POLICY_COUNT; break;
    case THREAD_AFFINITY_POLICY: need = THREAD_AFFINITY_POLICY_COUNT; break;
    case THREAD_BACKGROUND_POLICY: need = THREAD_BACKGROUND_POLICY_COUNT; break;
    case THREAD_LATENCY_QOS_POLICY: need = THREAD_LATENCY_QOS_POLICY_COUNT; break;
    case THREAD_THROUGHPUT_QOS_POLICY: need = THREAD_THROUGHPUT_QOS_POLICY_COUNT; break;
    default: return KERN_INVALID_ARGUMENT;
  }
  if (cnt < need) return KERN_INVALID_ARGUMENT;
  if (flavor == THREAD_TIME_CONSTRAINT_POLICY) {
    auto* tc = reinterpret_cast<thread_time_constraint_policy_t>(info);
    if (tc->constraint < tc->computation || tc->computation == 0) return KERN_INVALID_ARGUMENT;
  }
  t->policies[flavor].assign(info, info + need);
  return KERN_SUCCESS;
}

kern_return_t thread_policy_get(thread_inspect_t port, thread_policy_flavor_t flavor, thread_policy_t info,
                                mach_msg_type_number_t* cnt, boolean_t* get_default) {
  Thread* t = inspectable(port);
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  std::vector<integer_t> v;
  auto it = t->policies.find(flavor);
  const bool have = it != t->policies.end() && !*get_default;
  switch (flavor) {
    case THREAD_EXTENDED_POLICY: v = {1}; break;  // timeshare
    case THREAD_TIME_CONSTRAINT_POLICY: v = {0, 0, 0, 0}; break;
    case THREAD_PRECEDENCE_POLICY: v = {0}; break;
    case THREAD_AFFINITY_POLICY: v = {THREAD_AFFINITY_TAG_NULL}; break;
    case THREAD_BACKGROUND_POLICY: v = {0}; break;
    case THREAD_LATENCY_QOS_POLICY: v = {0}; break;
    case THREAD_THROUGHPUT_QOS_POLICY: v = {0}; break;
    default: return KERN_INVALID_ARGUMENT;
  }
  if (have) v = it->second;
  if (*cnt < v.size()) return KERN_INVALID_ARGUMENT;
  memcpy(info, v.data(), v.size() * sizeof(integer_t));
  *cnt = mach_msg_type_number_t(v.size());
  *get_default = have ? FALSE : TRUE;
  return KERN_SUCCESS;
}

kern_return_t task_threads(task_inspect_t task, thread_act_array_t* list, mach_msg_type_number_t* cnt) {
  auto id = task_of(task, {KType::kTask, KType::kTaskRead, KType::kTaskInspect});
  if (!id) return KERN_INVALID_ARGUMENT;
  std::vector<Thread*> ts = threads().of_task(*id);
  auto* out = static_cast<mach_port_t*>(machd::reply_alloc(std::max<size_t>(1, ts.size()) * sizeof(mach_port_t)));
  for (size_t i = 0; i < ts.size(); ++i) {
    out[i] = threads().reply_send(*ts[i]);
    runtime().after_reply([p = out[i]] { threads().release_reply_send(p); });
  }
  *list = out;
  *cnt = mach_msg_type_number_t(ts.size());
  return KERN_SUCCESS;
}

// The privileged processor set: the control port of every thread of every
// connected task (XNU on macOS), COPY_SENT and released after the reply.
kern_return_t processor_set_threads(processor_set_t pset, thread_act_array_t* list, mach_msg_type_number_t* cnt) {
  if (!translate(pset, {KType::kProcessorSet})) return KERN_INVALID_ARGUMENT;
  std::vector<Thread*> ts;
  for (machd::ipc::TaskId task : runtime().host().tasks())
    for (Thread* t : threads().of_task(task)) ts.push_back(t);
  auto* out = static_cast<mach_port_t*>(machd::reply_alloc(std::max<size_t>(1, ts.size()) * sizeof(mach_port_t)));
  if (out == nullptr) return KERN_RESOURCE_SHORTAGE;
  for (size_t i = 0; i < ts.size(); ++i) {
    out[i] = threads().reply_send(*ts[i]);
    runtime().after_reply([p = out[i]] { threads().release_reply_send(p); });
  }
  *list = out;
  *cnt = mach_msg_type_number_t(ts.size());
  return KERN_SUCCESS;
}

kern_return_t thread_create(task_t task, thread_act_t* child) {
  auto id = task_of(task, {KType::kTask});
  if (!id) return KERN_INVALID_ARGUMENT;
  (void)child;
  DeferredReply d = runtime().defer();
  threads().create(*id, [d](kern_return_t kr, Thread* t) {
    if (kr != KERN_SUCCESS || t == nullptr) return runtime().send_error_reply(d, kr ? kr : KERN_FAILURE);
    reply_port(d, *t);
  });
  return MIG_NO_REPLY;
}

kern_return_t thread_create_running(task_t task, thread_state_flavor_t flavor, thread_state_t state,
                                    mach_msg_type_number_t cnt, thread_act_t* child) {
  auto id = task_of(task, {KType::kTask});
  if (!id) return KERN_INVALID_ARGUMENT;
  (void)child;
  if (flavor != x86_THREAD_STATE64 && flavor != x86_THREAD_STATE) return KERN_INVALID_ARGUMENT;
  if (cnt < (flavor == x86_THREAD_STATE64 ? x86_THREAD_STATE64_COUNT : x86_THREAD_STATE_COUNT))
    return KERN_INVALID_ARGUMENT;
  std::vector<natural_t> copy(reinterpret_cast<natural_t*>(state), reinterpret_cast<natural_t*>(state) + cnt);
  DeferredReply d = runtime().defer();
  threads().create(*id, [d, flavor, copy](kern_return_t kr, Thread* t) {
    if (kr != KERN_SUCCESS || t == nullptr) return runtime().send_error_reply(d, kr ? kr : KERN_FAILURE);
    machd_thread_slot* s = threads().parked_slot(*t);
    kr = s ? set_thread_state(*s, t->debug, flavor, copy.data(), mach_msg_type_number_t(copy.size()))
           : KERN_FAILURE;
    if (kr != KERN_SUCCESS) {
      threads().end(*t);
      return runtime().send_error_reply(d, kr);
    }
    t->suspend_count = 0;
    reply_port(d, *t);  // first: the reply's right keeps the port
    threads().unhold(*t);
  });
  return MIG_NO_REPLY;
}

kern_return_t task_suspend(task_read_t task) {
  auto id = task_of(task, {KType::kTask, KType::kTaskRead});
  if (!id) return KERN_INVALID_ARGUMENT;
  DeferredReply d = runtime().defer();
  threads().suspend_task(*id, [d](kern_return_t kr) { runtime().send_error_reply(d, kr); });
  return MIG_NO_REPLY;
}

kern_return_t task_resume(task_read_t task) {
  auto id = task_of(task, {KType::kTask, KType::kTaskRead});
  if (!id) return KERN_INVALID_ARGUMENT;
  return threads().resume_task(*id);
}

// task_suspend2: a suspension whose token (a send-once right) task_resume2
// consumes; a token destroyed unused ends its suspension too
// (task_suspension.h).
kern_return_t task_suspend2(task_read_t task, task_suspension_token_t* token) {
  auto id = task_of(task, {KType::kTask, KType::kTaskRead});
  if (!id) return KERN_INVALID_ARGUMENT;
  (void)token;
  const mach_port_name_t port = suspension_tokens().make(*id);
  if (port == MACH_PORT_NULL) return KERN_RESOURCE_SHORTAGE;
  DeferredReply d = runtime().defer();
  threads().suspend_task(*id, [d, port, task = *id](kern_return_t kr) {
    if (kr != KERN_SUCCESS) {
      suspension_tokens().discard(port);
      return runtime().send_error_reply(d, kr);
    }
    // A reply that could not be sent (no reply port, its caller gone) was
    // destroyed, and the token with it, unused: its suspension ends, as
    // when XNU destroys the reply's send-once right.
    if (runtime().send_port_reply(d, port, MACH_MSG_TYPE_MAKE_SEND_ONCE) != MACH_MSG_SUCCESS &&
        suspension_tokens().discard(port))
      (void)threads().resume_task(task);
  });
  return MIG_NO_REPLY;
}

kern_return_t task_resume2(task_suspension_token_t token) {
  std::optional<machd::ipc::TaskId> task = suspension_tokens().redeem(token);
  if (!task) return KERN_INVALID_ARGUMENT;
  return threads().resume_task(*task);  // KERN_FAILURE once the task has ended (XNU's release_task_hold)
}

}  // extern "C"
