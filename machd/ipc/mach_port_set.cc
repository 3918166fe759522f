// machd/ipc/mach_port_set.cc — mach_port_move_member / insert_member /
// extract_member / get_set_status.
#include "ipc.h"
#include "kmsg.h"
#include "lane.h"
#include "mach_port.h"
#include "msg.h"
#include "port.h"
#include "port_set.h"
#include "space.h"

namespace machd::ipc {

namespace {

kern_return_t translate_pset(Space& space, mach_port_name_t name, PortSet** out) {
  Entry* e = space.lookup(name);
  if (!e) return KERN_INVALID_NAME;
  if (!(e->type() & MACH_PORT_TYPE_PORT_SET)) return KERN_INVALID_RIGHT;
  *out = e->pset();
  return KERN_SUCCESS;
}

// A port that joins a set while it holds messages and the set has blocked
// receivers: hand them over now (XNU ipc_mqueue_add_locked). Deferred
// receivers would otherwise sleep on a non-empty member. What is left makes
// the member ready in the set.
void match_waiting(Ipc& ipc, PortSet& set, Port& port) {
  while (port.head && set.receivers.head) {
    Kmsg* k = port.head;
    port.head = k->next;
    if (!port.head) port.tail = nullptr;
    k->next = nullptr;
    if (!receive_offer(ipc, set.receivers.head, port, k)) {
      k->next = port.head;  // that receiver only wanted the size: keep it first
      port.head = k;
      if (!port.tail) port.tail = k;
    }
  }
  // Messages left and no receiver of the set took them: the member is ready.
  if (port.head) pset_prepost(set, port);
}

// `port` joins `set`; lending needs a port in no set, so its receive lane
// (if any) closes first.
kern_return_t join(Ipc& ipc, PortSet& set, Port& port) {
  lane_reclaim(ipc, port, true);
  kern_return_t kr = pset_add(set, port);
  if (kr == KERN_SUCCESS) match_waiting(ipc, set, port);
  return kr;
}

// The receive right `member` and the port set `pset` of `space`
// (insert_member / extract_member).
kern_return_t translate_member(Space& space, mach_port_name_t member, mach_port_name_t pset,
                               Port** port, PortSet** set) {
  if (!MACH_PORT_VALID(member) || !MACH_PORT_VALID(pset)) return KERN_INVALID_RIGHT;
  kern_return_t kr = translate_receive(space, member, port);
  if (kr != KERN_SUCCESS) return kr;
  return translate_pset(space, pset, set);
}

}  // namespace

kern_return_t mp_move_member(Ipc& ipc, Task& task, mach_port_name_t member, mach_port_name_t after) {
  if (!MACH_PORT_VALID(member)) return KERN_INVALID_RIGHT;
  if (after == MACH_PORT_DEAD) return KERN_INVALID_RIGHT;
  Port* port = nullptr;
  kern_return_t kr = translate_receive(task.space, member, &port);
  if (kr != KERN_SUCCESS) return kr;
  PortSet* set = nullptr;
  if (after != MACH_PORT_NULL) {
    kr = translate_pset(task.space, after, &set);
    if (kr != KERN_SUCCESS) return kr;
  }
  // Leaving every set when in none is KERN_NOT_IN_SET (XNU).
  if (!set && !pset_in_any(*port)) return KERN_NOT_IN_SET;
  pset_remove_from_all(*port);
  if (set) join(ipc, *set, *port);
  return KERN_SUCCESS;
}

kern_return_t mp_insert_member(Ipc& ipc, Task& task, mach_port_name_t member, mach_port_name_t pset) {
  Port* port = nullptr;
  PortSet* set = nullptr;
  kern_return_t kr = translate_member(task.space, member, pset, &port, &set);
  return kr == KERN_SUCCESS ? join(ipc, *set, *port) : kr;
}

kern_return_t mp_extract_member(Ipc& ipc, Task& task, mach_port_name_t member, mach_port_name_t pset) {
  (void)ipc;
  Port* port = nullptr;
  PortSet* set = nullptr;
  kern_return_t kr = translate_member(task.space, member, pset, &port, &set);
  return kr == KERN_SUCCESS ? pset_remove(*set, *port) : kr;
}

kern_return_t mp_get_set_status(Ipc& ipc, Task& task, mach_port_name_t pset,
                                std::vector<mach_port_name_t>* members) {
  (void)ipc;
  members->clear();
  PortSet* set = nullptr;
  kern_return_t kr = translate_pset(task.space, pset, &set);
  if (kr != KERN_SUCCESS) return kr;
  members->reserve(set->size());
  pset_for_each_member(*set, [&](const Port* p) {
    if (p->receiver == task.id) members->push_back(p->receiver_name);
  });
  return KERN_SUCCESS;
}

}  // namespace machd::ipc
