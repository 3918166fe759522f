// machd/ipc/kobject.cc — see kobject.h.
#include "kobject.h"

#include <mach/notify.h>

#include "ipc.h"
#include "mach_port.h"
#include "port.h"
#include "right.h"
#include "space.h"
#include "task.h"

namespace machd::ipc {

namespace {

Port* kernel_receive(Ipc& ipc, mach_port_name_t kernel_name) {
  Task* k = ipc.task(ipc.kernel);
  if (!k) return nullptr;
  Entry* e = k->space.lookup(kernel_name);
  if (!e || !(e->type() & MACH_PORT_TYPE_RECEIVE)) return nullptr;
  Port* p = e->port();
  return p->active() ? p : nullptr;
}

}  // namespace

kern_return_t kobject_alloc(Ipc& ipc, TaskId task, KObject ko, mach_port_name_t* name) {
  *name = MACH_PORT_NULL;
  if (ko.type == 0) return KERN_INVALID_ARGUMENT;
  Task* t = ipc.task(task);
  if (!t) return KERN_INVALID_TASK;
  if (!ipc.port_fits(t->user)) return KERN_RESOURCE_SHORTAGE;
  uint32_t index = 0;
  kern_return_t kr = t->space.alloc(name, &index);
  if (kr != KERN_SUCCESS) return kr;
  Port* port = right_alloc_receive(ipc, t->space, index, t->user);
  PortAux& aux = port->ensure_aux();
  aux.kobject_type = ko.type;
  aux.kobject_id = ko.id;
  return KERN_SUCCESS;
}

KObject kobject_of(Ipc& ipc, TaskId caller, mach_port_name_t name) {
  Task* c = ipc.task(caller);
  if (!c || !MACH_PORT_VALID(name)) return {};
  Entry* e = c->space.lookup(name);
  if (!e || !(e->type() & (MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_SEND_ONCE | MACH_PORT_TYPE_RECEIVE)))
    return {};
  const Port* p = e->port();
  if (!p->active()) return {};
  return port_label(*p);
}

KObject port_label(const Port& port) {
  if (!port.aux) return {};
  if (port.aux->kobject_task != kNoTask) return {kKObjectTaskType, port.aux->kobject_task};
  return {port.aux->kobject_type, port.aux->kobject_id};
}

TaskId port_receiver(Ipc& ipc, TaskId caller, mach_port_name_t name, uint64_t* port_key) {
  *port_key = 0;
  Task* c = ipc.task(caller);
  if (!c || !MACH_PORT_VALID(name)) return kNoTask;
  Entry* e = c->space.lookup(name);
  if (!e || !(e->type() & (MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_SEND_ONCE | MACH_PORT_TYPE_RECEIVE)))
    return kNoTask;
  const Port* p = e->port();
  if (!p->active()) return kNoTask;
  *port_key = reinterpret_cast<uintptr_t>(p);
  return p->receiver;
}

kern_return_t kobject_make_send(Ipc& ipc, TaskId task, mach_port_name_t kernel_name,
                                mach_port_name_t* out) {
  *out = MACH_PORT_NULL;
  Task* t = ipc.task(task);
  if (!t) return KERN_INVALID_TASK;
  Port* p = kernel_receive(ipc, kernel_name);
  if (!p) return KERN_INVALID_NAME;
  mach_msg_return_t mr = right_copyout(ipc, t->space, right_make_send(*p), kPortSend, out);
  return mr == MACH_MSG_SUCCESS ? KERN_SUCCESS : KERN_NO_SPACE;
}

kern_return_t kobject_set(Ipc& ipc, mach_port_name_t kernel_name, KObject ko) {
  Port* p = kernel_receive(ipc, kernel_name);
  if (!p) return KERN_INVALID_NAME;
  PortAux& aux = p->ensure_aux();
  aux.kobject_type = ko.type;
  aux.kobject_id = ko.id;
  return KERN_SUCCESS;
}

kern_return_t kobject_request_no_senders(Ipc& ipc, mach_port_name_t kernel_name) {
  Port* p = kernel_receive(ipc, kernel_name);
  if (!p) return KERN_INVALID_NAME;
  Task* k = ipc.task(ipc.kernel);
  mach_port_name_t previous = MACH_PORT_NULL;
  kern_return_t kr = mp_request_notification(ipc, *k, *k, kernel_name, MACH_NOTIFY_NO_SENDERS, p->mscount,
                                             kernel_name, MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous);
  if (MACH_PORT_VALID(previous)) right_dealloc(ipc, k->space, MACH_PORT_INDEX(previous));
  return kr;
}

mach_port_mscount_t kobject_mscount(Ipc& ipc, mach_port_name_t kernel_name) {
  Port* p = kernel_receive(ipc, kernel_name);
  return p ? p->mscount : 0;
}

}  // namespace machd::ipc
