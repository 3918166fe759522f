/*
 * mach/mach_time.h - Mach absolute time.
 *
 * mach_absolute_time() ticks in units of numer/denom nanoseconds.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACH_TIME_H_
#define _MACH_MACH_TIME_H_

#include <stdint.h>
#include <mach/_cdefs.h>
#include <mach/mach_types.h>

struct mach_timebase_info {
	uint32_t numer;
	uint32_t denom;
};
typedef struct mach_timebase_info *mach_timebase_info_t;
typedef struct mach_timebase_info  mach_timebase_info_data_t;

__BEGIN_DECLS

kern_return_t mach_timebase_info(mach_timebase_info_t info);
/* Sleep until mach_absolute_time() >= deadline. */
kern_return_t mach_wait_until(uint64_t deadline);
uint64_t      mach_absolute_time(void);          /* stops while asleep */
uint64_t      mach_approximate_time(void);
uint64_t      mach_continuous_time(void);        /* counts while asleep */
uint64_t      mach_continuous_approximate_time(void);

__END_DECLS

#endif /* _MACH_MACH_TIME_H_ */
