// machd/ipc/credit.h — send credits: queue slots reserved on a port for one
// sender task, so that the daemon can post that task's simple messages later
// without a trap (the "send" fast lane; see Kernel::credit_grant).
//
// A credit owns:
//   * `reserved` slots of its port's msgcount (taken from the queue at grant,
//     each one consumed by a post or given back when the client did not take
//     it before a revocation);
//   * one port reference; and, once revoked with messages still on their way
//     (taken by the client, not yet posted), one send right in flight
//     (srights), so that no-senders waits for them. While the credit is open
//     no such right is needed: the sender's own entry holds one, and every
//     call that could take it away revokes the task's credits first. So
//     mach_port_get_srights and MACH_PORT_RECEIVE_STATUS count no phantom
//     sender; the right is dropped when the credit closes.
// A credit is listed in its port's PortAux::credits and its task's
// Task::credits, so revocation is O(credits). Lifecycle:
//   open -> revoked (LaneHooks::credit_revoke answered how many slots the
//   client had not taken; EVERY reserved slot is released, and the messages
//   the client took but has not posted yet, `in_flight`, each take a slot
//   when they arrive, past the queue limit if need be: a client that never
//   writes them holds no room in another task's queue) -> closed when
//   nothing is in flight (LaneHooks::credit_closed, send right dropped). A
//   dying task's credits close at once without credit_revoke.
#pragma once

#include <span>
#include <vector>

#include "types.h"

namespace machd::ipc {

struct Credit {
  CreditId id = 0;
  TaskId task = kNoTask;
  mach_port_name_t name = MACH_PORT_NULL;  // the sender's name the credit was granted for
  Port* port = nullptr;                    // reference (owned)
  uint32_t reserved = 0;                   // slots reserved and not posted yet
  bool revoked = false;
  bool holds_right = false;                // a send right of its own (see above)
  uint32_t in_flight = 0;                  // revoked: messages taken by the client, not posted yet
};

// Kernel::credit_grant / credit_post (contracts in kernel.h).
CreditGrant credit_grant(Ipc& ipc, Task& task, mach_port_name_t name, uint32_t want);
mach_msg_return_t credit_post(Ipc& ipc, TaskId task, CreditId id, std::span<const uint8_t> msg);

// Revokes every credit reserving slots on `port` (the queue is full, or the
// port is dying): the slots the clients had not taken are released
// (mqueue_release_slot while the port is active), credits left with none
// close.
void credit_revoke_port(Ipc& ipc, Port& port);

// Revokes credit `id` if it is open (Kernel::credit_revoke).
void credit_revoke_one(Ipc& ipc, CreditId id);

// Revokes every credit of `task` (its space may lose send rights).
void credit_revoke_task(Ipc& ipc, Task& task);

// Closes every credit of the dying `task` without asking the daemon: all
// reserved slots are released and the send rights dropped.
void credit_drop_task(Ipc& ipc, Task& task);

// Slots of `port` reserved by send credits and not posted yet (not
// messages: mps_msgcount and introspection leave them out).
uint32_t credit_reserved(const Port& port);

}  // namespace machd::ipc
