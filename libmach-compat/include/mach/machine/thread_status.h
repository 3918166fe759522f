/*
 * mach/machine/thread_status.h - the thread states of this machine
 * (x86_64): see <mach/i386/thread_status.h>.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACHINE_THREAD_STATUS_H_
#define _MACH_MACHINE_THREAD_STATUS_H_

#include <mach/i386/thread_status.h>

#endif /* _MACH_MACHINE_THREAD_STATUS_H_ */
