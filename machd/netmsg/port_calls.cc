// machd/netmsg/port_calls.cc — the server's port calls (port_calls.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "port_calls.h"

#include <mach/notify.h>

namespace netmsg {

uint32_t queue_limit(mach_port_t name) {
  mach_port_limits_t limits{};
  mach_msg_type_number_t count = MACH_PORT_LIMITS_INFO_COUNT;
  if (mach_port_get_attributes(mach_task_self(), name, MACH_PORT_LIMITS_INFO,
                               reinterpret_cast<mach_port_info_t>(&limits), &count) != KERN_SUCCESS)
    return MACH_PORT_QLIMIT_DEFAULT;
  return limits.mpl_qlimit;
}

bool receive_status(mach_port_t name, mach_port_status_t* status) {
  mach_msg_type_number_t count = MACH_PORT_RECEIVE_STATUS_COUNT;
  return mach_port_get_attributes(mach_task_self(), name, MACH_PORT_RECEIVE_STATUS,
                                  reinterpret_cast<mach_port_info_t>(status), &count) == KERN_SUCCESS;
}

mach_port_t new_receive_right(uint32_t qlimit) {
  mach_port_t name = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &name) != KERN_SUCCESS) return MACH_PORT_NULL;
  mach_port_limits_t limits{qlimit == 0 ? MACH_PORT_QLIMIT_DEFAULT : qlimit};
  mach_port_set_attributes(mach_task_self(), name, MACH_PORT_LIMITS_INFO, reinterpret_cast<mach_port_info_t>(&limits),
                           MACH_PORT_LIMITS_INFO_COUNT);
  return name;
}

mach_port_t request_no_senders(mach_port_t port, mach_port_mscount_t sync, mach_port_t notify) {
  mach_port_t previous = MACH_PORT_NULL;
  mach_port_request_notification(mach_task_self(), port, MACH_NOTIFY_NO_SENDERS, sync, notify,
                                 MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous);
  return MACH_PORT_VALID(previous) ? previous : MACH_PORT_NULL;
}

}  // namespace netmsg
