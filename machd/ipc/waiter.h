// machd/ipc/waiter.h — a thread blocked in mach_msg, and the intrusive FIFO
// lists ports and port sets keep of them.
//
// A waiter is in exactly one phase: blocked sending (it holds its message,
// waiting for a queue slot) or blocked receiving (on a port or a port set).
// A combined send+receive that blocked while sending moves on to the receive
// phase (same WaiterId) once its message is accepted.
#pragma once

#include <cstdint>

#include "types.h"

namespace machd::ipc {

struct WaiterList;

struct Waiter {
  enum class Phase : uint8_t { kSend, kReceive };

  WaiterId id = 0;
  TaskId task = kNoTask;
  Phase phase = Phase::kReceive;
  mach_msg_option_t options = 0;
  mach_msg_timeout_t timeout = 0;
  bool has_deadline = false;
  uint64_t deadline = 0;

  // Send phase: the message this thread is trying to enqueue on `kmsg->dest`.
  Kmsg* kmsg = nullptr;
  bool granted = false;  // a queue slot is reserved for it (post pending in drain)

  // Receive phase (also the pending receive of a combined operation).
  bool wants_receive = false;
  mach_port_name_t rcv_name = MACH_PORT_NULL;
  mach_msg_size_t rcv_size = 0;
  uint64_t msg_addr = 0;       // MsgArgs::msg_addr / rcv_addr
  uint64_t rcv_addr = 0;
  Port* rcv_port = nullptr;    // exactly one of these while receiving
  PortSet* rcv_set = nullptr;

  // Membership in a WaiterList.
  WaiterList* list = nullptr;
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
};

// Intrusive FIFO of waiters (does not own them).
struct WaiterList {
  Waiter* head = nullptr;
  Waiter* tail = nullptr;

  bool empty() const { return head == nullptr; }
  void push_back(Waiter* w) {
    w->list = this;
    w->prev = tail;
    w->next = nullptr;
    if (tail) tail->next = w; else head = w;
    tail = w;
  }
  void remove(Waiter* w) {
    if (w->list != this) return;
    if (w->prev) w->prev->next = w->next; else head = w->next;
    if (w->next) w->next->prev = w->prev; else tail = w->prev;
    w->list = nullptr;
    w->prev = w->next = nullptr;
  }
  Waiter* pop_front() {
    Waiter* w = head;
    if (w) remove(w);
    return w;
  }
};

// ---- the registry of blocked threads (Ipc::waiters) ------------------------

// Registers a blocked thread. Returns null if `id` is already blocked.
Waiter* waiter_new(Ipc& ipc, WaiterId id, TaskId task);
// Arms the deadline now + timeout_ms (relative to Ipc::now_ns).
void waiter_set_deadline(Ipc& ipc, Waiter& w, mach_msg_timeout_t timeout_ms);
void waiter_clear_deadline(Ipc& ipc, Waiter& w);
// Completes the blocked mach_msg with `c` (c.waiter is set here) and forgets
// the waiter. Its message, if any, must already have been taken.
void waiter_finish(Ipc& ipc, Waiter* w, Completion&& c);
// Forgets the waiter with no Completion (its task is gone); its message,
// if any, is destroyed.
void waiter_drop(Ipc& ipc, Waiter* w);
// A completion carrying only a result code.
Completion result_only(mach_msg_return_t mr);

}  // namespace machd::ipc
