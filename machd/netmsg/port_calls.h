// machd/netmsg/port_calls.h — the Mach port calls the network message
// server makes on its own rights, in one place each.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <mach/mach.h>

#include <cstdint>

namespace netmsg {

// The queue limit of the port whose receive right is `name`
// (MACH_PORT_QLIMIT_DEFAULT when it cannot be read).
uint32_t queue_limit(mach_port_t name);

// The receive right `name`'s status (messages queued, send rights,
// make-send count); false when it cannot be read.
bool receive_status(mach_port_t name, mach_port_status_t* status);

// A new receive right with queue limit `qlimit` (0: the default);
// MACH_PORT_NULL when machd refuses one.
mach_port_t new_receive_right(uint32_t qlimit);

// Asks for a no-senders notification of `port` (a receive right of this
// task) to `notify` once its make-send count is at least `sync`
// (MACH_PORT_NULL: cancels the request). Returns the send-once right of
// the request it replaced (MACH_PORT_NULL if none): the caller disposes
// of it.
mach_port_t request_no_senders(mach_port_t port, mach_port_mscount_t sync, mach_port_t notify);

}  // namespace netmsg
