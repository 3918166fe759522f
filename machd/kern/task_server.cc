// machd/kern/task_server.cc — the task.defs routines on the task object
// (task.h) that machd provides. Rights that arrive in a request are the
// routine's on success; an error reply releases them (kernel_servers.h). Each translates its task port with the
// weakest flavor XNU's MIG conversion accepts for it (task_t: control;
// task_read_t: read; task_inspect_t: inspect; task_name_t: any) and
// answers a port it cannot translate as XNU answers a null task
// (KERN_INVALID_ARGUMENT, KERN_INVALID_TASK where XNU says so). Threads,
// suspension and VM routines of task.defs are the thread and VM objects'.
#include <mach/task_info.h>

#include "corpse.h"
#include "runtime.h"
#include "task.h"
#include "task_info.h"
#include "thread.h"

extern "C" {
#include "taskServer.h"
}

using machd::ipc::TaskId;
using machd::kern::runtime;
using machd::kern::TaskFlavor;
using machd::kern::tasks;

namespace {

// A send right the kernel task made for the reply to copy.
mach_port_name_t lend(mach_port_name_t name) {
  return MACH_PORT_VALID(name) ? runtime().release_after_reply(name) : name;
}

}  // namespace

#define TASK_OR(t, port, flavor, err)                                  \
  std::optional<TaskId> t = tasks().translate(port, TaskFlavor::flavor); \
  if (!t) return err

