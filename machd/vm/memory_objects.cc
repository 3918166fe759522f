// machd/vm/memory_objects.cc — see memory_objects.h.
#include "memory_objects.h"

#include <sys/mman.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "kern/process.h"
#include "kern/runtime.h"

namespace machd::vm {

namespace {
MemoryObjects* g_objects = nullptr;
using kern::KType;
}  // namespace

MemoryObjects& memory_objects() { return *g_objects; }
MemoryObjects* memory_objects_if_any() { return g_objects; }

MemoryObjects::MemoryObjects(kern::TaskHost& host, uint64_t timeout_ns, uint64_t eager_copy_per_user)
    : router_(host), timeout_ns_(timeout_ns), eager_copies_(eager_copy_per_user) {
  g_objects = this;
  kern::runtime().add_observer(&router_);
  kern::runtime().add_observer(&forks_);
  kern::runtime().add_observer(&eager_copies_);
  router_.on_unmapped([this](MemoryObject* o) { unmapped(o); });
  router_.after_events([this] {
    if (after_faults_) after_faults_();
    arm();
  });
}

MemoryObjects::~MemoryObjects() {
  kern::runtime().remove_observer(&router_);
  kern::runtime().remove_observer(&forks_);
  kern::runtime().remove_observer(&eager_copies_);
  if (timer_) kern::runtime().timers().cancel(timer_);
  for (auto& [id, o] : objects_) router_.forget_object(o.get());
  objects_.clear();
  if (g_objects == this) g_objects = nullptr;
}

MemoryObject* MemoryObjects::object_for(mach_port_name_t pager) {
  kern::Runtime& rt = kern::runtime();
  if (auto it = by_pager_.find(pager); it != by_pager_.end()) {
    rt.release_send(pager);  // the object holds one reference already
    return by_id(it->second);
  }
  int fd = memfd_create("mach-object", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return nullptr;
  const uint64_t id = next_id_++;
  ObjectPorts p;
  p.pager = pager;
  p.control = rt.create_port(KType::kMemoryObjectControl, id);
  p.name = rt.create_port(KType::kMemoryObjectName, id);
  if (!MACH_PORT_VALID(p.control) || !MACH_PORT_VALID(p.name)) {
    if (MACH_PORT_VALID(p.control)) rt.destroy_port(p.control);
    if (MACH_PORT_VALID(p.name)) rt.destroy_port(p.name);
    close(fd);
    return nullptr;
  }
  link_.set_ports(id, p);
  by_pager_[pager] = id;
  auto o = std::make_unique<MemoryObject>(id, fd, link_, router_, timeout_ns_);
  MemoryObject* raw = o.get();
  objects_.emplace(id, std::move(o));
  spdlog::debug("memory object {}: pager port {:#x}, control {:#x}", id, pager, p.control);
  return raw;
}

MemoryObject* MemoryObjects::create_internal() {
  int fd = memfd_create("mach-anonymous", MFD_CLOEXEC);
  if (fd < 0) return nullptr;
  const uint64_t id = next_id_++;
  auto o = std::make_unique<MemoryObject>(id, fd, link_, router_, timeout_ns_, true);
  MemoryObject* raw = o.get();
  objects_.emplace(id, std::move(o));
  return raw;
}

void MemoryObjects::unlink_pager_port(uint64_t id) {
  std::erase_if(by_pager_, [id](const auto& entry) { return entry.second == id; });
}

MemoryObject* MemoryObjects::by_id(uint64_t id) {
  auto it = objects_.find(id);
  return it == objects_.end() ? nullptr : it->second.get();
}

MemoryObject* MemoryObjects::by_control(mach_port_name_t kernel_name) {
  ipc::KObject ko = kern::runtime().object_of(kernel_name);
  if (kern::type_of(ko) != KType::kMemoryObjectControl) return nullptr;
  return by_id(ko.id);
}

void MemoryObjects::erase(uint64_t id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  unlink_pager_port(id);
  pins_.erase(id);
  router_.forget_object(it->second.get());
  link_.forget(id);
  objects_.erase(it);
}

// The object stops being found by its pager port (a later vm_map makes a
// new one) but lives while tasks still map it: their faults fail.
void MemoryObjects::destroy(MemoryObject* o) {
  const uint64_t id = o->id();
  unlink_pager_port(id);
  o->destroy(false);
  if (unused(*o)) erase(id);
}

void MemoryObjects::pager_died(uint64_t id) {
  MemoryObject* o = by_id(id);
  if (o == nullptr) return;
  spdlog::info("memory object {}: its pager died; faults on it fail from now on", id);
  // Our send right is a dead name now: drop our reference.
  if (const ObjectPorts* p = link_.ports(id)) {
    kern::Runtime& rt = kern::runtime();
    mach_port_type_t type = 0;
    if (rt.kernel().port_type(rt.kt(), p->pager, &type) == KERN_SUCCESS && (type & MACH_PORT_TYPE_DEAD_NAME))
      rt.kernel().port_mod_refs(rt.kt(), p->pager, MACH_PORT_RIGHT_DEAD_NAME, -1);
    ObjectPorts q = *p;
    q.pager = MACH_PORT_NULL;
    link_.set_ports(id, q);
  }
  unlink_pager_port(id);
  o->destroy(true);
  if (unused(*o)) erase(id);
}

bool MemoryObjects::unused(const MemoryObject& o) const {
  return o.mappings().empty() && !pins_.count(o.id());
}

void MemoryObjects::unmapped(MemoryObject* o) {
  // A map in progress holds the object: it ends (or not) at its unpin.
  if (pins_.count(o->id())) return;
  if (o->alive() && o->may_cache()) return;  // the pager lets us keep its pages
  const uint64_t id = o->id();
  o->terminate();
  erase(id);
}

void MemoryObjects::sync(ipc::TaskId task, uint64_t start, uint64_t end, bool invalidate) {
  for (const ObjectMapping* m : router_.mappings_in(task, start, end)) {
    const uint64_t a = std::max(start, m->start), b = std::min(end, m->end);
    m->object->lock_request(m->offset + (a - m->start), b - a, MEMORY_OBJECT_RETURN_DIRTY, invalidate,
                            VM_PROT_NO_CHANGE, MACH_PORT_NULL, 0);
  }
}


kern_return_t MemoryObjects::inherit(ipc::TaskId child, pid_t parent_pid, uint64_t copy_token, uint64_t* count) {
  *count = 0;
  kern::Runtime& rt = kern::runtime();
  const pid_t child_pid = rt.host().pid_of(child);
  spdlog::debug("task {} (pid {}): inheriting object mappings of pid {}", child, child_pid, parent_pid);
  if (child_pid == 0 || parent_pid <= 0 || kern::parent_of(child_pid) != parent_pid) return KERN_INVALID_ARGUMENT;
  const ipc::TaskId parent = rt.host().task_of_pid(parent_pid);
  if (copy_token != 0) forks_.finish(child, parent_pid, copy_token);  // (its copies are mapped by now)
  if (parent == ipc::kNoTask) return KERN_INVALID_ARGUMENT;
  if (!router_.has_userfaultfd(child)) return KERN_NOT_SUPPORTED;
  std::vector<ObjectMapping> share;
  for (const ObjectMapping* m : router_.mappings_in(parent, 0, UINT64_MAX))
    if (m->inheritance == VM_INHERIT_SHARE && m->object->alive()) share.push_back(*m);
  for (const ObjectMapping& m : share) {
    // (A range the child no longer has fails to register: skipped.)
    if (router_.add_mapping(child, m.start, m.end, m.offset, m.protection, m.object, m.inheritance) == 0) ++*count;
  }
  return KERN_SUCCESS;
}

std::vector<const ObjectMapping*> MemoryObjects::mappings_of_pid(pid_t pid, uint64_t start, uint64_t end) {
  const ipc::TaskId task = kern::runtime().host().task_of_pid(pid);
  if (task == ipc::kNoTask) return {};
  return router_.mappings_in(task, start, end);
}

void MemoryObjects::release_if_unused(uint64_t id) {
  MemoryObject* o = by_id(id);
  if (o != nullptr && unused(*o)) unmapped(o);
}

void MemoryObjects::pin(uint64_t id) {
  if (by_id(id) != nullptr) ++pins_[id];
}

void MemoryObjects::unpin(uint64_t id) {
  auto it = pins_.find(id);
  if (it == pins_.end()) return;  // (not pinned)
  if (--it->second > 0) return;
  pins_.erase(it);
  release_if_unused(id);
}

void MemoryObjects::unpin_soon(uint64_t id) {
  kern::runtime().timers().add(object_now_ns(), [id] {
    if (MemoryObjects* objects = memory_objects_if_any()) objects->unpin(id);
  });
}

bool MemoryObjects::pager_alive(uint64_t id) {
  const ObjectPorts* p = link_.ports(id);
  if (p == nullptr || !MACH_PORT_VALID(p->pager)) return true;  // (terminated: nothing to watch)
  kern::Runtime& rt = kern::runtime();
  mach_port_type_t type = 0;
  return rt.kernel().port_type(rt.kt(), p->pager, &type) == KERN_SUCCESS && !(type & MACH_PORT_TYPE_DEAD_NAME);
}

void MemoryObjects::check_pagers() {
  std::vector<uint64_t> dead;
  for (auto& [id, o] : objects_)
    if (o->alive() && !pager_alive(id)) dead.push_back(id);
  for (uint64_t id : dead) pager_died(id);
}

void MemoryObjects::arm() {
  // The earliest request deadline, and while anything waits on a pager a
  // look at whether the pagers still live every kLivenessNs.
  std::optional<uint64_t> next;
  for (auto& [id, o] : objects_)
    if (auto d = o->next_deadline(); d && (!next || *d < *next)) next = d;
  if (!next) return;
  next = std::min(*next, object_now_ns() + kLivenessNs);
  kern::TimerQueue& tq = kern::runtime().timers();
  if (timer_ && tq.deadline_of(timer_) && timer_deadline_ <= *next) return;
  if (timer_) tq.cancel(timer_);
  timer_deadline_ = *next;
  timer_ = tq.add(*next, [this] {
    timer_ = 0;
    check_pagers();
    const uint64_t now = object_now_ns();
    std::vector<uint64_t> ids;
    for (auto& [id, o] : objects_) ids.push_back(id);
    for (uint64_t id : ids)
      if (MemoryObject* o = by_id(id)) o->expire(now);
    arm();
  });
}

}  // namespace machd::vm
