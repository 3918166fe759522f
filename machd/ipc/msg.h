// machd/ipc/msg.h — the mach_msg trap: send half, receive half and the
// completion of blocked threads (XNU mach_msg.c + ipc_mqueue receive side).
#pragma once

#include "types.h"

namespace machd::ipc {

// mach_msg for one thread of `task` (see Kernel::msg; null: no such task).
MsgOutcome msg_trap(Ipc& ipc, Task* task, WaiterId waiter, MsgArgs&& args);

// ---- send half ----
// A blocked sender's message was accepted (or its destination died): the
// send succeeded; a combined operation goes on to its receive half.
void msg_send_done(Ipc& ipc, Waiter* w);
// A blocked sender gave up (MACH_SEND_TIMED_OUT / MACH_SEND_INTERRUPTED):
// its message goes back to it (pseudo-receive).
void msg_send_failed(Ipc& ipc, Waiter* w, mach_msg_return_t mr);
// Deferred work: the sender `id` was granted a slot; post its message.
void msg_sender_granted(Ipc& ipc, WaiterId id);

// ---- receive half ----
// Receives for thread `id` of `task` on `rcv_name`: takes a queued message,
// or blocks (registering `w`, or a new waiter when `w` is null), or fails.
// With `w` set, a finished receive completes `w` (outcome reports blocked).
MsgOutcome receive_half(Ipc& ipc, Task& task, WaiterId id, Waiter* w, mach_msg_option_t options,
                        mach_port_name_t rcv_name, mach_msg_size_t rcv_size,
                        mach_msg_timeout_t timeout, uint64_t rcv_addr);
// Deferred work: run the receive half of waiter `id` (its send finished).
void msg_resume_receive(Ipc& ipc, WaiterId id);
// Offers `k` (a message arriving on `from`, slot reserved) to the blocked
// receiver `w`. Returns true if `w` took it (and completed). A receiver with
// MACH_RCV_LARGE whose buffer is too small completes with the size instead
// and the message is offered to the next one (returns false).
bool receive_offer(Ipc& ipc, Waiter* w, Port& from, Kmsg* k);

// ---- blocked threads ----
void msg_abort(Ipc& ipc, WaiterId id, mach_msg_return_t reason);
void msg_expire(Ipc& ipc, uint64_t now_ns);

}  // namespace machd::ipc
