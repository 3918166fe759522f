// machd/kern/task.cc — see task.h.
#include "task.h"

#include <mach/task_info.h>
#include <mach/task_policy.h>
#include <mach/task_special_ports.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "corpse.h"
#include "host.h"

namespace machd::kern {

namespace {

Tasks* g_tasks = nullptr;

ipc::Kernel& kernel() { return runtime().kernel(); }
ipc::TaskId kt() { return runtime().kt(); }

// XNU's default EXC_GUARD behavior on macOS (task_exc_guard_default).
constexpr uint32_t kDefaultExcGuard =
    TASK_EXC_GUARD_MP_DELIVER | TASK_EXC_GUARD_MP_ONCE | TASK_EXC_GUARD_VM_DELIVER | TASK_EXC_GUARD_VM_ONCE;

KType port_type(TaskFlavor f) {
  switch (f) {
    case TaskFlavor::kControl: return KType::kTask;
    case TaskFlavor::kRead: return KType::kTaskRead;
    case TaskFlavor::kInspect: return KType::kTaskInspect;
    case TaskFlavor::kName: return KType::kTaskName;
  }
  return KType::kNone;
}

std::optional<TaskFlavor> flavor_of(KType t) {
  switch (t) {
    case KType::kTask: return TaskFlavor::kControl;
    case KType::kTaskRead: return TaskFlavor::kRead;
    case KType::kTaskInspect: return TaskFlavor::kInspect;
    case KType::kTaskName: return TaskFlavor::kName;
    default: return std::nullopt;
  }
}

// Index of a non-control flavor in State::flavor_ports.
size_t slot_of(TaskFlavor f) { return size_t(f) - 1; }

bool alive(ipc::TaskId t) { return t != ipc::kNoTask && kernel().credentials(t) != nullptr; }

// A copy of a send right the kernel task holds, for a reply to move out
// (MACH_PORT_DEAD for a dead name, MACH_PORT_NULL for none).
mach_port_name_t copy_send(mach_port_name_t name) {
  if (!MACH_PORT_VALID(name)) return name;
  mach_port_type_t type = 0;
  if (kernel().port_type(kt(), name, &type) != KERN_SUCCESS) return MACH_PORT_NULL;
  if (type & MACH_PORT_TYPE_DEAD_NAME) return MACH_PORT_DEAD;
  if (!(type & MACH_PORT_TYPE_SEND)) return MACH_PORT_NULL;
  return kernel().port_mod_refs(kt(), name, MACH_PORT_RIGHT_SEND, 1) == KERN_SUCCESS ? name : MACH_PORT_NULL;
}

void release(mach_port_name_t name) {
  if (!MACH_PORT_VALID(name)) return;
  mach_port_type_t type = 0;
  if (kernel().port_type(kt(), name, &type) != KERN_SUCCESS) return;
  if (type & MACH_PORT_TYPE_DEAD_NAME)
    kernel().port_mod_refs(kt(), name, MACH_PORT_RIGHT_DEAD_NAME, -1);
  else
    kernel().port_deallocate(kt(), name);
}

}  // namespace

Tasks& tasks() { return *g_tasks; }

Tasks::Tasks(Dispatch& dispatch) {
  g_tasks = this;
  auto flavor_ns = [this](ipc::KObject ko, mach_port_name_t p, mach_port_mscount_t m) { on_flavor_no_senders(ko, p, m); };
  dispatch.on_no_senders(KType::kTaskRead, flavor_ns);
  dispatch.on_no_senders(KType::kTaskInspect, flavor_ns);
  dispatch.on_no_senders(KType::kTaskName, flavor_ns);
  dispatch.on_no_senders(KType::kIdentityToken,
                         [this](ipc::KObject ko, mach_port_name_t p, mach_port_mscount_t m) { on_token_no_senders(ko, p, m); });
  runtime().add_observer(this);
}

Tasks::~Tasks() {
  runtime().remove_observer(this);
  if (g_tasks == this) g_tasks = nullptr;
}

const Tasks::State* Tasks::find(ipc::TaskId task) const {
  auto it = state_.find(task);
  return it == state_.end() ? nullptr : &it->second;
}

std::optional<ipc::TaskId> Tasks::translate(mach_port_t port, TaskFlavor weakest, TaskFlavor* flavor) const {
  const ipc::KObject ko = runtime().object_of(port);
  const std::optional<TaskFlavor> f = flavor_of(type_of(ko));
  if (!f || *f > weakest || !alive(ipc::TaskId(ko.id))) return std::nullopt;
  // As XNU's conversions: a routine that needs the control flavor never
  // gets a corpse (corpse.h); read, inspect and name routines do.
  if (weakest == TaskFlavor::kControl && is_corpse_task(ipc::TaskId(ko.id))) return std::nullopt;
  if (flavor) *flavor = *f;
  return ipc::TaskId(ko.id);
}

std::optional<ipc::TaskId> Tasks::translate_name(ipc::TaskId caller, mach_port_name_t name, TaskFlavor weakest) const {
  const ipc::KObject ko = kernel().kobject_of(caller, name);
  const std::optional<TaskFlavor> f = flavor_of(type_of(ko));
  if (!f || *f > weakest || !alive(ipc::TaskId(ko.id))) return std::nullopt;
  if (weakest == TaskFlavor::kControl && is_corpse_task(ipc::TaskId(ko.id))) return std::nullopt;
  return ipc::TaskId(ko.id);
}

mach_port_name_t Tasks::flavor_send(ipc::TaskId task, TaskFlavor flavor) {
  if (!alive(task)) return MACH_PORT_NULL;
  if (flavor == TaskFlavor::kControl) return runtime().make_send(kt(), kernel().task_port_kernel_name(task));
  mach_port_name_t& port = state(task).flavor_ports[slot_of(flavor)];
  if (!MACH_PORT_VALID(port)) {
    port = runtime().create_port(port_type(flavor), task);
    if (!MACH_PORT_VALID(port)) return MACH_PORT_NULL;
    kernel().kobject_request_no_senders(port);
  }
  return runtime().make_send(kt(), port);
}

void Tasks::on_flavor_no_senders(ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount) {
  auto it = state_.find(ipc::TaskId(ko.id));
  const std::optional<TaskFlavor> f = flavor_of(type_of(ko));
  if (it == state_.end() || !f || it->second.flavor_ports[slot_of(*f)] != port) return;
  if (kernel().kobject_mscount(port) != mscount) {  // a send right was made since: wait for the next one
    kernel().kobject_request_no_senders(port);
    return;
  }
  it->second.flavor_ports[slot_of(*f)] = MACH_PORT_NULL;
  runtime().destroy_port(port);
}

kern_return_t Tasks::get_special(ipc::TaskId task, TaskFlavor via, int which, mach_port_name_t* out) {
  *out = MACH_PORT_NULL;
  // What a read or inspect port may ask for (XNU special_port_allowed_with_task_flavor).
  const bool allowed = via == TaskFlavor::kControl ||
                       (via == TaskFlavor::kRead && (which == TASK_READ_PORT || which == TASK_INSPECT_PORT ||
                                                     which == TASK_NAME_PORT)) ||
                       (via == TaskFlavor::kInspect && (which == TASK_INSPECT_PORT || which == TASK_NAME_PORT));
  if (!allowed) return KERN_INVALID_CAPABILITY;
  switch (which) {
    case TASK_KERNEL_PORT: *out = flavor_send(task, TaskFlavor::kControl); break;
    case TASK_READ_PORT: *out = flavor_send(task, TaskFlavor::kRead); break;
    case TASK_INSPECT_PORT: *out = flavor_send(task, TaskFlavor::kInspect); break;
    case TASK_NAME_PORT: *out = flavor_send(task, TaskFlavor::kName); break;
    case TASK_HOST_PORT:  // host_priv for a root task, the host name port otherwise (host.h)
    case TASK_BOOTSTRAP_PORT:
    case TASK_ACCESS_PORT:
    case TASK_DEBUG_CONTROL_PORT:
    case TASK_RESOURCE_NOTIFY_PORT:
      // The IPC core keeps these slots: a copy lands in the kernel task.
      return kernel().task_get_special_port(kt(), task, which, out);
    default: return KERN_INVALID_ARGUMENT;
  }
  return MACH_PORT_VALID(*out) ? KERN_SUCCESS : KERN_FAILURE;
}

kern_return_t Tasks::set_special(ipc::TaskId task, int which, mach_port_name_t port) {
  kern_return_t kr;
  switch (which) {
    case TASK_KERNEL_PORT:
    case TASK_HOST_PORT: kr = KERN_NO_ACCESS; break;  // XNU with SIP on
    case TASK_BOOTSTRAP_PORT:
    case TASK_DEBUG_CONTROL_PORT:
    case TASK_RESOURCE_NOTIFY_PORT: kr = kernel().task_set_special_port(kt(), task, which, port); break;
    case TASK_ACCESS_PORT: {  // never overwritten once set
      mach_port_name_t cur = MACH_PORT_NULL;
      kernel().task_get_special_port(kt(), task, which, &cur);
      if (MACH_PORT_VALID(cur)) {
        release(cur);
        kr = KERN_NO_ACCESS;
      } else {
        kr = kernel().task_set_special_port(kt(), task, which, port);
      }
      break;
    }
    default: kr = KERN_INVALID_ARGUMENT; break;  // the read, inspect and name ports among them
  }
  if (kr == KERN_SUCCESS) release(port);  // the core copied what it keeps; an error reply releases it
  return kr;
}

kern_return_t Tasks::ports_register(ipc::TaskId task, const mach_port_name_t* ports, size_t n) {
  if (n > size_t(kRegisterMax)) return KERN_INVALID_ARGUMENT;  // the error reply releases them
  State& s = state(task);
  for (int i = 0; i < kRegisterMax; i++) {
    release(s.registered[i]);
    s.registered[i] = size_t(i) < n ? ports[i] : MACH_PORT_NULL;
  }
  return KERN_SUCCESS;
}

std::array<mach_port_name_t, Tasks::kRegisterMax> Tasks::ports_lookup(ipc::TaskId task) {
  std::array<mach_port_name_t, kRegisterMax> out{};
  if (const State* s = find(task))
    for (int i = 0; i < kRegisterMax; i++) out[i] = copy_send(s->registered[i]);
  return out;
}

kern_return_t Tasks::terminate(ipc::TaskId task) {
  const int pidfd = runtime().host().pidfd_of(task);
  if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0) return KERN_SUCCESS;
  const pid_t pid = runtime().host().pid_of(task);
  if (pidfd < 0 && pid > 0 && kill(pid, SIGKILL) == 0) return KERN_SUCCESS;
  return KERN_FAILURE;  // the process is already gone: its task is ending
}

