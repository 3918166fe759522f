// machd/ipc/port_set.h — port sets: membership and receive fairness.
//
// A port set is named by exactly one entry of one space (the right cannot
// travel), so it has no reference count: it dies with its entry. A port may
// belong to several sets (XNU); membership is mirrored in PortAux::sets.
// Receiving from a set takes the first message of the members scanned
// round-robin from a cursor that moves past the member served last, so no
// member starves (XNU rotates its prepost list the same way).
#pragma once

#include <vector>

#include "types.h"
#include "waiter.h"

namespace machd::ipc {

struct PortSet {
  TaskId owner = kNoTask;
  mach_port_name_t name = MACH_PORT_NULL;
  std::vector<Port*> members;  // insertion order
  WaiterList receivers;        // threads blocked receiving on the set
  uint32_t cursor = 0;         // round-robin start for the next receive
};

// True iff `port` is a member of `set`.
bool pset_has_member(const PortSet& set, const Port* port);

// True iff `port` is a member of at least one set.
bool pset_in_any(const Port& port);

// Adds `port` to `set`. KERN_ALREADY_IN_SET if it is a member already.
kern_return_t pset_add(PortSet& set, Port& port);

// Removes `port` from `set`. KERN_NOT_IN_SET if it is not a member.
kern_return_t pset_remove(PortSet& set, Port& port);

// Removes `port` from every set it belongs to.
void pset_remove_from_all(Port& port);

// The member with a queued message that a receive on `set` takes next
// (advances the cursor), or null when no member has a message.
Port* pset_select(PortSet& set);

// Unlinks every member (the set is being destroyed). Its blocked receivers
// must have been completed by the caller.
void pset_clear(PortSet& set);

// A new empty set named `name` in `owner`'s space.
PortSet* pset_new(Ipc& ipc, TaskId owner, mach_port_name_t name);

// Destroys a set whose entry is gone: receivers blocked on it wake with
// MACH_RCV_PORT_CHANGED, members are unlinked, the set is freed.
void pset_destroy(Ipc& ipc, PortSet* set);

}  // namespace machd::ipc
