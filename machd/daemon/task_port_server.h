// machd/daemon/task_port_server.h — the mach_port subsystem (MIG 3200...) on
// task ports, as XNU's kernel serves it: a program that sends mach_port_*
// requests as messages to a task port (MIG-generated stubs, or by hand) gets
// the same answers the traps give. The server stubs are generated at build
// time by our mig from mig/defs/mach/mach_port.defs.
//
// The task a request operates on is the one whose task port it was sent to;
// rights travelling in the request (insert_right's poly, a notification
// port) and out in the reply (extract_right, previous notification) pass
// through machd's kernel task, exactly as the message moves them.
#pragma once

#include <cstdint>
#include <vector>

#include "ipc/kernel.h"
#include "kernel_servers.h"

namespace machd {

class TaskPortServer {
 public:
  explicit TaskPortServer(ipc::Kernel& k);
  // A request received on a task port (bytes in the kernel task's space).
  KernelReply handle(const std::vector<uint8_t>& msg);
};

}  // namespace machd
