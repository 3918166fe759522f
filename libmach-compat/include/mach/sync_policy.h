/*
 * mach/sync_policy.h - wake-up order for semaphores.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_SYNC_POLICY_H_
#define _MACH_SYNC_POLICY_H_

typedef int sync_policy_t;

#define SYNC_POLICY_FIFO            0x0
#define SYNC_POLICY_FIXED_PRIORITY  0x1
#define SYNC_POLICY_REVERSED        0x2
#define SYNC_POLICY_ORDER_MASK      0x3
#define SYNC_POLICY_LIFO            (SYNC_POLICY_FIFO | SYNC_POLICY_REVERSED)

#define SYNC_POLICY_MAX             0x7

#endif /* _MACH_SYNC_POLICY_H_ */
