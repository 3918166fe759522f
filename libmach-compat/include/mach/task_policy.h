/*
 * mach/task_policy.h - task_policy_set/get flavors (subset).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_TASK_POLICY_H_
#define _MACH_TASK_POLICY_H_

#include <mach/message.h>
#include <mach/machine/vm_types.h>

typedef natural_t  task_policy_flavor_t;
typedef integer_t *task_policy_t;

#define TASK_CATEGORY_POLICY    1
#define TASK_SUPPRESSION_POLICY 3
#define TASK_POLICY_STATE       4
#define TASK_BASE_QOS_POLICY    8
#define TASK_OVERRIDE_QOS_POLICY 9
#define TASK_BASE_LATENCY_QOS_POLICY 10
#define TASK_BASE_THROUGHPUT_QOS_POLICY 11

typedef int task_role_t;
#define TASK_RENICED                    -1
#define TASK_UNSPECIFIED                0
#define TASK_FOREGROUND_APPLICATION     1
#define TASK_BACKGROUND_APPLICATION     2
#define TASK_CONTROL_APPLICATION        3
#define TASK_GRAPHICS_SERVER            4
#define TASK_THROTTLE_APPLICATION       5
#define TASK_NONUI_APPLICATION          6
#define TASK_DEFAULT_APPLICATION        7
#define TASK_DARWINBG_APPLICATION       8

struct task_category_policy {
	task_role_t role;
};
typedef struct task_category_policy  task_category_policy_data_t;
typedef struct task_category_policy *task_category_policy_t;
#define TASK_CATEGORY_POLICY_COUNT \
	((mach_msg_type_number_t)(sizeof(task_category_policy_data_t) / sizeof(integer_t)))

#endif /* _MACH_TASK_POLICY_H_ */
