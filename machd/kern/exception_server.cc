// machd/kern/exception_server.cc — task_, thread_ and host_
// {set,get,swap}_exception_ports and the *_get_exception_ports_info
// routines (task.defs, thread_act.defs, host_priv.defs): translate the
// object, one call into exception_ports.h, fill the reply.
#include <mach/mig_errors.h>

#include <cstring>

#include "exception_ports.h"
#include "task.h"
#include "thread.h"
#include "translate.h"

extern "C" {
#include "host_privServer.h"
#include "taskServer.h"
#include "thread_actServer.h"
}

namespace machd::kern {

namespace {

Thread* thread_of(mach_port_t port, std::initializer_list<KType> types) {
  auto id = translate(port, types);
  return id ? threads().of_id(*id) : nullptr;
}

// Where a routine's table is, and what to publish after a change.
struct Target {
  ExceptionActions* table = nullptr;
  ipc::TaskId task = ipc::kNoTask;  // publish this task; kNoTask with a table: the host (all tasks)
};

Target task_target(mach_port_t port, TaskFlavor weakest) {
  auto task = tasks().translate(port, weakest);
  if (!task) return {};
  return {&exception_ports().task_table(*task), *task};
}

// A thread's table is made when first written; a read of a thread that
// has none reads an empty one.
Target thread_target(mach_port_t port, std::initializer_list<KType> types, bool writing) {
  static const ExceptionActions kNone{};
  Thread* t = thread_of(port, types);
  if (t == nullptr) return {};
  if (!t->exc && writing) t->exc = std::make_unique<ExceptionActions>();
  return {t->exc ? t->exc.get() : const_cast<ExceptionActions*>(&kNone), t->task};
}

Target host_target(mach_port_t port) {
  if (!translate(port, {KType::kHostPriv})) return {};
  return {&exception_ports().host_table(), ipc::kNoTask};
}

void publish(const Target& t) {
  if (t.task == ipc::kNoTask)
    exception_ports().publish_all();
  else
    exception_ports().publish(t.task);
}

kern_return_t do_set(const Target& t, exception_mask_t mask, mach_port_t port, exception_behavior_t behavior,
                     thread_state_flavor_t flavor) {
  if (t.table == nullptr) return KERN_INVALID_ARGUMENT;
  kern_return_t kr = validate_exception_ports(mask, port, behavior, flavor);
  if (kr != KERN_SUCCESS) return kr;
  write_exception_ports(*t.table, mask, port, behavior, flavor);
  runtime().release_send(port);  // the request's right is consumed
  publish(t);
  return KERN_SUCCESS;
}

void fill(const ExceptionPortsAnswer& a, exception_mask_array_t masks, mach_msg_type_number_t* count,
          exception_handler_array_t ports, exception_behavior_array_t behaviors, exception_flavor_array_t flavors) {
  for (mach_msg_type_number_t i = 0; i < a.count; ++i) {
    masks[i] = a.masks[i];
    if (ports != nullptr) ports[i] = a.ports[i];
    behaviors[i] = a.behaviors[i];
    flavors[i] = a.flavors[i];
  }
  *count = a.count;
}

kern_return_t do_get(const Target& t, exception_mask_t mask, exception_mask_array_t masks,
                     mach_msg_type_number_t* count, exception_handler_array_t ports,
                     exception_behavior_array_t behaviors, exception_flavor_array_t flavors) {
  if (t.table == nullptr) return KERN_INVALID_ARGUMENT;
  if (mask & ~exception_mask_t(EXC_MASK_VALID)) return KERN_INVALID_ARGUMENT;
  fill(read_exception_ports(*t.table, mask, *count), masks, count, ports, behaviors, flavors);
  return KERN_SUCCESS;
}

kern_return_t do_get_info(const Target& t, exception_mask_t mask, exception_mask_array_t masks,
                          mach_msg_type_number_t* count, exception_handler_info_array_t info,
                          exception_behavior_array_t behaviors, exception_flavor_array_t flavors) {
  if (t.table == nullptr) return KERN_INVALID_ARGUMENT;
  if (mask & ~exception_mask_t(EXC_MASK_VALID)) return KERN_INVALID_ARGUMENT;
  const ExceptionPortsAnswer a = read_exception_ports(*t.table, mask, *count);
  fill(a, masks, count, nullptr, behaviors, flavors);
  for (mach_msg_type_number_t i = 0; i < a.count; ++i) info[i] = exception_port_info(a.ports[i]);
  return KERN_SUCCESS;
}

// The old actions are read before the new ones are written; their
// references are released only after the reply copied them.
kern_return_t do_swap(const Target& t, exception_mask_t mask, mach_port_t port, exception_behavior_t behavior,
                      thread_state_flavor_t flavor, exception_mask_array_t masks, mach_msg_type_number_t* count,
                      exception_handler_array_t ports, exception_behavior_array_t behaviors,
                      exception_flavor_array_t flavors) {
  if (t.table == nullptr) return KERN_INVALID_ARGUMENT;
  kern_return_t kr = validate_exception_ports(mask, port, behavior, flavor);
  if (kr != KERN_SUCCESS) return kr;
  const ExceptionPortsAnswer a = read_exception_ports(*t.table, mask, *count);
  fill(a, masks, count, ports, behaviors, flavors);
  // XNU changes only the exceptions it could report (count < room).
  exception_mask_t changed = 0;
  for (mach_msg_type_number_t i = 0; i < a.count; ++i) changed |= a.masks[i];
  write_exception_ports(*t.table, changed, port, behavior, flavor);
  runtime().release_send(port);
  publish(t);
  return KERN_SUCCESS;
}

Target thread_control(mach_port_t p, bool writing) { return thread_target(p, {KType::kThread}, writing); }

}  // namespace

}  // namespace machd::kern

