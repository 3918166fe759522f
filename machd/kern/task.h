// machd/kern/task.h — the task object beyond its IPC space: the flavors of
// its port (control, read, inspect, name), its special and registered
// ports, its exc-guard behavior and policy, identity tokens, and the
// traps that hand out task ports by pid (task_for_pid, task_name_for_pid,
// pid_for_task). The task routines of task.defs machd provides are in
// task_server.cc; task_info's data is task_info.h's.
//
// Port flavors (XNU's itk_task_ports): the control port is the IPC core's
// task port ({kTask, TaskId}); the read, inspect and name ports are object
// ports {kTaskRead|kTaskInspect|kTaskName, TaskId} created when first asked
// for and destroyed when their last send right goes (no-senders) or the
// task dies. A routine accepts the flavors XNU's MIG conversion accepts:
// a stronger flavor always does (control > read > inspect > name).
#pragma once

#include <mach/mach_types.h>

#include <array>
#include <optional>
#include <unordered_map>

#include "dispatch.h"
#include "runtime.h"

namespace machd::kern {

// The weakest flavor a routine accepts (XNU's task_t / task_read_t /
// task_inspect_t / task_name_t arguments).
enum class TaskFlavor : uint8_t { kControl = 0, kRead = 1, kInspect = 2, kName = 3 };

class Tasks final : public TaskObserver {
 public:
  static constexpr int kRegisterMax = 3;  // TASK_PORT_REGISTER_MAX

  explicit Tasks(Dispatch& dispatch);
  ~Tasks() override;
  Tasks(const Tasks&) = delete;
  Tasks& operator=(const Tasks&) = delete;

  // The task `port` (a kernel-task name) denotes, if its flavor is at
  // least `weakest`; *flavor (optional) gets the port's own flavor.
  std::optional<ipc::TaskId> translate(mach_port_t port, TaskFlavor weakest, TaskFlavor* flavor = nullptr) const;
  // The same for a name in `caller`'s space (traps).
  std::optional<ipc::TaskId> translate_name(ipc::TaskId caller, mach_port_name_t name, TaskFlavor weakest) const;

  // A send right to `task`'s port of `flavor` in the kernel task (for a
  // reply to move out), or MACH_PORT_NULL if the task is gone.
  mach_port_name_t flavor_send(ipc::TaskId task, TaskFlavor flavor);

  // task_get_special_port / task_set_special_port as XNU answers them;
  // `via` is the flavor of the port the request came in on. *out is a
  // kernel-task send right the reply moves (or MACH_PORT_NULL / DEAD).
  kern_return_t get_special(ipc::TaskId task, TaskFlavor via, int which, mach_port_name_t* out);
  // `port` is the kernel-task send right that travelled in the request
  // (consumed on success; on an error the error reply releases it).
  kern_return_t set_special(ipc::TaskId task, int which, mach_port_name_t port);

  // mach_ports_register / mach_ports_lookup: up to kRegisterMax send rights
  // kept per task (kernel-task names; kept on success / copied).
  kern_return_t ports_register(ipc::TaskId task, const mach_port_name_t* ports, size_t n);
  std::array<mach_port_name_t, kRegisterMax> ports_lookup(ipc::TaskId task);

  // task_terminate: the process is killed (SIGKILL through its pidfd); the
  // task dies when machd sees the process exit.
  kern_return_t terminate(ipc::TaskId task);

  // task_get/set_exc_guard_behavior (stored; reported back).
  uint32_t exc_guard(ipc::TaskId task) const;
  kern_return_t set_exc_guard(ipc::TaskId task, uint32_t behavior);

  // task_policy_set/get: the flavors kept per task (role, latency and
  // throughput QoS tiers).
  kern_return_t policy_set(ipc::TaskId task, int flavor, const integer_t* info, mach_msg_type_number_t count);
  kern_return_t policy_get(ipc::TaskId task, int flavor, integer_t* info, mach_msg_type_number_t* count,
                           boolean_t* get_default) const;

  // Identity tokens: a port {kIdentityToken, id} naming a task by identity
  // (not by port); the token dies with its last send right.
  kern_return_t create_token(ipc::TaskId task, mach_port_name_t* out);
  // The token's task's port of `flavor` for the requesting task `caller`.
  kern_return_t token_task_port(mach_port_t token, task_flavor_t flavor, ipc::TaskId caller, mach_port_name_t* out);

  // Traps. task_for_pid / task_name_for_pid: `caller` names its own task
  // port `tport`; *out is a send right in `caller`'s space. As XNU: any
  // refusal (no such connected process, pid 0, not the same user and not
  // root) is KERN_FAILURE.
  kern_return_t task_for_pid(ipc::TaskId caller, mach_port_name_t tport, int pid, TaskFlavor flavor,
                             mach_port_name_t* out);
  // pid_for_task: any flavor of task port (KERN_FAILURE otherwise).
  kern_return_t pid_for_task(ipc::TaskId caller, mach_port_name_t name, int* pid) const;

  // May `caller` hold `target`'s control (or read) port? Root, itself, or
  // the same user (target's real and effective uid are caller's euid).
  bool may_control(ipc::TaskId caller, ipc::TaskId target) const;

  void task_terminating(ipc::TaskId task) override;

 private:
  struct State {
    std::array<mach_port_name_t, 3> flavor_ports{};  // read, inspect, name (kernel-task names)
    std::array<mach_port_name_t, kRegisterMax> registered{};
    std::optional<uint32_t> exc_guard;
    integer_t role = 0;  // TASK_UNSPECIFIED
    integer_t latency_tier = 0, throughput_tier = 0;
    bool policy_set = false;
  };
  struct Token {
    ipc::TaskId task;
    uint32_t pid, pidversion;
    mach_port_name_t port;
  };
  State& state(ipc::TaskId task) { return state_[task]; }
  const State* find(ipc::TaskId task) const;
  void on_flavor_no_senders(ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount);
  void on_token_no_senders(ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount);

  std::unordered_map<ipc::TaskId, State> state_;
  std::unordered_map<uint64_t, Token> tokens_;
  uint64_t next_token_ = 1;
};

// The tasks object of this machd (set by its constructor).
Tasks& tasks();

}  // namespace machd::kern
