// machd/ipc/lane.h — receive lanes: messages queued on a port "lent" to a
// ring in the receiver's memory, consumed there without a trap (the "receive"
// fast lane; see Kernel::lane_lend).
//
// State: PortAux::lane (the LaneId, 0 = none) and PortAux::lent (the first
// `lent` messages of the queue are lent); Ipc::lanes maps LaneId -> Port.
// Lent messages stay queued and keep their slots until settled.
//
// The invariant: while a port has a lane, no code may look at or change its
// queue head, seqno, context or receive right, or arm what lending excluded
// (no-senders, send-possible, set membership, blocked receivers), before
// calling lane_reclaim(close=true). A send finding the queue full calls
// lane_reclaim(close=false) first (consumed messages free slots).
#pragma once

#include <vector>

#include "types.h"

namespace machd::ipc {

// If `port` has a lane: asks the daemon how many more lent messages were
// consumed (LaneHooks::lane_reclaim(lane, close)), settles that many
// (clamped), and with `close` drops the lane (the remaining lent messages
// become ordinary queued messages). No-op without a lane.
void lane_reclaim(Ipc& ipc, Port& port, bool close);

// lane_reclaim(close=true) for every lane port whose receive right `task`
// holds (the task is dying; the daemon can still answer).
void lane_close_task(Ipc& ipc, TaskId task);

// Kernel::lane_lend / lane_settle (contracts in kernel.h).
uint32_t lane_lend(Ipc& ipc, Task& task, mach_port_name_t name, LaneId lane, uint32_t max,
                   uint32_t max_image, std::vector<std::vector<uint8_t>>& out, bool* senders_blocked);
void lane_settle(Ipc& ipc, LaneId lane, uint32_t consumed, bool close);

}  // namespace machd::ipc
