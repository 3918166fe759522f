// machd/bootstrap/bootstrap_server.h — the bootstrap name service, served by
// machd's kernel task on the port every task gets as its bootstrap port.
//
// It speaks the classic bootstrap subsystem (MIG subsystem 400, as launchd's
// legacy interface and <servers/bootstrap.h>), through server stubs that our
// mig generates from mig/defs/servers/bootstrap.defs at build time:
// check_in 402, register 403, look_up 404, parent 406, create_service 410.
// Other routines of the subsystem answer KERN_NOT_SUPPORTED; unknown ids get
// MIG_BAD_ID from the generated demux.
//
// Services:  name → (send right held by the kernel task, receive right held by
//            the kernel task until someone checks in). A dead-name request on
//            every registered right removes the name when its port dies.
// Users:     each name lives in the namespace of the effective uid that made
//            it (the caller's audit token): a task sees only names its own
//            uid registered, checked in or created, so that a machd serving
//            several uids (machd --allow-uid) keeps them apart. Made with
//            `shared` (machd --shared-bootstrap), one namespace for all.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ipc/kernel.h"
#include "kernel_servers.h"

namespace machd {

class BootstrapServer {
 public:
  // Creates the bootstrap port and its notification port in the kernel task
  // and adds their receive rights to `kernel_set`.
  BootstrapServer(ipc::Kernel& k, mach_port_name_t kernel_set, bool shared = false);

  mach_port_name_t port() const { return port_; }

  // True if `local` (the port a kernel message arrived on) is served here.
  bool serves(mach_port_name_t local) const { return local == port_ || local == notify_; }

  // Handles a request on port() with the generated demux, or a dead-name
  // notification on the notify port. Follows MIG's server contract (see
  // kernel_servers.h): the result says what to send and what to release.
  KernelReply handle(const std::vector<uint8_t>& msg);

  // The routines, called by the generated stubs (names in the kernel task),
  // in the namespace of the request's caller (handle() sets it).
  kern_return_t check_in(const std::string& name, mach_port_name_t* receive_out);
  kern_return_t do_register(const std::string& name, mach_port_name_t send);
  kern_return_t look_up(const std::string& name, mach_port_name_t* send_out);
  kern_return_t create_service(const std::string& name, mach_port_name_t* send_out);

  // Every registered name of every uid's namespace (machd --allow-uid; by
  // default there is one), in (uid, name) order: the kernel task's send right to
  // the service port, and whether the service was created and not yet
  // checked in (machd still holds its receive right: on demand).
  struct Listed {
    std::string name;
    mach_port_name_t send = MACH_PORT_NULL;
    bool on_demand = false;
  };
  std::vector<Listed> list() const;

 private:
  struct Service {
    mach_port_name_t send = MACH_PORT_NULL;     // kernel task's send right
    mach_port_name_t receive = MACH_PORT_NULL;  // held until check-in, else NULL
  };
  using Key = std::pair<uint32_t, std::string>;  // (namespace uid, name)
  using Services = std::map<Key, Service>;
  Key key(const std::string& name) const { return Key{caller_scope_, name}; }
  void watch(mach_port_name_t send);
  void on_dead_name(mach_port_name_t name);
  void forget(Services::iterator it);

  ipc::Kernel& k_;
  ipc::TaskId kt_;
  mach_port_name_t port_ = MACH_PORT_NULL;
  mach_port_name_t notify_ = MACH_PORT_NULL;
  bool shared_ = false;
  uint32_t caller_scope_ = 0;  // the namespace of the request being handled
  Services services_;
};

}  // namespace machd