uint32_t Tasks::exc_guard(ipc::TaskId task) const {
  const State* s = find(task);
  return s && s->exc_guard ? *s->exc_guard : kDefaultExcGuard;
}

kern_return_t Tasks::set_exc_guard(ipc::TaskId task, uint32_t behavior) {
  if (behavior & ~uint32_t(TASK_EXC_GUARD_ALL)) return KERN_INVALID_VALUE;
  state(task).exc_guard = behavior;
  return KERN_SUCCESS;
}

kern_return_t Tasks::policy_set(ipc::TaskId task, int flavor, const integer_t* info, mach_msg_type_number_t count) {
  switch (flavor) {
    case TASK_CATEGORY_POLICY:
      if (count < TASK_CATEGORY_POLICY_COUNT) return KERN_INVALID_ARGUMENT;
      if (info[0] < TASK_RENICED || info[0] > TASK_DARWINBG_APPLICATION) return KERN_INVALID_ARGUMENT;
      state(task).role = info[0];
      break;
    case TASK_BASE_LATENCY_QOS_POLICY:
    case TASK_BASE_THROUGHPUT_QOS_POLICY:
      if (count < 1) return KERN_INVALID_ARGUMENT;
      (flavor == TASK_BASE_LATENCY_QOS_POLICY ? state(task).latency_tier : state(task).throughput_tier) = info[0];
      break;
    default: return KERN_INVALID_ARGUMENT;
  }
  state(task).policy_set = true;
  return KERN_SUCCESS;
}

