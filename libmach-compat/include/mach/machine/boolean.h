/*
 * mach/machine/boolean.h - boolean_t as macOS x86_64 user space has it.
 *
 * XNU's i386/boolean.h: unsigned int for x86_64 user space, int elsewhere
 * (arm64 uses int).  Both are 4 bytes.  SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACHINE_BOOLEAN_H_
#define _MACH_MACHINE_BOOLEAN_H_

#if defined(__x86_64__)
typedef unsigned int boolean_t;
#else
typedef int boolean_t;
#endif

#endif /* _MACH_MACHINE_BOOLEAN_H_ */
