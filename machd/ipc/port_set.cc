// machd/ipc/port_set.cc — port set membership and the ready list.
#include "port_set.h"

#include <algorithm>

#include "port.h"

namespace machd::ipc {

void PsetLinkList::push_back(PsetLink* l) {
  l->prev = tail;
  l->next = nullptr;
  if (tail) tail->next = l; else head = l;
  tail = l;
  count++;
}

void PsetLinkList::remove(PsetLink* l) {
  if (l->prev) l->prev->next = l->next; else head = l->next;
  if (l->next) l->next->prev = l->prev; else tail = l->prev;
  l->prev = l->next = nullptr;
  count--;
}

namespace {

PsetLink* find_link(const Port& port, const PortSet& set) {
  if (!port.aux) return nullptr;
  for (PsetLink* l : port.aux->sets)
    if (l->set == &set) return l;
  return nullptr;
}

PsetLinkList& list_of(PsetLink* l) { return l->ready ? l->set->ready : l->set->idle; }

// Takes `l` out of its set's list and frees it (the port's list is the
// caller's business).
void unlink_from_set(PsetLink* l) {
  list_of(l).remove(l);
  delete l;
}

void make_ready(PsetLink* l) {
  if (l->ready) return;
  l->set->idle.remove(l);
  l->ready = true;
  l->set->ready.push_back(l);
}

}  // namespace

bool pset_has_member(const PortSet& set, const Port& port) { return find_link(port, set) != nullptr; }

bool pset_in_any(const Port& port) { return port.aux && !port.aux->sets.empty(); }

kern_return_t pset_add(PortSet& set, Port& port) {
  if (pset_has_member(set, port)) return KERN_ALREADY_IN_SET;
  auto* l = new PsetLink;
  l->port = &port;
  l->set = &set;
  set.idle.push_back(l);
  port.ensure_aux().sets.push_back(l);
  return KERN_SUCCESS;
}

kern_return_t pset_remove(PortSet& set, Port& port) {
  PsetLink* l = find_link(port, set);
  if (!l) return KERN_NOT_IN_SET;
  auto& sets = port.aux->sets;
  sets.erase(std::find(sets.begin(), sets.end(), l));
  unlink_from_set(l);
  return KERN_SUCCESS;
}

void pset_remove_from_all(Port& port) {
  if (!port.aux) return;
  std::vector<PsetLink*> links;
  links.swap(port.aux->sets);
  for (PsetLink* l : links) unlink_from_set(l);
}

void pset_prepost_all(Port& port) {
  if (!port.aux) return;
  for (PsetLink* l : port.aux->sets) make_ready(l);
}

void pset_prepost(PortSet& set, Port& port) {
  if (PsetLink* l = find_link(port, set)) make_ready(l);
}

Port* pset_select(PortSet& set) {
  while (PsetLink* l = set.ready.head) {
    set.ready.remove(l);
    if (l->port->has_messages()) {
      set.ready.push_back(l);  // rotate: served next after every other ready member
      return l->port;
    }
    // Emptied since it became ready: back to idle (XNU clears it lazily).
    l->ready = false;
    set.idle.push_back(l);
  }
  return nullptr;
}

void pset_clear(PortSet& set) {
  for (PsetLinkList* list : {&set.idle, &set.ready}) {
    while (PsetLink* l = list->head) {
      auto& sets = l->port->aux->sets;
      sets.erase(std::find(sets.begin(), sets.end(), l));
      unlink_from_set(l);
    }
  }
}

}  // namespace machd::ipc