kern_return_t Tasks::policy_get(ipc::TaskId task, int flavor, integer_t* info, mach_msg_type_number_t* count,
                                boolean_t* get_default) const {
  const State* s = find(task);
  const bool dflt = *get_default || !s;
  switch (flavor) {
    case TASK_CATEGORY_POLICY:
      if (*count < TASK_CATEGORY_POLICY_COUNT) return KERN_INVALID_ARGUMENT;
      info[0] = dflt ? TASK_UNSPECIFIED : s->role;
      *count = TASK_CATEGORY_POLICY_COUNT;
      return KERN_SUCCESS;
    case TASK_BASE_LATENCY_QOS_POLICY:
    case TASK_BASE_THROUGHPUT_QOS_POLICY:
      if (*count < 1) return KERN_INVALID_ARGUMENT;
      info[0] = dflt ? 0 : (flavor == TASK_BASE_LATENCY_QOS_POLICY ? s->latency_tier : s->throughput_tier);
      *count = 1;
      return KERN_SUCCESS;
    default: return KERN_INVALID_ARGUMENT;
  }
}

kern_return_t Tasks::create_token(ipc::TaskId task, mach_port_name_t* out) {
  const ipc::Credentials* c = kernel().credentials(task);
  if (!c) return KERN_INVALID_ARGUMENT;
  const uint64_t id = next_token_++;
  const mach_port_name_t port = runtime().create_port(KType::kIdentityToken, id);
  if (!MACH_PORT_VALID(port)) return KERN_RESOURCE_SHORTAGE;
  kernel().kobject_request_no_senders(port);
  tokens_[id] = Token{task, c->pid, c->pidversion, port};
  *out = runtime().make_send(kt(), port);
  return KERN_SUCCESS;
}

