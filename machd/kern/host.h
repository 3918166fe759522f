// machd/kern/host.h — the host object: the host name port every task can
// have (mach_host_self) and the privileged host port (host_priv, root only),
// as XNU's realhost, and the host special ports. The mach_host and
// host_priv routines are in host.cc and host_special_ports.cc.
//
// Privilege as XNU (bsd set_security_token): a task whose effective uid is 0
// has host_priv as its host port, so its mach_host_self() is host_priv; any
// other task gets the host name port. Each task's TASK_HOST_PORT special
// port is set to the same when the task is created.
#pragma once

#include <mach/host_special_ports.h>
#include <mach/port.h>

#include <array>

#include "host_notify.h"
#include "ipc/kernel.h"
#include "runtime.h"

namespace machd::kern {

class Host final : public TaskObserver {
 public:
  // Creates the host and host_priv ports (served by machd).
  Host();
  ~Host() override;
  void task_created(ipc::TaskId task) override;
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Kernel-task names of the two ports.
  mach_port_name_t host_port() const { return host_; }
  mach_port_name_t host_priv_port() const { return host_priv_; }

  // mach_host_self(): a send right to the task's host port in `task`
  // (host_priv for a root task, see above).
  mach_port_name_t host_self(ipc::TaskId task);
  // Whether `task` runs with effective uid 0.
  static bool privileged(ipc::TaskId task);

  // Host special ports (host_get/set_special_port): the kernel-task name of
  // the send right kept for index `which` (MACH_PORT_NULL: unset). set()
  // takes the caller's send right and releases the one it replaces.
  mach_port_name_t special(int which) const { return special_[size_t(which)]; }
  void set_special(int which, mach_port_name_t kernel_name);
  // host_request_notification's registrations.
  HostNotify& notify() { return notify_; }

 private:
  std::array<mach_port_name_t, HOST_MAX_SPECIAL_PORT + 1> special_{};
  HostNotify notify_;
  mach_port_name_t host_ = MACH_PORT_NULL;
  mach_port_name_t host_priv_ = MACH_PORT_NULL;
};

// The host of this machd (set by the Host constructor).
Host& host();

}  // namespace machd::kern
