// machd/kern/host_notify.h — host_request_notification (XNU
// osfmk/kern/host_notify.c): one-shot notifications of a change of the
// calendar clock (CLOCK_REALTIME).
//
// Contract: register_port keeps the send-once right `kernel_name` under
// `type`. When Linux tells that CLOCK_REALTIME was set (a timerfd armed
// with TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, watched by the daemon's
// loop through TaskHost::watch_fd; its read fails with ECANCELED), every
// registration of both types is answered with one message — a bare
// mach_msg_header_t, id HOST_CALENDAR_CHANGED_REPLYID (950) or
// HOST_CALENDAR_SET_REPLYID (951), the send-once right moved as its
// remote port — and dropped (XNU sends both on a calendar set). A
// registration whose port died is dropped unsent, at the next registration
// or event. Linux also reports a resume from suspend this way: XNU sends
// CALENDAR_CHANGE on wake too.
#pragma once

#include <mach/kern_return.h>
#include <mach/port.h>

#include <cstddef>

#include <array>
#include <cstdint>
#include <vector>

namespace machd::kern {

class HostNotify {
 public:
  HostNotify() = default;
  HostNotify(const HostNotify&) = delete;
  HostNotify& operator=(const HostNotify&) = delete;
  ~HostNotify();

  // At most this many live registrations (a task cannot grow machd without
  // bound, and each request sweeps them all; XNU is bounded by its
  // port-request tables).
  static constexpr size_t kMaxRegistrations = 1024;

  // type is HOST_NOTIFY_CALENDAR_CHANGE or _SET (checked by the caller).
  // KERN_RESOURCE_SHORTAGE if the calendar cannot be watched or
  // kMaxRegistrations are held.
  kern_return_t register_port(int type, mach_port_name_t kernel_name);
  // Registrations held (for tests and introspection).
  size_t pending() const { return ports_[0].size() + ports_[1].size(); }
  // Drops the registrations whose port is gone.
  void sweep();

 private:
  bool watch();
  void on_readable();
  void fire();

  std::array<std::vector<mach_port_name_t>, 2> ports_;
  int fd_ = -1;
  uint64_t token_ = 0;
};

// The host's (Host owns it, host.h).
HostNotify& host_notify();

}  // namespace machd::kern
