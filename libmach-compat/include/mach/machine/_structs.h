/*
 * mach/machine/_structs.h - the register-state structs of this machine
 * (x86_64): see <mach/i386/_structs.h>.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACHINE__STRUCTS_H_
#define _MACH_MACHINE__STRUCTS_H_

#include <mach/i386/_structs.h>

#endif /* _MACH_MACHINE__STRUCTS_H_ */
