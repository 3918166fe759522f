// machd/ipc/mach_port_notify.cc — mach_port_request_notification
// (XNU mach_port.c + ipc_right_request_alloc + ipc_port_nsrequest /
// ipc_port_pdrequest).
#include <mach/notify.h>

#include "ipc.h"
#include "lane.h"
#include "mach_port.h"
#include "mqueue.h"
#include "notify.h"
#include "port.h"
#include "right.h"
#include "space.h"

namespace machd::ipc {

namespace {

// Dead-name / send-possible request on the entry `name` (modern XNU
// ipc_right_request_alloc). `arm`: immediate / armed (sync != 0).
kern_return_t request_on_entry(Ipc& ipc, Task& task, mach_port_name_t name, bool send_possible,
                               bool arm, Port* notify, Port** previous) {
  Space& sp = task.space;
  Entry* e = sp.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  const uint32_t index = sp.index_of(e);
  *previous = nullptr;
  if (!notify && e->request == 0) return KERN_SUCCESS;

  if (e->type() & MACH_PORT_TYPE_PORT_RIGHTS) {
    if (!right_check(ipc, sp, index)) {
      Port* p = e->port();
      if (send_possible) {
        // A send-possible request closes the lane (lending excludes it), and
        // "full" means full of messages, as for a sender: settled lane slots
        // and slots reserved for credited senders do not count.
        lane_reclaim(ipc, *p, true);
        mqueue_make_room(ipc, *p);
      }
      if (e->request) {
        *previous = request_cancel(*p, e->request);
        e->request = 0;
      }
      if (!notify) return KERN_SUCCESS;
      // Send-possible with sync fires at once unless the queue is full
      // (send-once rights never wait for room).
      if (send_possible && arm && ((e->type() & MACH_PORT_TYPE_SEND_ONCE) || !p->full())) {
        notify_send_possible(ipc, notify, name);
        return KERN_SUCCESS;
      }
      e->request = request_alloc(*p, task.id, name, notify, send_possible, send_possible && arm);
      return KERN_SUCCESS;
    }
    // The port died: the entry is a dead name now.
  }
  const bool options = send_possible || arm;
  if (options && notify && (e->type() & MACH_PORT_TYPE_DEAD_NAME)) {
    if (e->urefs() < kUrefsMax) e->set_type_urefs(MACH_PORT_TYPE_DEAD_NAME, e->urefs() + 1);
    notify_dead_name(ipc, notify, name);
    return KERN_SUCCESS;
  }
  return (e->type() & (MACH_PORT_TYPE_PORT_RIGHTS | MACH_PORT_TYPE_DEAD_NAME)) ? KERN_INVALID_ARGUMENT
                                                                                : KERN_INVALID_RIGHT;
}

kern_return_t request(Ipc& ipc, Task& task, mach_port_name_t name, mach_msg_id_t variant,
                      mach_port_mscount_t sync, Port* notify, Port** previous) {
  *previous = nullptr;
  if (notify == dead_port()) return KERN_INVALID_CAPABILITY;
  switch (variant) {
    case MACH_NOTIFY_PORT_DESTROYED: {
      if (sync != 0) return KERN_INVALID_VALUE;
      if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
      Port* p = nullptr;
      kern_return_t kr = translate_receive(task.space, name, &p);
      if (kr != KERN_SUCCESS) return kr;
      if (p->aux && (p->aux->kobject_task != kNoTask || p->aux->kobject_type != 0))
        return KERN_INVALID_RIGHT;  // kernel object (XNU: ipc_port_request_alloc refuses kobjects)
      PortAux& aux = p->ensure_aux();
      *previous = aux.pdrequest;
      aux.pdrequest = notify;
      return KERN_SUCCESS;
    }
    case MACH_NOTIFY_NO_SENDERS: {
      if (!MACH_PORT_VALID(name)) return KERN_INVALID_RIGHT;
      Port* p = nullptr;
      kern_return_t kr = translate_receive(task.space, name, &p);
      if (kr != KERN_SUCCESS) return kr;
      lane_reclaim(ipc, *p, true);  // consumed messages released their send rights
      PortAux& aux = p->ensure_aux();
      *previous = aux.nsrequest;
      if (p->srights == 0 && sync <= p->mscount && notify) {
        aux.nsrequest = nullptr;
        notify_no_senders(ipc, notify, p->mscount);
      } else {
        aux.nsrequest = notify;
      }
      return KERN_SUCCESS;
    }
    case MACH_NOTIFY_SEND_POSSIBLE:
      if (!MACH_PORT_VALID(name)) return KERN_INVALID_ARGUMENT;
      return request_on_entry(ipc, task, name, true, sync != 0, notify, previous);
    case MACH_NOTIFY_DEAD_NAME:
      if (!MACH_PORT_VALID(name)) return KERN_INVALID_ARGUMENT;
      return request_on_entry(ipc, task, name, false, sync != 0, notify, previous);
    default:
      return KERN_INVALID_VALUE;
  }
}

}  // namespace

kern_return_t mp_request_notification(Ipc& ipc, Task& caller, Task& task, mach_port_name_t name,
                                      mach_msg_id_t variant, mach_port_mscount_t sync,
                                      mach_port_name_t notify, mach_msg_type_name_t notify_type,
                                      mach_port_name_t* previous) {
  *previous = MACH_PORT_NULL;
  // MIG copyin of the notify right (a send-once right) from the request.
  Port* so = nullptr;
  if (notify == MACH_PORT_DEAD) {
    so = dead_port();
  } else if (notify != MACH_PORT_NULL) {
    if (notify_type != MACH_MSG_TYPE_MAKE_SEND_ONCE && notify_type != MACH_MSG_TYPE_MOVE_SEND_ONCE)
      return MACH_SEND_INVALID_TYPE;
    Entry* e = caller.space.lookup(notify);
    if (!e) return MACH_SEND_INVALID_RIGHT;
    if (right_copyin(ipc, caller.space, caller.space.index_of(e), notify_type, CopyinFlags{true, false},
                     &so) != KERN_SUCCESS)
      return MACH_SEND_INVALID_RIGHT;
    if (so == dead_port()) return KERN_INVALID_CAPABILITY;
  }
  Port* prev = nullptr;
  kern_return_t kr = request(ipc, task, name, variant, sync, so, &prev);
  if (kr != KERN_SUCCESS) {
    // The request message is destroyed with the right it carried.
    right_release(ipc, so, kPortSendOnce);
    return kr;
  }
  // The previous send-once right comes back in the reply.
  if (prev) right_copyout(ipc, caller.space, prev, kPortSendOnce, previous);
  return KERN_SUCCESS;
}

}  // namespace machd::ipc
