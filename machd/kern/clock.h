// machd/kern/clock.h — the Mach clocks (XNU osfmk/kern/clock_oldops.c):
// SYSTEM_CLOCK (time since boot: CLOCK_MONOTONIC, the clock of
// mach_absolute_time) and CALENDAR_CLOCK (CLOCK_REALTIME), each a service
// port (host_get_clock_service, any task) and a control port
// (host_get_clock_control, host_priv).
//
// clock_get_time / clock_get_attributes answer as XNU (attributes: count must
// be 1, else KERN_FAILURE; resolution 10 ms; the calendar clock has no
// alarms). clock_alarm (system clock only; else KERN_FAILURE) posts an alarm
// in machd's timer queue: at the deadline clock_alarm_reply (clock_reply.defs)
// goes to the given port with the clock's time then; a bad type or time is
// answered at once with KERN_INVALID_VALUE, a past time at once with
// KERN_SUCCESS. clock_set_time / clock_set_attributes (clock_priv.defs) are
// obsolete in XNU and stay KERN_NOT_SUPPORTED (the calendar is Linux's). clock_sleep is a trap (clock_sleep_trap) the
// library runs in the calling thread: machd only says which clock a port is
// (clock_of).
#pragma once

#include <mach/clock_types.h>
#include <mach/port.h>

#include <optional>

#include "ipc/kernel.h"

namespace machd::kern {

class Clocks {
 public:
  Clocks();
  Clocks(const Clocks&) = delete;
  Clocks& operator=(const Clocks&) = delete;

  // Kernel-task names (receive + one send right) of a clock's ports;
  // MACH_PORT_NULL for an unknown id.
  mach_port_name_t service_port(clock_id_t id) const;
  mach_port_name_t control_port(clock_id_t id) const;

  // The clock a send right `name` of `task` denotes (service or control).
  std::optional<clock_id_t> clock_of(ipc::TaskId task, mach_port_name_t name) const;

  static mach_timespec_t now(clock_id_t id);

 private:
  mach_port_name_t service_[2] = {};
  mach_port_name_t control_[2] = {};
};

Clocks& clocks();

}  // namespace machd::kern
