// machd/ipc/types.h — vocabulary shared by the files of the IPC core.
//
// Nothing here is visible outside machd/ipc/ (kernel.h is the public face).
#pragma once

#include <mach/kern_return.h>
#include <mach/message.h>
#include <mach/port.h>

#include <cstdint>

#include "kernel.h"

namespace machd::ipc {

struct Credit;
struct Ipc;
struct Kmsg;
struct Port;
struct PortSet;
struct Space;
struct Task;
struct Waiter;

// XNU's MACH_PORT_UREFS_MAX: user references saturate here (never overflow).
inline constexpr mach_port_urefs_t kUrefsMax = 0xFFFF;

// Entry type bits are the MACH_PORT_TYPE_* values (as XNU's ie_bits).
inline constexpr uint32_t kTypeMask = 0x001F0000u;
inline constexpr uint32_t kUrefsMask = 0x0000FFFFu;
inline constexpr uint32_t kGenMask = 0xFF000000u;

// Right types carried by messages after copyin (MACH_MSG_TYPE_PORT_*).
inline constexpr mach_msg_type_name_t kPortReceive = MACH_MSG_TYPE_PORT_RECEIVE;
inline constexpr mach_msg_type_name_t kPortSend = MACH_MSG_TYPE_PORT_SEND;
inline constexpr mach_msg_type_name_t kPortSendOnce = MACH_MSG_TYPE_PORT_SEND_ONCE;

// The result type of copying in a right with disposition `disp`
// (ipc_object_copyin_type): MAKE_SEND/COPY_SEND/MOVE_SEND -> PORT_SEND, ...
inline mach_msg_type_name_t copyin_result_type(mach_msg_type_name_t disp) {
  switch (disp) {
    case MACH_MSG_TYPE_MOVE_RECEIVE: return kPortReceive;
    case MACH_MSG_TYPE_MOVE_SEND_ONCE:
    case MACH_MSG_TYPE_MAKE_SEND_ONCE: return kPortSendOnce;
    case MACH_MSG_TYPE_MOVE_SEND:
    case MACH_MSG_TYPE_MAKE_SEND:
    case MACH_MSG_TYPE_COPY_SEND: return kPortSend;
    default: return MACH_MSG_TYPE_PORT_NONE;
  }
}

inline bool is_port_disposition(mach_msg_type_name_t disp) {
  return disp >= MACH_MSG_TYPE_MOVE_RECEIVE && disp <= MACH_MSG_TYPE_MAKE_SEND_ONCE;
}

inline bool is_send_disposition(mach_msg_type_name_t disp) {
  return disp >= MACH_MSG_TYPE_MOVE_SEND && disp <= MACH_MSG_TYPE_MAKE_SEND_ONCE;
}

}  // namespace machd::ipc