extern "C" {

// XNU: no longer supported ("too many calls assume that a task has a valid
// process attached"): KERN_FAILURE for a real task.
// (The ledger ports are released with the request: an error reply does.)
kern_return_t task_create(task_t target_task, ledger_array_t, mach_msg_type_number_t, boolean_t,
                          task_t* child_task) {
  *child_task = MACH_PORT_NULL;
  TASK_OR(t, target_task, kControl, KERN_INVALID_ARGUMENT);
  return KERN_FAILURE;
}

kern_return_t task_terminate(task_t target_task) {
  TASK_OR(t, target_task, kControl, KERN_INVALID_ARGUMENT);
  return tasks().terminate(*t);
}

kern_return_t mach_ports_register(task_t target_task, mach_port_array_t init_port_set,
                                  mach_msg_type_number_t init_port_setCnt) {
  TASK_OR(t, target_task, kControl, KERN_INVALID_ARGUMENT);
  return tasks().ports_register(*t, init_port_set, init_port_set ? init_port_setCnt : 0);
}

kern_return_t mach_ports_lookup(task_t target_task, mach_port_array_t* init_port_set,
                                mach_msg_type_number_t* init_port_setCnt) {
  TASK_OR(t, target_task, kControl, KERN_INVALID_ARGUMENT);
  auto ports = tasks().ports_lookup(*t);
  auto* out = static_cast<mach_port_t*>(machd::reply_alloc(sizeof ports));
  if (!out) {
    for (mach_port_name_t p : ports) runtime().release_send(p);
    return KERN_RESOURCE_SHORTAGE;
  }
  for (size_t i = 0; i < ports.size(); i++) out[i] = lend(ports[i]);
  *init_port_set = out;
  *init_port_setCnt = mach_msg_type_number_t(ports.size());
  return KERN_SUCCESS;
}

kern_return_t task_info(task_name_t target_task, task_flavor_t flavor, task_info_t task_info_out,
                        mach_msg_type_number_t* task_info_outCnt) {
  TASK_OR(t, target_task, kName, KERN_INVALID_ARGUMENT);
  const machd::ipc::Credentials* c = runtime().kernel().credentials(*t);
  if (!c) return KERN_INVALID_ARGUMENT;
  kern_return_t kr =
      machd::kern::task_info_of(runtime().host().pid_of(*t), *c, flavor, task_info_out, task_info_outCnt);
  if (kr == KERN_SUCCESS) machd::kern::set_suspend_count(flavor, task_info_out, machd::kern::threads().task_suspensions(*t));
  return kr;
}

// XNU: the only settable flavors are internal ones; TASK_TRACE_MEMORY_INFO
// is gone (KERN_NOT_SUPPORTED), everything else KERN_INVALID_ARGUMENT.
kern_return_t task_set_info(task_t target_task, task_flavor_t flavor, task_info_t, mach_msg_type_number_t) {
  TASK_OR(t, target_task, kControl, KERN_INVALID_ARGUMENT);
  return flavor == TASK_TRACE_MEMORY_INFO ? KERN_NOT_SUPPORTED : KERN_INVALID_ARGUMENT;
}

kern_return_t task_get_special_port(task_inspect_t task, int which_port, mach_port_t* special_port) {
  TaskFlavor via{};
  std::optional<TaskId> t = tasks().translate(task, TaskFlavor::kInspect, &via);
  if (!t) return KERN_INVALID_ARGUMENT;
  mach_port_name_t out = MACH_PORT_NULL;
  kern_return_t kr = tasks().get_special(*t, via, which_port, &out);
  if (kr != KERN_SUCCESS) return kr;
  *special_port = lend(out);
  return KERN_SUCCESS;
}

kern_return_t task_set_special_port(task_t task, int which_port, mach_port_t special_port) {
  TASK_OR(t, task, kControl, KERN_INVALID_ARGUMENT);
  return tasks().set_special(*t, which_port, special_port);
}

// XNU: task_policy_set needs the control port; task_policy_get an inspect
// port or better (a name port needs an entitlement nobody outside Apple has).
kern_return_t task_policy_set(task_policy_set_t task, task_policy_flavor_t flavor, task_policy_t policy_info,
                              mach_msg_type_number_t policy_infoCnt) {
  TASK_OR(t, task, kControl, KERN_INVALID_ARGUMENT);
  return tasks().policy_set(*t, int(flavor), policy_info, policy_infoCnt);
}

kern_return_t task_policy_get(task_policy_get_t task, task_policy_flavor_t flavor, task_policy_t policy_info,
                              mach_msg_type_number_t* policy_infoCnt, boolean_t* get_default) {
  TASK_OR(t, task, kInspect, KERN_INVALID_ARGUMENT);
  return tasks().policy_get(*t, int(flavor), policy_info, policy_infoCnt, get_default);
}

kern_return_t task_get_exc_guard_behavior(task_inspect_t task, task_exc_guard_behavior_t* behavior) {
  TASK_OR(t, task, kInspect, KERN_INVALID_TASK);
  *behavior = tasks().exc_guard(*t);
  return KERN_SUCCESS;
}

kern_return_t task_set_exc_guard_behavior(task_t task, task_exc_guard_behavior_t behavior) {
  TASK_OR(t, task, kControl, KERN_INVALID_TASK);
  return tasks().set_exc_guard(*t, behavior);
}

kern_return_t task_generate_corpse(task_read_t task, mach_port_t* corpse_task_port) {
  TASK_OR(t, task, kRead, KERN_INVALID_ARGUMENT);
  (void)corpse_task_port;
  machd::kern::Corpses* keeper = machd::kern::corpses_if_any();
  if (keeper == nullptr) return KERN_NOT_SUPPORTED;
  const machd::kern::DeferredReply d = runtime().defer();
  const kern_return_t kr = keeper->generate(*t, [d](kern_return_t kr, mach_port_name_t port) {
    if (kr != KERN_SUCCESS) return runtime().send_error_reply(d, kr);
    if (!MACH_PORT_VALID(d.reply)) return runtime().release_send(port);  // nobody to answer: the corpse ends
    static_assert(sizeof(__Reply__task_generate_corpse_t) ==
                  sizeof(mach_msg_header_t) + sizeof(mach_msg_body_t) + sizeof(mach_msg_port_descriptor_t));
    runtime().send_port_reply(d, port, MACH_MSG_TYPE_MOVE_SEND);
  });
  if (kr != KERN_SUCCESS) runtime().send_error_reply(d, kr);
  return MIG_NO_REPLY;
}

kern_return_t task_create_identity_token(task_t task, task_id_token_t* token) {
  TASK_OR(t, task, kControl, KERN_INVALID_ARGUMENT);
  mach_port_name_t out = MACH_PORT_NULL;
  kern_return_t kr = tasks().create_token(*t, &out);
  if (kr == KERN_SUCCESS) *token = lend(out);
  return kr;
}

kern_return_t task_identity_token_get_task_port(task_id_token_t token, task_flavor_t flavor, mach_port_t* task_port) {
  mach_port_name_t out = MACH_PORT_NULL;
  kern_return_t kr = tasks().token_task_port(token, flavor, runtime().request().sender, &out);
  if (kr == KERN_SUCCESS) *task_port = lend(out);
  return kr;
}

}  // extern "C"
