/*
 * mach/clock.h - clock service operations (clock subsystem).
 * SPDX-License-Identifier: MIT
 */
#ifndef _clock_user_
#define _clock_user_

#include <mach/_cdefs.h>
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <mach/clock_types.h>

__BEGIN_DECLS

extern kern_return_t clock_get_time(clock_serv_t clock_serv,
    mach_timespec_t *cur_time);
extern kern_return_t clock_get_attributes(clock_serv_t clock_serv,
    clock_flavor_t flavor, clock_attr_t clock_attr,
    mach_msg_type_number_t *clock_attrCnt);
extern kern_return_t clock_alarm(clock_serv_t clock_serv,
    alarm_type_t alarm_type, mach_timespec_t alarm_time,
    clock_reply_t alarm_port);

__END_DECLS

#endif /* _clock_user_ */
