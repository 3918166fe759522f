/*
 * mach/std_types.h - the standard Mach types most interfaces need.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_STD_TYPES_H_
#define _MACH_STD_TYPES_H_

#include <stdint.h>
#include <sys/types.h>
#include <mach/boolean.h>
#include <mach/kern_return.h>
#include <mach/port.h>
#include <mach/machine/vm_types.h>

#endif /* _MACH_STD_TYPES_H_ */
