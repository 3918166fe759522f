/*
 * mach/mk_timer.h - Mach timers: a timer is a port that receives one
 * mk_timer_expire_msg_t each time it fires.
 *
 *   name = mk_timer_create();            receive right to a new timer
 *   mk_timer_arm(name, deadline);        fire at deadline (mach_absolute_time)
 *   mach_msg(... MACH_RCV_MSG ..., name) the expiry message
 *   mk_timer_cancel(name, &deadline);    disarm; the deadline it had, or 0
 *   mk_timer_destroy(name);              the timer and its right are gone
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MK_TIMER_H_
#define _MACH_MK_TIMER_H_

#include <stdint.h>
#include <mach/_cdefs.h>
#include <mach/kern_return.h>
#include <mach/message.h>
#include <mach/mach_time.h>

__BEGIN_DECLS

/* A new timer (a receive right in the caller's space); MACH_PORT_NULL on failure. */
extern mach_port_name_t mk_timer_create(void);
extern kern_return_t mk_timer_destroy(mach_port_name_t name);

/* Arm (or re-arm) for expire_time, in mach_absolute_time() units. */
extern kern_return_t mk_timer_arm(mach_port_name_t name, uint64_t expire_time);

/* Disarm; *result_time gets the deadline it was armed for (0 if none). */
extern kern_return_t mk_timer_cancel(mach_port_name_t name, uint64_t *result_time);

/* mk_timer_arm_leeway() flags. */
#define MK_TIMER_NORMAL         (0)
#define MK_TIMER_CRITICAL       (1)

/* Arm with a tolerance: the timer may fire up to mk_timer_leeway late. */
extern kern_return_t mk_timer_arm_leeway(mach_port_name_t name,
    uint64_t mk_timer_flags, uint64_t mk_timer_expire_time,
    uint64_t mk_timer_leeway);

/* What the timer port receives when it fires. */
#pragma pack(push, 4)
typedef struct mk_timer_expire_msg {
	mach_msg_header_t header;
	uint64_t          unused[3];
} mk_timer_expire_msg_t;
#pragma pack(pop)

__END_DECLS

#endif /* _MACH_MK_TIMER_H_ */