kern_return_t Tasks::token_task_port(mach_port_t token, task_flavor_t flavor, ipc::TaskId caller,
                                     mach_port_name_t* out) {
  const ipc::KObject ko = runtime().object_of(token);
  auto it = type_of(ko) == KType::kIdentityToken ? tokens_.find(ko.id) : tokens_.end();
  if (it == tokens_.end() || flavor > TASK_FLAVOR_NAME) return KERN_INVALID_ARGUMENT;
  const ipc::TaskId task = it->second.task;
  const ipc::Credentials* c = kernel().credentials(task);
  // The same process, not a later one that reused its pid (or its task id).
  if (!c || c->pid != it->second.pid || c->pidversion != it->second.pidversion) return KERN_INVALID_ARGUMENT;
  const auto f = TaskFlavor(flavor);
  if (f <= TaskFlavor::kRead && !may_control(caller, task)) return KERN_FAILURE;
  *out = flavor_send(task, f);
  return MACH_PORT_VALID(*out) ? KERN_SUCCESS : KERN_FAILURE;
}

void Tasks::on_token_no_senders(ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount) {
  auto it = tokens_.find(ko.id);
  if (it == tokens_.end() || it->second.port != port) return;
  if (kernel().kobject_mscount(port) != mscount) {
    kernel().kobject_request_no_senders(port);
    return;
  }
  tokens_.erase(it);
  runtime().destroy_port(port);
}

bool Tasks::may_control(ipc::TaskId caller, ipc::TaskId target) const {
  if (caller == target) return true;
  const ipc::Credentials* me = kernel().credentials(caller);
  const ipc::Credentials* it = kernel().credentials(target);
  if (!me || !it) return false;
  if (me->euid == 0) return true;
  return it->euid == me->euid && it->uid == me->euid;
}

kern_return_t Tasks::task_for_pid(ipc::TaskId caller, mach_port_name_t tport, int pid, TaskFlavor flavor,
                                  mach_port_name_t* out) {
  *out = MACH_PORT_NULL;
  if (!translate_name(caller, tport, TaskFlavor::kControl)) return KERN_FAILURE;
  if (pid <= 0) return KERN_FAILURE;  // the kernel task is nobody's
  const ipc::TaskId target = runtime().host().task_of_pid(pid);
  if (!alive(target)) return KERN_FAILURE;
  if (flavor == TaskFlavor::kControl) {
    if (!may_control(caller, target)) return KERN_FAILURE;
  } else {
    // task_name_for_pid: root, itself, or the same effective and real user.
    const ipc::Credentials* me = kernel().credentials(caller);
    const ipc::Credentials* it = kernel().credentials(target);
    if (!(caller == target || me->euid == 0 || (it->euid == me->euid && it->uid == me->uid))) return KERN_FAILURE;
  }
  const mach_port_name_t send = flavor_send(target, flavor);
  if (!MACH_PORT_VALID(send)) return KERN_FAILURE;
  // Move the kernel task's new send right into the caller.
  mach_msg_type_name_t type = 0;
  kern_return_t kr = kernel().port_extract_right(caller, kt(), send, MACH_MSG_TYPE_MOVE_SEND, out, &type);
  if (kr != KERN_SUCCESS) {
    release(send);
    *out = MACH_PORT_NULL;
    return KERN_FAILURE;
  }
  return KERN_SUCCESS;
}

kern_return_t Tasks::pid_for_task(ipc::TaskId caller, mach_port_name_t name, int* pid) const {
  std::optional<ipc::TaskId> t = translate_name(caller, name, TaskFlavor::kName);
  if (!t) return KERN_FAILURE;
  const ipc::Credentials* c = kernel().credentials(*t);
  if (!c) return KERN_FAILURE;
  *pid = int(c->pid);
  return KERN_SUCCESS;
}

void Tasks::task_terminating(ipc::TaskId task) {
  auto it = state_.find(task);
  if (it == state_.end()) return;
  for (mach_port_name_t& p : it->second.flavor_ports) {
    if (MACH_PORT_VALID(p)) runtime().destroy_port(p);
    p = MACH_PORT_NULL;
  }
  for (mach_port_name_t& p : it->second.registered) release(p);
  state_.erase(it);
}

}  // namespace machd::kern
