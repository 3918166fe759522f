// A tiny in-process stand-in for the Mach kernel, enough to run MIG stubs:
// one IPC space shared by "client" and "server", rights counted per name,
// out-of-line memory copied into tracked allocations, a max trailer on
// every received message. mach_msg(SEND|RCV) hands the request to the
// installed server (a demux function) and behaves like mach_msg_server()
// around it: a failed request is destroyed, MIG_NO_REPLY sends nothing.
//
// Every test ends by comparing the rights and regions with a snapshot taken
// at its start, and by checking that the kernel saw no misuse (double free,
// a right used that was not held).
#pragma once

#include <mach/mach.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fake {

struct PortState {
  int send = 0;
  int send_once = 0;
  bool receive = false;
  bool operator==(const PortState&) const = default;
};

struct Snapshot {
  std::map<mach_port_name_t, PortState> ports;
  std::map<vm_address_t, vm_size_t> regions;
};

using Demux = std::function<bool(mach_msg_header_t*, mach_msg_header_t*)>;

// The server that receives every request.
void set_server(Demux demux);
// A new port with a receive right (and `sends` send rights).
mach_port_name_t new_port(int sends = 0);
PortState port(mach_port_name_t name);
// Memory "this task" owns, as vm_allocate gives it.
void* allocate(vm_size_t size);
Snapshot snapshot();
// Problems the kernel saw since the last reset (double frees, rights used
// that were not held, ...).
const std::vector<std::string>& errors();
void reset();
// Facts about the last request handed to the server.
mach_msg_size_t last_request_size();
mach_msg_id_t last_request_id();
// Sends raw bytes as a request and receives the reply into `reply`.
mach_msg_return_t raw_rpc(mach_msg_header_t* request, mach_msg_size_t size,
                          mach_msg_header_t* reply, mach_msg_size_t reply_size);

}  // namespace fake
