// machd/ipc/port_set.cc — port set membership and fair selection.
#include "port_set.h"

#include <algorithm>

#include "port.h"

namespace machd::ipc {

bool pset_has_member(const PortSet& set, const Port* port) {
  return std::find(set.members.begin(), set.members.end(), port) != set.members.end();
}

kern_return_t pset_add(PortSet& set, Port& port) {
  if (pset_has_member(set, &port)) return KERN_ALREADY_IN_SET;
  set.members.push_back(&port);
  port.ensure_aux().sets.push_back(&set);
  return KERN_SUCCESS;
}

namespace {

// Takes `port` out of `set`'s member list, the cursor staying on the member
// it pointed at. False if it was not a member.
bool unlink_member(PortSet& set, const Port* port) {
  auto it = std::find(set.members.begin(), set.members.end(), port);
  if (it == set.members.end()) return false;
  size_t idx = static_cast<size_t>(it - set.members.begin());
  set.members.erase(it);
  if (idx < set.cursor) set.cursor--;
  if (set.cursor >= set.members.size()) set.cursor = 0;
  return true;
}

}  // namespace

kern_return_t pset_remove(PortSet& set, Port& port) {
  if (!unlink_member(set, &port)) return KERN_NOT_IN_SET;
  if (port.aux) {
    auto& sets = port.aux->sets;
    sets.erase(std::remove(sets.begin(), sets.end(), &set), sets.end());
  }
  return KERN_SUCCESS;
}

bool pset_in_any(const Port& port) { return port.aux && !port.aux->sets.empty(); }

void pset_remove_from_all(Port& port) {
  if (!port.aux) return;
  std::vector<PortSet*> sets;
  sets.swap(port.aux->sets);
  for (PortSet* set : sets) unlink_member(*set, &port);
}

Port* pset_select(PortSet& set) {
  const size_t n = set.members.size();
  for (size_t i = 0; i < n; i++) {
    size_t idx = (set.cursor + i) % n;
    Port* p = set.members[idx];
    if (p->has_messages()) {
      set.cursor = static_cast<uint32_t>((idx + 1) % n);
      return p;
    }
  }
  return nullptr;
}

void pset_clear(PortSet& set) {
  for (Port* p : set.members) {
    if (!p->aux) continue;
    auto& sets = p->aux->sets;
    sets.erase(std::remove(sets.begin(), sets.end(), &set), sets.end());
  }
  set.members.clear();
  set.cursor = 0;
}

}  // namespace machd::ipc
