// machd/ipc/port.cc — port allocation, references, moves and destruction.
#include "port.h"

#include "ipc.h"
#include "kmsg.h"
#include "lane.h"
#include "mqueue.h"
#include "notify.h"
#include "port_set.h"

namespace machd::ipc {

// ---- pool -------------------------------------------------------------------

PortPool::~PortPool() = default;

Port* PortPool::alloc() {
  Port* p;
  if (!free_.empty()) {
    p = free_.back();
    free_.pop_back();
  } else {
    if (next_in_chunk_ == kChunk) {
      chunks_.push_back(std::make_unique<Port[]>(kChunk));
      next_in_chunk_ = 0;
    }
    p = &chunks_.back()[next_in_chunk_++];
  }
  *p = Port{};
  p->flags = Port::kActive;
  p->refs = 1;
  live_++;
  return p;
}

void PortPool::free(Port* port) {
  port->aux.reset();
  port->flags = Port::kFree;
  free_.push_back(port);
  live_--;
}

Port* dead_port() {
  static Port sentinel;
  return &sentinel;
}

Port* port_new(Ipc& ipc) { return ipc.ports.alloc(); }

void port_release(Ipc& ipc, Port* port) {
  if (!port_valid(port)) return;
  if (--port->refs != 0) return;
  // Last reference: the port is dead (an active port always has its receive
  // right). Requests left in the table hold no rights any more.
  if (port->user != 0) ipc.usage[port->user].ports--;
  ipc.ports.free(port);
}

// ---- moving and destroying receive rights -----------------------------------

void port_clear_receiver(Ipc& ipc, Port& port) {
  lane_reclaim(ipc, port, true);  // the queue and seqno are about to change hands
  mqueue_changed(ipc, port);
  pset_remove_from_all(port);
  port.receiver = kNoTask;
  port.receiver_name = MACH_PORT_NULL;
  port.mscount = 0;
  port.seqno = 0;
  port.context = 0;
  port.flags &= ~(Port::kGuarded | Port::kStrictGuard | Port::kImmovableReceive);
}

void port_destroy(Ipc& ipc, Port* port) {
  port_clear_receiver(ipc, *port);
  if (port->aux && port->aux->pdrequest) {
    // The receive right goes to the port-destroyed request instead.
    Port* so = port->aux->pdrequest;
    port->aux->pdrequest = nullptr;
    notify_port_destroyed(ipc, so, port);
    return;
  }
  port->flags &= ~Port::kActive;
  if (port->aux) {
    if (Port* so = port->aux->nsrequest) {
      port->aux->nsrequest = nullptr;
      notify_send_once(ipc, so);  // an armed no-senders request: send-once
    }
    port->aux->destination = nullptr;
    port->aux->kobject_task = kNoTask;
    port->aux->kobject_type = 0;
    port->aux->kobject_id = 0;
  }
  mqueue_destroy(ipc, *port);
  port_dnnotify(ipc, *port);
  port_release(ipc, port);  // the receive right's reference
}

bool port_check_circularity(Port* port, Port* dest) {
  if (port == dest) return true;
  // Follow dest through ports in transit to the end of the chain.
  Port* base = dest;
  while (base->in_transit() && base->aux && base->aux->destination) {
    base = base->aux->destination;
    if (base == port) return true;
  }
  port->ensure_aux().destination = dest;
  return false;
}

// ---- port sets --------------------------------------------------------------

PortSet* pset_new(Ipc& ipc, TaskId owner, mach_port_name_t name) {
  auto* set = new PortSet;
  set->owner = owner;
  set->name = name;
  ipc.port_sets++;
  return set;
}

void pset_destroy(Ipc& ipc, PortSet* set) {
  while (Waiter* w = set->receivers.pop_front()) {
    waiter_finish(ipc, w, result_only(MACH_RCV_PORT_CHANGED));
  }
  pset_clear(*set);
  delete set;
  ipc.port_sets--;
}

}  // namespace machd::ipc
