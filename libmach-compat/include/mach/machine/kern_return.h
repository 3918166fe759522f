/*
 * mach/machine/kern_return.h - kern_return_t (32-bit signed on x86_64).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACHINE_KERN_RETURN_H_
#define _MACH_MACHINE_KERN_RETURN_H_

typedef int kern_return_t;

#endif /* _MACH_MACHINE_KERN_RETURN_H_ */
