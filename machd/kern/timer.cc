// machd/kern/timer.cc — see timer.h.
#include "timer.h"

#include <mach/mk_timer.h>

#include <cstring>
#include <vector>

namespace machd::kern {

namespace {
Timers* g_timers = nullptr;
}

Timers& timers() { return *g_timers; }

Timers::Timers() {
  g_timers = this;
  runtime().add_observer(this);
}

Timers::~Timers() {
  if (g_timers == this) g_timers = nullptr;
}

mach_port_name_t Timers::create(ipc::TaskId task) {
  sweep(task);
  Runtime& rt = runtime();
  const uint64_t id = next_id_++;
  mach_port_name_t name = MACH_PORT_NULL;
  if (rt.kernel().kobject_alloc(task, make_kobject(KType::kTimer, id), &name) != KERN_SUCCESS) return MACH_PORT_NULL;
  mach_port_name_t send = MACH_PORT_NULL;
  mach_msg_type_name_t type = 0;
  if (rt.kernel().port_extract_right(rt.kt(), task, name, MACH_MSG_TYPE_MAKE_SEND, &send, &type) != KERN_SUCCESS) {
    rt.kernel().port_destroy(task, name);
    return MACH_PORT_NULL;
  }
  timers_.emplace(id, Timer{task, send, 0});
  return name;
}

kern_return_t Timers::lookup(ipc::TaskId task, mach_port_name_t name, uint64_t* id) {
  mach_port_type_t type = 0;
  kern_return_t kr = runtime().kernel().port_type(task, name, &type);
  if (kr != KERN_SUCCESS) return kr;
  if (!(type & MACH_PORT_TYPE_RECEIVE)) return KERN_INVALID_RIGHT;
  ipc::KObject ko = runtime().kernel().kobject_of(task, name);
  if (type_of(ko) != KType::kTimer || !timers_.count(ko.id)) return KERN_INVALID_ARGUMENT;
  *id = ko.id;
  return KERN_SUCCESS;
}

kern_return_t Timers::destroy(ipc::TaskId task, mach_port_name_t name) {
  uint64_t id = 0;
  kern_return_t kr = lookup(task, name, &id);
  if (kr != KERN_SUCCESS) return kr;
  kr = runtime().kernel().port_destroy(task, name);
  forget(id);
  return kr;
}

kern_return_t Timers::arm(ipc::TaskId task, mach_port_name_t name, uint64_t deadline_ns) {
  uint64_t id = 0;
  kern_return_t kr = lookup(task, name, &id);
  if (kr != KERN_SUCCESS) return kr;
  Timer& t = timers_.at(id);
  TimerQueue& q = runtime().timers();
  if (t.pending) q.cancel(t.pending);
  t.pending = q.add(deadline_ns, [this, id] { expire(id); });
  return KERN_SUCCESS;
}

kern_return_t Timers::cancel(ipc::TaskId task, mach_port_name_t name, uint64_t* armed) {
  *armed = 0;
  uint64_t id = 0;
  kern_return_t kr = lookup(task, name, &id);
  if (kr != KERN_SUCCESS) return kr;
  Timer& t = timers_.at(id);
  if (t.pending) {
    *armed = runtime().timers().deadline_of(t.pending).value_or(0);
    runtime().timers().cancel(t.pending);
    t.pending = 0;
  }
  return KERN_SUCCESS;
}

void Timers::expire(uint64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  it->second.pending = 0;
  Runtime& rt = runtime();
  ipc::KObject ko = rt.object_of(it->second.send);
  if (type_of(ko) != KType::kTimer || ko.id != id) {  // the port died: so did the timer
    forget(id);
    return;
  }
  mk_timer_expire_msg_t m{};
  m.header.msgh_bits = MACH_MSGH_BITS_SET(MACH_MSG_TYPE_COPY_SEND, 0, 0, 0);
  m.header.msgh_size = sizeof m;
  m.header.msgh_remote_port = it->second.send;
  std::vector<uint8_t> msg(sizeof m);
  memcpy(msg.data(), &m, sizeof m);
  rt.send(std::move(msg));  // a full queue drops it (XNU: one message outstanding)
}

void Timers::forget(uint64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  if (it->second.pending) runtime().timers().cancel(it->second.pending);
  runtime().release_send(it->second.send);
  timers_.erase(it);
}

void Timers::sweep(ipc::TaskId task) {
  std::vector<uint64_t> dead;
  for (auto& [id, t] : timers_)
    if (t.owner == task && type_of(runtime().object_of(t.send)) != KType::kTimer) dead.push_back(id);
  for (uint64_t id : dead) forget(id);
}

void Timers::task_terminating(ipc::TaskId task) {
  std::vector<uint64_t> gone;
  for (auto& [id, t] : timers_)
    if (t.owner == task) gone.push_back(id);
  for (uint64_t id : gone) forget(id);
}

}  // namespace machd::kern
