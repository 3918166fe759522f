// machd/kern/introspect.h — machd's introspection subsystem
// (mig/defs/machd/machd_introspect.defs, ids 7700-7704), served on the host
// port: the records of <machd_introspect.h> built from the IPC core, the
// daemon's knowledge of processes, the bootstrap server and the counters.
//
// Who may ask: a caller whose effective uid (its audit token, verified by
// the kernel at connect) is machd's own or 0; anyone else gets
// KERN_NO_ACCESS. The records never carry addresses: a port is its object
// id (the iin_object of mach_port_space_info).
#pragma once

#include <mach/message.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "ipc/kernel.h"
#include "machd_introspect.h"

namespace machd::kern {

// A bootstrap service as the daemon's bootstrap server lists it.
struct ServiceView {
  std::string name;
  mach_port_name_t send = MACH_PORT_NULL;  // the kernel task's send right
  bool on_demand = false;                  // created, not checked in yet
};

class Introspection {
 public:
  using ServiceLister = std::function<std::vector<ServiceView>()>;
  // `services` lists the bootstrap services when asked. Registers itself as
  // introspection() (one per machd).
  explicit Introspection(ServiceLister services);
  ~Introspection();
  Introspection(const Introspection&) = delete;
  Introspection& operator=(const Introspection&) = delete;

  // Whether the sender of `audit` may use the subsystem (see above).
  static bool allowed(const audit_token_t& audit);

  // machd's kernel task first (pid 0), then every connected task in
  // creation order.
  std::vector<machd_task_record_t> tasks() const;
  // The names of the task of `pid` (0: the kernel task);
  // KERN_INVALID_ARGUMENT when no task is that process.
  kern_return_t ports(pid_t pid, std::vector<machd_port_record_t>* out) const;
  std::vector<machd_service_record_t> services() const;
  // One edge per (task, live port it holds send rights to).
  std::vector<machd_send_edge_t> send_rights() const;
  // counters() with the current task and port counts.
  machd_counters_t stats() const;

 private:
  // The pid a record gives a task: 0 for the kernel task, -1 for none.
  int32_t pid_of(ipc::TaskId task) const;
  ServiceLister services_;
};

// The introspection of this machd (set by the constructor).
Introspection& introspection();

}  // namespace machd::kern
