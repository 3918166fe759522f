// machd/kern/task_suspension.h — task_suspend2's suspension tokens (XNU's
// IKOT_TASK_RESUME ports, osfmk/kern/task.c).
//
// A token stands for one suspension of one task. The caller of
// task_suspend2 gets it as a send-once right to a port machd serves.
// task_resume2 consumes it and drops that suspension. A token destroyed
// unused (deallocated, its holder ended, or used up by any other message
// to it) drops the suspension as well, as XNU's task_suspension_send_once
// does, and its port goes: no token outlives its right.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "dispatch.h"
#include "runtime.h"

namespace machd::kern {

class SuspensionTokens {
 public:
  explicit SuspensionTokens(Dispatch& dispatch);
  ~SuspensionTokens();
  SuspensionTokens(const SuspensionTokens&) = delete;
  SuspensionTokens& operator=(const SuspensionTokens&) = delete;

  // A new token for a suspension of `task` the caller has placed: the
  // kernel-task name of its port's receive right, from which the reply
  // makes the send-once right. MACH_PORT_NULL if no port could be made.
  mach_port_name_t make(ipc::TaskId task);
  // The suspension behind the token whose port is `kernel_name` (the
  // request's target), which is forgotten; its port is destroyed after the
  // reply. nullopt if `kernel_name` is not a live token.
  std::optional<ipc::TaskId> redeem(mach_port_name_t kernel_name);
  // Forgets a token that was never handed out and destroys its port; the
  // suspension is the caller's to undo. False if it was gone already (its
  // right died and on_send_once ended its suspension).
  bool discard(mach_port_name_t kernel_name);

  size_t live() const { return by_id_.size(); }

 private:
  // The token's send-once right died unused: its suspension ends.
  void on_send_once(ipc::KObject ko, mach_port_name_t kernel_name);
  // Forgets the token `ko` labels; its task, or nullopt if not a live token.
  std::optional<ipc::TaskId> take(ipc::KObject ko);

  std::unordered_map<uint64_t, ipc::TaskId> by_id_;
  uint64_t next_id_ = 1;
};

SuspensionTokens& suspension_tokens();

}  // namespace machd::kern
