// machd/kern/timer.h — mk_timer (XNU osfmk/kern/mk_timer.c): a timer is a
// port whose receive right belongs to the task that created it, labelled
// {kTimer, id}; machd keeps a send right to it and, when an armed deadline
// (mach_absolute_time units: ns of CLOCK_MONOTONIC) is reached, sends it one
// mk_timer_expire_msg_t (msgh_id 0, remote port = the timer, COPY_SEND).
//
// The traps act on the caller's own space, as XNU's:
//   create  → name of a new receive right (MACH_PORT_NULL on failure)
//   arm     → KERN_SUCCESS; a deadline already past fires at once; re-arming
//             replaces the deadline. Receive right required.
//   cancel  → the armed deadline (0 when not armed); the timer stays.
//   destroy → destroys the receive right (a mach_port_destroy, as XNU).
// Errors as XNU's ipc_port_translate_receive: KERN_INVALID_NAME (no such
// name), KERN_INVALID_RIGHT (no receive right); a receive right that is no
// timer: KERN_INVALID_ARGUMENT.
//
// A timer ends with its port: mk_timer_destroy, mach_port_destroy /
// mod_refs(receive, -1) by its holder (machd learns of it at the next expiry
// or timer call of that task), or the death of its task (TaskObserver).
// A port-destroyed request on a timer is refused (KERN_INVALID_RIGHT) by the
// IPC core, as on every kernel object.
#pragma once

#include <mach/port.h>

#include <unordered_map>

#include "runtime.h"

namespace machd::kern {

class Timers : public TaskObserver {
 public:
  Timers();
  ~Timers() override;
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  mach_port_name_t create(ipc::TaskId task);
  kern_return_t destroy(ipc::TaskId task, mach_port_name_t name);
  kern_return_t arm(ipc::TaskId task, mach_port_name_t name, uint64_t deadline_ns);
  kern_return_t cancel(ipc::TaskId task, mach_port_name_t name, uint64_t* armed);

  // Timers alive (tests, leak checks).
  size_t count() const { return timers_.size(); }

  void task_terminating(ipc::TaskId task) override;

 private:
  struct Timer {
    ipc::TaskId owner;
    mach_port_name_t send;  // machd's send right (kernel task name)
    TimerQueue::Id pending = 0;
  };
  // The timer the receive right `name` of `task` is (*id), or the error.
  kern_return_t lookup(ipc::TaskId task, mach_port_name_t name, uint64_t* id);
  void expire(uint64_t id);
  void forget(uint64_t id);
  void sweep(ipc::TaskId task);  // timers of `task` whose port died

  std::unordered_map<uint64_t, Timer> timers_;
  uint64_t next_id_ = 1;
};

Timers& timers();

}  // namespace machd::kern
