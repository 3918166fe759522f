// machd/kern/exception_ports.cc — see exception_ports.h.
#include "exception_ports.h"

#include <random>

#include "agent.h"
#include "process.h"
#include "thread.h"

namespace machd::kern {

namespace {
ExceptionPorts* g_exception_ports = nullptr;

bool valid_behavior(exception_behavior_t b) {
  switch (b & ~MACH_EXCEPTION_MASK) {
    case EXCEPTION_DEFAULT:
    case EXCEPTION_STATE:
    case EXCEPTION_STATE_IDENTITY:
    case EXCEPTION_IDENTITY_PROTECTED:
    case EXCEPTION_STATE_IDENTITY_PROTECTED: return true;
    default: return false;
  }
}

void add_ref(mach_port_name_t port) {
  if (MACH_PORT_VALID(port)) runtime().kernel().port_mod_refs(runtime().kt(), port, MACH_PORT_RIGHT_SEND, 1);
}

// A per-machd secret: the identities *_info reports are hashes, never addresses.
uint64_t secret() {
  static const uint64_t s = [] {
    std::random_device rd;
    return (uint64_t(rd()) << 32) ^ rd();
  }();
  return s;
}

natural_t hash32(uint64_t v) {
  v ^= secret();
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdull;
  v ^= v >> 33;
  v *= 0xc4ceb9fe1a85ec53ull;
  v ^= v >> 33;
  return natural_t(v) | 1;  // never 0: 0 means "no port"
}
}  // namespace

kern_return_t validate_exception_ports(exception_mask_t mask, mach_port_name_t port,
                                       exception_behavior_t behavior, thread_state_flavor_t flavor) {
  if (mask & ~exception_mask_t(EXC_MASK_VALID)) return KERN_INVALID_ARGUMENT;
  if (MACH_PORT_VALID(port) && !valid_behavior(behavior)) return KERN_INVALID_ARGUMENT;
  if (flavor != 0 && !VALID_THREAD_STATE_FLAVOR(flavor)) return KERN_INVALID_ARGUMENT;
  const bool identity_protected = (behavior & ~MACH_EXCEPTION_MASK) == EXCEPTION_IDENTITY_PROTECTED;
  if ((identity_protected || (behavior & MACH_EXCEPTION_BACKTRACE_PREFERRED)) && !(behavior & MACH_EXCEPTION_CODES))
    return KERN_INVALID_ARGUMENT;
  return KERN_SUCCESS;
}

uint64_t exception_interest(const ExceptionActions& table) {
  uint64_t mask = 0;
  for (size_t i = FIRST_EXCEPTION; i < table.size(); ++i)
    if (MACH_PORT_VALID(table[i].port)) mask |= uint64_t(1) << i;
  return mask;
}

ExceptionPortsAnswer read_exception_ports(const ExceptionActions& table, exception_mask_t mask,
                                          mach_msg_type_number_t room) {
  ExceptionPortsAnswer a;
  for (size_t i = FIRST_EXCEPTION; i < table.size(); ++i) {
    if (!(mask & (1u << i))) continue;
    const ExceptionAction& x = table[i];
    mach_msg_type_number_t j = 0;
    for (; j < a.count; ++j)
      if (a.ports[j] == x.port && a.behaviors[j] == x.behavior && a.flavors[j] == x.flavor) {
        a.masks[j] |= 1u << i;
        break;
      }
    if (j == a.count && a.count < room && a.count < EXC_TYPES_COUNT) {
      a.masks[j] = 1u << i;
      a.ports[j] = x.port;
      a.behaviors[j] = x.behavior;
      a.flavors[j] = x.flavor;
      ++a.count;
    }
  }
  return a;
}

void write_exception_ports(ExceptionActions& table, exception_mask_t mask, mach_port_name_t port,
                           exception_behavior_t behavior, thread_state_flavor_t flavor) {
  for (size_t i = FIRST_EXCEPTION; i < table.size(); ++i) {
    if (!(mask & (1u << i))) continue;
    const mach_port_name_t old = table[i].port;
    add_ref(port);
    table[i] = ExceptionAction{port, behavior, flavor};
    if (MACH_PORT_VALID(old)) runtime().release_after_reply(old);
  }
}

void clear_exception_ports(ExceptionActions& table) {
  for (ExceptionAction& x : table) {
    if (MACH_PORT_VALID(x.port)) runtime().release_send(x.port);
    x = ExceptionAction{};
  }
}

ipc_info_port_t exception_port_info(mach_port_name_t port) {
  if (!MACH_PORT_VALID(port)) return {0, 0};
  uint64_t key = 0;
  const ipc::TaskId receiver = runtime().kernel().port_receiver(runtime().kt(), port, &key);
  if (key == 0) return {0, 0};
  return {hash32(key), receiver == ipc::kNoTask ? 0 : hash32(uint64_t(receiver) * 0x9e3779b97f4a7c15ull)};
}

ExceptionPorts& exception_ports() { return *g_exception_ports; }

ExceptionPorts::ExceptionPorts() {
  g_exception_ports = this;
  runtime().add_observer(this);
}

ExceptionPorts::~ExceptionPorts() {
  runtime().remove_observer(this);
  for (auto& [task, table] : tasks_) clear_exception_ports(table);
  kept_.clear();
  clear_exception_ports(host_);
  if (g_exception_ports == this) g_exception_ports = nullptr;
}

ExceptionActions& ExceptionPorts::task_table(ipc::TaskId task) { return tasks_[task]; }

const ExceptionActions* ExceptionPorts::find_task_table(ipc::TaskId task) const {
  auto it = tasks_.find(task);
  return it == tasks_.end() ? nullptr : &it->second;
}

void ExceptionPorts::publish(ipc::TaskId task) {
  uint64_t mask = exception_interest(host_) | threads().exception_interest(task);
  if (const ExceptionActions* t = find_task_table(task)) mask |= exception_interest(*t);
  agent().set_exception_interest(task, mask);
}

void ExceptionPorts::publish_all() {
  for (ipc::TaskId task : runtime().host().tasks()) publish(task);
}

void ExceptionPorts::copy_into(ipc::TaskId task, const ExceptionActions& from) {
  ExceptionActions& to = task_table(task);
  for (size_t i = FIRST_EXCEPTION; i < to.size(); ++i) {
    add_ref(from[i].port);
    if (MACH_PORT_VALID(to[i].port)) runtime().release_send(to[i].port);
    to[i] = from[i];
  }
}

void ExceptionPorts::task_created(ipc::TaskId task) {
  kept_.expire(agent_now_ns());
  TaskHost& host = runtime().host();
  const pid_t pid = host.pid_of(task);
  bool inherited = false;
  if (pid > 0) {
    // The same process before exec: a task still connected (its end not
    // seen yet), or one that ended moments ago.
    for (ipc::TaskId other : host.tasks()) {
      const ExceptionActions* t = other != task && host.pid_of(other) == pid ? find_task_table(other) : nullptr;
      if (t != nullptr && exception_interest(*t) != 0) {
        copy_into(task, *t);
        inherited = true;
        break;
      }
    }
    if (std::optional<ExceptionActions> k = kept_.take(pid, start_time_of(pid))) {
      if (!inherited) copy_into(task, *k);
      inherited = true;
      clear_exception_ports(*k);
    }
  }
  const pid_t ppid = !inherited && pid > 0 ? parent_of(pid) : 0;
  const ipc::TaskId parent = ppid > 0 ? host.task_of_pid(ppid) : ipc::kNoTask;
  if (parent != ipc::kNoTask && parent != task)
    if (const ExceptionActions* from = find_task_table(parent); from != nullptr && exception_interest(*from) != 0)
      copy_into(task, *from);
  publish(task);
}

void ExceptionPorts::task_terminating(ipc::TaskId task) {
  auto it = tasks_.find(task);
  if (it == tasks_.end()) return;
  // A process that lives on has exec'd: its next image takes the table,
  // unless that image is a task already (it copied the table then).
  TaskHost& host = runtime().host();
  const pid_t pid = host.pid_of(task);
  bool next_image_connected = false;
  for (ipc::TaskId other : host.tasks()) next_image_connected |= other != task && pid > 0 && host.pid_of(other) == pid;
  const uint64_t started =
      pid > 0 && !next_image_connected && exception_interest(it->second) != 0 ? start_time_of(pid) : 0;
  if (started != 0) {
    // The references move into the kept table.
    kept_.put(host, pid, started, agent_now_ns(), it->second);
  } else {
    clear_exception_ports(it->second);
  }
  tasks_.erase(it);
}

}  // namespace machd::kern
