/*
 * mach/policy.h - scheduling policy identifiers (subset).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_POLICY_H_
#define _MACH_POLICY_H_

#include <mach/machine/vm_types.h>

typedef int        policy_t;
typedef integer_t *policy_info_t;
typedef integer_t *policy_base_t;
typedef integer_t *policy_limit_t;

#define POLICY_NULL         0
#define POLICY_TIMESHARE    1
#define POLICY_RR           2
#define POLICY_FIFO         4

#endif /* _MACH_POLICY_H_ */
