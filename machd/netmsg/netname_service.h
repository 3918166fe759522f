// machd/netmsg/netname_service.h — the netname service
// (servers/netname.defs) this server runs for the tasks of its host.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include "mach_inbox.h"

namespace netmsg {

class NetServer;

// Serves one request received on the netname port. check_in, check_out
// and version, and look_up on this host, are answered at once; look_up on
// another host asks that host (connecting to it first when `host_name` is
// an ADDR:PORT no peer has) and answers when it replies: NETNAME_SUCCESS
// with a send right, NETNAME_NOT_CHECKED_IN, NETNAME_NO_SUCH_HOST (no peer
// of that name, not an address), NETNAME_HOST_NOT_FOUND (cannot connect).
void serve_netname(NetServer& server, ReceivedMessage& request);

}  // namespace netmsg