using namespace machd::kern;

extern "C" {

kern_return_t task_set_exception_ports(task_t task, exception_mask_t mask, mach_port_t new_port,
                                       exception_behavior_t behavior, thread_state_flavor_t flavor) {
  return do_set(task_target(task, TaskFlavor::kControl), mask, new_port, behavior, flavor);
}

kern_return_t task_get_exception_ports(task_t task, exception_mask_t mask, exception_mask_array_t masks,
                                       mach_msg_type_number_t* count, exception_handler_array_t ports,
                                       exception_behavior_array_t behaviors, exception_flavor_array_t flavors) {
  return do_get(task_target(task, TaskFlavor::kControl), mask, masks, count, ports, behaviors, flavors);
}

kern_return_t task_swap_exception_ports(task_t task, exception_mask_t mask, mach_port_t new_port,
                                        exception_behavior_t behavior, thread_state_flavor_t flavor,
                                        exception_mask_array_t masks, mach_msg_type_number_t* count,
                                        exception_handler_array_t ports, exception_behavior_array_t behaviors,
                                        exception_flavor_array_t flavors) {
  return do_swap(task_target(task, TaskFlavor::kControl), mask, new_port, behavior, flavor, masks, count, ports,
                 behaviors, flavors);
}

kern_return_t task_get_exception_ports_info(mach_port_t port, exception_mask_t mask, exception_mask_array_t masks,
                                            mach_msg_type_number_t* count, exception_handler_info_array_t info,
                                            exception_behavior_array_t behaviors, exception_flavor_array_t flavors) {
  return do_get_info(task_target(port, TaskFlavor::kRead), mask, masks, count, info, behaviors, flavors);
}

kern_return_t thread_set_exception_ports(thread_act_t thread, exception_mask_t mask, mach_port_t new_port,
                                         exception_behavior_t behavior, thread_state_flavor_t flavor) {
  return do_set(thread_control(thread, true), mask, new_port, behavior, flavor);
}

kern_return_t thread_get_exception_ports(thread_act_t thread, exception_mask_t mask, exception_mask_array_t masks,
                                         mach_msg_type_number_t* count, exception_handler_array_t ports,
                                         exception_behavior_array_t behaviors, exception_flavor_array_t flavors) {
  return do_get(thread_control(thread, false), mask, masks, count, ports, behaviors, flavors);
}

kern_return_t thread_swap_exception_ports(thread_act_t thread, exception_mask_t mask, mach_port_t new_port,
                                          exception_behavior_t behavior, thread_state_flavor_t flavor,
                                          exception_mask_array_t masks, mach_msg_type_number_t* count,
                                          exception_handler_array_t ports, exception_behavior_array_t behaviors,
                                          exception_flavor_array_t flavors) {
  return do_swap(thread_control(thread, true), mask, new_port, behavior, flavor, masks, count, ports, behaviors,
                 flavors);
}

kern_return_t thread_get_exception_ports_info(mach_port_t port, exception_mask_t mask, exception_mask_array_t masks,
                                              mach_msg_type_number_t* count, exception_handler_info_array_t info,
                                              exception_behavior_array_t behaviors,
                                              exception_flavor_array_t flavors) {
  return do_get_info(thread_target(port, {KType::kThread, KType::kThreadRead}, false), mask, masks, count, info, behaviors,
                     flavors);
}

kern_return_t host_set_exception_ports(host_priv_t host_priv, exception_mask_t mask, mach_port_t new_port,
                                       exception_behavior_t behavior, thread_state_flavor_t flavor) {
  return do_set(host_target(host_priv), mask, new_port, behavior, flavor);
}

kern_return_t host_get_exception_ports(host_priv_t host_priv, exception_mask_t mask, exception_mask_array_t masks,
                                       mach_msg_type_number_t* count, exception_handler_array_t ports,
                                       exception_behavior_array_t behaviors, exception_flavor_array_t flavors) {
  return do_get(host_target(host_priv), mask, masks, count, ports, behaviors, flavors);
}

kern_return_t host_swap_exception_ports(host_priv_t host_priv, exception_mask_t mask, mach_port_t new_port,
                                        exception_behavior_t behavior, thread_state_flavor_t flavor,
                                        exception_mask_array_t masks, mach_msg_type_number_t* count,
                                        exception_handler_array_t ports, exception_behavior_array_t behaviors,
                                        exception_flavor_array_t flavors) {
  return do_swap(host_target(host_priv), mask, new_port, behavior, flavor, masks, count, ports, behaviors, flavors);
}

}  // extern "C"
