/*
 * mach/mach_time_private.h - time calls libsyscall exports beside
 * <mach/mach_time.h> (XNU's private header of the same name).
 *
 * mach_get_times: the absolute and continuous times and the calendar time
 * (CLOCK_REALTIME) read together; tp may be NULL.
 * mach_boottime_usec: the calendar time of boot in microseconds.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACH_TIME_PRIVATE_H_
#define _MACH_MACH_TIME_PRIVATE_H_

#include <stdint.h>
#include <mach/_cdefs.h>
#include <mach/mach_types.h>

__BEGIN_DECLS

struct timespec;

kern_return_t mach_get_times(uint64_t *absolute_time, uint64_t *continuous_time, struct timespec *tp);
uint64_t      mach_boottime_usec(void);

__END_DECLS

#endif /* _MACH_MACH_TIME_PRIVATE_H_ */
