// machd/kern/emulation.cc — see emulation.h.
#include "emulation.h"

#include <sys/syscall.h>

#include <spdlog/spdlog.h>

#include "agent.h"
#include "process.h"

namespace machd::kern {

namespace {

Emulations* g_emulations = nullptr;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kUserTop = 0x00007fffffffffffull;

mach_port_name_t copy_send(mach_port_name_t name) {
  if (!MACH_PORT_VALID(name)) return MACH_PORT_NULL;
  Runtime& rt = runtime();
  return rt.kernel().port_mod_refs(rt.kt(), name, MACH_PORT_RIGHT_SEND, 1) == KERN_SUCCESS ? name : MACH_PORT_NULL;
}

void release(mach_port_name_t name) {
  if (MACH_PORT_VALID(name)) runtime().release_send(name);
}

}  // namespace

Emulations& emulations() { return *g_emulations; }

Emulations::Emulations() {
  g_emulations = this;
  runtime().add_observer(this);
}

Emulations::~Emulations() {
  runtime().remove_observer(this);
  for (auto& [task, r] : records_) release(r.server);
  kept_.clear();
  if (g_emulations == this) g_emulations = nullptr;
}

kern_return_t Emulations::check_entry(int number, uint64_t entry) {
  if (number < 0 || number >= kVectorSize) return KERN_INVALID_ARGUMENT;
  if (entry == kRoutineNull) return KERN_SUCCESS;
  // Calls the SIGSYS handler cannot run for another (its own return, the
  // signal mask and stack it restores, a new thread's or vfork's stack).
  switch (number) {
    case SYS_rt_sigreturn:
    case SYS_rt_sigprocmask:
    case SYS_sigaltstack:
    case SYS_clone:
    case SYS_clone3:
    case SYS_vfork: return KERN_INVALID_ARGUMENT;
    default: break;
  }
  if (entry == kRoutineServer) return KERN_SUCCESS;
  return entry >= kPage && entry <= kUserTop ? KERN_SUCCESS : KERN_INVALID_ARGUMENT;
}

kern_return_t Emulations::set_vector(ipc::TaskId task, int start, const uint64_t* entries, size_t n, Done done) {
  if (start < 0 || n > size_t(kVectorSize) || size_t(start) + n > size_t(kVectorSize)) return KERN_INVALID_ARGUMENT;
  for (size_t i = 0; i < n; i++)
    if (check_entry(start + int(i), entries[i]) != KERN_SUCCESS) return KERN_INVALID_ARGUMENT;
  Record& r = records_[task];
  std::map<int, uint64_t> before = r.entries;
  for (size_t i = 0; i < n; i++) {
    if (entries[i] == kRoutineNull)
      r.entries.erase(start + int(i));
    else
      r.entries[start + int(i)] = entries[i];
  }
  install(task, [this, task, start, n, before = std::move(before), done = std::move(done)](kern_return_t kr) {
    if (kr != KERN_SUCCESS) {
      // Put the range back as it was (the task is unchanged: its agent failed).
      auto it = records_.find(task);
      if (it != records_.end()) {
        for (int nr = start; nr < start + int(n); nr++) it->second.entries.erase(nr);
        for (auto [nr, e] : before)
          if (nr >= start && nr < start + int(n)) it->second.entries[nr] = e;
      }
    }
    done(kr);
  });
  return KERN_SUCCESS;
}

std::vector<uint64_t> Emulations::vector(ipc::TaskId task, int* start) const {
  *start = 0;
  auto it = records_.find(task);
  if (it == records_.end() || it->second.entries.empty()) return {};
  const auto& e = it->second.entries;
  const int first = e.begin()->first, last = e.rbegin()->first;
  std::vector<uint64_t> out(size_t(last - first + 1), kRoutineNull);
  for (auto [nr, routine] : e) out[size_t(nr - first)] = routine;
  *start = first;
  return out;
}

void Emulations::set_server(ipc::TaskId task, mach_port_name_t server, Done done) {
  Record& r = records_[task];
  const mach_port_name_t old = r.server;
  r.server = server;
  install(task, [this, task, old, server, done = std::move(done)](kern_return_t kr) {
    auto it = records_.find(task);
    if (kr != KERN_SUCCESS && it != records_.end() && it->second.server == server) {
      it->second.server = old;  // the agent failed: keep the old server
      release(server);
    } else {
      release(old);
    }
    done(kr);
  });
}

mach_port_name_t Emulations::server(ipc::TaskId task) const {
  auto it = records_.find(task);
  return it == records_.end() ? MACH_PORT_NULL : copy_send(it->second.server);
}

void Emulations::install(ipc::TaskId task, Done done) {
  AgentCall c;
  c.op = MACHD_AGENT_EMULATION;
  agent().request(task, c, [done = std::move(done)](const AgentResult& r) { done(r.result); });
}

kern_return_t Emulations::inherit(ipc::TaskId task, pid_t pid, uint64_t* count) {
  *count = 0;
  drop_expired();
  Runtime& rt = runtime();
  const pid_t self = rt.host().pid_of(task);
  if (self <= 0 || pid <= 0) return KERN_INVALID_ARGUMENT;
  Record copy;
  if (pid == self) {
    // The new image of an exec'd process: what machd kept of the old one,
    // or the old task's record if its end has not been seen yet.
    const uint64_t started = start_time_of(self);
    if (std::optional<Record> k = kept_.take(self, started)) {
      copy = std::move(*k);
    } else {
      for (auto& [other, r] : records_)
        if (other != task && rt.host().pid_of(other) == self) {
          for (auto [nr, e] : r.entries)
            if (e == kRoutineServer) copy.entries[nr] = e;
          copy.server = copy_send(r.server);
          break;
        }
    }
  } else {
    if (parent_of(self) != pid) return KERN_INVALID_ARGUMENT;
    const ipc::TaskId parent = rt.host().task_of_pid(pid);
    auto it = parent == ipc::kNoTask ? records_.end() : records_.find(parent);
    if (it != records_.end()) {
      copy.entries = it->second.entries;
      copy.server = copy_send(it->second.server);
    }
  }
  if (copy.entries.empty() && !MACH_PORT_VALID(copy.server)) return KERN_SUCCESS;
  Record& r = records_[task];
  release(r.server);
  r = std::move(copy);
  *count = r.entries.size();
  spdlog::debug("task {} (pid {}): inherited {} emulation entries from pid {}", task, self, *count, pid);
  return KERN_SUCCESS;
}

void Emulations::task_terminating(ipc::TaskId task) {
  auto it = records_.find(task);
  if (it == records_.end()) return;
  Record r = std::move(it->second);
  records_.erase(it);
  // A process that lives on exec'd: keep its redirections to the server,
  // unless its next image is a task already (it copied them then).
  TaskHost& host = runtime().host();
  const pid_t pid = host.pid_of(task);
  bool next_image_connected = false;
  for (ipc::TaskId other : host.tasks()) next_image_connected |= other != task && pid > 0 && host.pid_of(other) == pid;
  const uint64_t started = pid > 0 && !next_image_connected ? start_time_of(pid) : 0;
  Record keep;
  for (auto [nr, e] : r.entries)
    if (e == kRoutineServer) keep.entries[nr] = e;
  if (started != 0 && !keep.entries.empty() && MACH_PORT_VALID(r.server)) {
    drop_expired();
    keep.server = r.server;
    kept_.put(host, pid, started, agent_now_ns(), std::move(keep));
    return;
  }
  release(r.server);
}

void Emulations::drop_expired() { kept_.expire(agent_now_ns()); }

void Emulations::release_record(Record& r) {
  release(r.server);
  r.server = MACH_PORT_NULL;
}

}  // namespace machd::kern
