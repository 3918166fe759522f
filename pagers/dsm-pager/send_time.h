/* pagers/dsm-pager/send_time.h — how long a message to a kernel's control
 * port may wait for room in its queue: the send timeout of the pager's own
 * stubs of the control calls (our mig's output for mach/mach.defs with
 * prefix dsm_ and `sendtime dsm_send_timeout_ms`, pagers/meson.build).
 * A send that times out was not sent (MACH_SEND_TIMED_OUT).
 *
 * Part of machd (Mach IPC in user space on Linux).
 * SPDX-License-Identifier: MIT */
#pragma once

#include <mach/message.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Milliseconds; defined (and set) by the kernel-message server. */
extern mach_msg_timeout_t dsm_send_timeout_ms;

#ifdef __cplusplus
}
#endif
