// machd/kern/exception_ports.h — the exception actions of a thread, a task
// or the host (XNU's struct exception_action arrays) and the rules of
// *_set/get/swap_exception_ports over them, as XNU's ipc_tt.c applies them.
//
// Ports are kernel-task names of send rights; each action holds its own
// user reference (a port set for three exceptions is three references), as
// XNU holds one send right per exception.
//
// Who has which table: ExceptionPorts keeps the tasks' tables and the host's;
// a thread's table is on its Thread (thread.h). Whenever a table changes,
// publish() writes each affected task's interest mask (machd_abi.h,
// exc_interest) so that a fault nobody takes costs the library no trap.
#pragma once

#include <mach/exception_types.h>
#include <mach/kern_return.h>
#include <mach/machine/exception.h>
#include <mach/thread_status.h>

#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "kept_across_exec.h"
#include "runtime.h"

namespace machd::kern {

struct ExceptionAction {
  mach_port_name_t port = MACH_PORT_NULL;  // send right (kernel task), NULL or DEAD
  exception_behavior_t behavior = 0;
  thread_state_flavor_t flavor = 0;
};
using ExceptionActions = std::array<ExceptionAction, EXC_TYPES_COUNT>;

// XNU's set_exception_ports_validation: KERN_INVALID_ARGUMENT for mask bits
// outside EXC_MASK_VALID, an unknown behavior (when the port is valid), an
// invalid flavor, or EXCEPTION_IDENTITY_PROTECTED / BACKTRACE_PREFERRED
// without MACH_EXCEPTION_CODES. Every task here is an unhardened process
// with no entitlement policy, so no behavior is refused for policy.
kern_return_t validate_exception_ports(exception_mask_t mask, mach_port_name_t port,
                                       exception_behavior_t behavior, thread_state_flavor_t flavor);

// The bits of the exceptions some action of `table` has a live port for.
uint64_t exception_interest(const ExceptionActions& table);

// The answer of a get or swap: up to `room` entries, actions with the same
// port, behavior and flavor merged into one entry (XNU's grouping). Ports
// are kernel-task names the reply copies (COPY_SEND).
struct ExceptionPortsAnswer {
  mach_msg_type_number_t count = 0;
  exception_mask_t masks[EXC_TYPES_COUNT] = {};
  mach_port_name_t ports[EXC_TYPES_COUNT] = {};
  exception_behavior_t behaviors[EXC_TYPES_COUNT] = {};
  thread_state_flavor_t flavors[EXC_TYPES_COUNT] = {};
};
ExceptionPortsAnswer read_exception_ports(const ExceptionActions& table, exception_mask_t mask,
                                          mach_msg_type_number_t room);

// Sets every action in `mask` to (port, behavior, flavor), each taking a
// reference of `port` (the caller's own reference is not consumed). The
// references the replaced actions held are released once the reply of the
// routine being served went out (so that a swap's reply can still copy
// them).
void write_exception_ports(ExceptionActions& table, exception_mask_t mask, mach_port_name_t port,
                           exception_behavior_t behavior, thread_state_flavor_t flavor);

// Releases every reference the table holds and clears it.
void clear_exception_ports(ExceptionActions& table);

// The identity XNU's *_get_exception_ports_info reports for a port
// (iip_port_object, iip_receiver_object): stable per port and receiving
// task while they live, never an address; 0 for no port.
ipc_info_port_t exception_port_info(mach_port_name_t port);

// The tasks' and the host's tables, and the interest masks.
class ExceptionPorts final : public TaskObserver {
 public:
  ExceptionPorts();
  ~ExceptionPorts() override;

  // The task's table (created on first use).
  ExceptionActions& task_table(ipc::TaskId task);
  // The task's table if it has one.
  const ExceptionActions* find_task_table(ipc::TaskId task) const;
  ExceptionActions& host_table() { return host_; }

  // Writes the interest mask of `task` (its table | the host's | its
  // threads'). publish_all() after a host change.
  void publish(ipc::TaskId task);
  void publish_all();

  // A new task takes a copy of the task-level actions XNU would give it:
  // those of the same process before it exec'd (exec keeps a task's
  // exception ports: kept_across_exec.h), else its parent's
  // (ipc_task_init: a forked or spawned child inherits its parent's
  // exception ports).
  void task_created(ipc::TaskId task) override;
  void task_terminating(ipc::TaskId task) override;

 private:
  // Copies `from` into the task's table (a reference per action).
  void copy_into(ipc::TaskId task, const ExceptionActions& from);

  std::unordered_map<ipc::TaskId, ExceptionActions> tasks_;
  KeptAcrossExec<ExceptionActions> kept_{clear_exception_ports};  // tables of ended tasks whose process exec'd
  ExceptionActions host_{};
};

ExceptionPorts& exception_ports();

}  // namespace machd::kern
