// machd/ipc/port_set.h — port sets: membership and the order in which a
// receive on a set serves its members.
//
// A port set is named by exactly one entry of one space (the right cannot
// travel), so it has no reference count: it dies with its entry. A port may
// belong to several sets (XNU); each membership is one PsetLink, listed in
// the port's PortAux::sets and in exactly one of the set's two lists
// (XNU's waitq_link on wqset_links / wqset_preposts):
//
//   * `idle`  — members that have not announced a message;
//   * `ready` — members that announced one ("preposted"), oldest first.
//
// The rules, as XNU's waitq / ipc_mqueue give them:
//   * A message that is queued on a member (no receiver took it) moves the
//     member's link from `idle` to the tail of `ready`; a link already in
//     `ready` keeps its place.
//   * A member that joins a set while holding messages (and no receiver of
//     the set takes them) goes to the tail of `ready`.
//   * A receive on the set takes the first `ready` member whose queue is not
//     empty and rotates it to the tail of `ready` (so members are served
//     round-robin in the order they became ready). A `ready` member found
//     with an empty queue (emptied by a direct receive or through another
//     set) goes back to `idle` then, not before: one emptied and refilled
//     in between keeps its place.
// Every step is O(1) per link looked at; each stale link is looked at once
// after it became ready, so a receive costs amortized O(1) whatever the
// number of members. Adding, removing and destroying cost O(number of sets
// the port is in) per member.
#pragma once

#include <cstddef>
#include <vector>

#include "types.h"
#include "waiter.h"

namespace machd::ipc {

struct PortSet;

// One membership of `port` in `set`.
struct PsetLink {
  Port* port = nullptr;
  PortSet* set = nullptr;
  PsetLink* prev = nullptr;  // in set->idle or set->ready
  PsetLink* next = nullptr;
  bool ready = false;        // in set->ready
};

// Intrusive FIFO of links (does not own them).
struct PsetLinkList {
  PsetLink* head = nullptr;
  PsetLink* tail = nullptr;
  size_t count = 0;

  void push_back(PsetLink* l);
  void remove(PsetLink* l);
};

struct PortSet {
  TaskId owner = kNoTask;
  mach_port_name_t name = MACH_PORT_NULL;
  PsetLinkList idle;      // members with no message announced
  PsetLinkList ready;     // members that announced a message, oldest first
  WaiterList receivers;   // threads blocked receiving on the set

  size_t size() const { return idle.count + ready.count; }
};

// True iff `port` is a member of `set`.
bool pset_has_member(const PortSet& set, const Port& port);

// True iff `port` is a member of at least one set.
bool pset_in_any(const Port& port);

// Adds `port` to `set` (as idle: the caller announces queued messages with
// pset_prepost). KERN_ALREADY_IN_SET if it is a member already.
kern_return_t pset_add(PortSet& set, Port& port);

// Removes `port` from `set`. KERN_NOT_IN_SET if it is not a member.
kern_return_t pset_remove(PortSet& set, Port& port);

// Removes `port` from every set it belongs to.
void pset_remove_from_all(Port& port);

// A message was queued on `port`: every set it is in whose link is idle
// gets it at the tail of its ready list.
void pset_prepost_all(Port& port);

// Same for the one set `set` (`port` must be a member).
void pset_prepost(PortSet& set, Port& port);

// The member with a queued message that a receive on `set` takes next
// (rotated to the tail of the ready list), or null when no member has a
// message (the ready list is then empty).
Port* pset_select(PortSet& set);

// Calls `fn(Port*)` for every member: the idle ones, then the ready ones
// (XNU's order for mach_port_get_set_status).
template <typename Fn>
void pset_for_each_member(const PortSet& set, Fn&& fn) {
  for (const PsetLink* l = set.idle.head; l; l = l->next) fn(l->port);
  for (const PsetLink* l = set.ready.head; l; l = l->next) fn(l->port);
}

// Unlinks every member (the set is being destroyed). Its blocked receivers
// must have been completed by the caller.
void pset_clear(PortSet& set);

// A new empty set named `name` in `owner`'s space.
PortSet* pset_new(Ipc& ipc, TaskId owner, mach_port_name_t name);

// Destroys a set whose entry is gone: receivers blocked on it wake with
// MACH_RCV_PORT_CHANGED, members are unlinked, the set is freed.
void pset_destroy(Ipc& ipc, PortSet* set);

}  // namespace machd::ipc
