/*
 * mach/task_inspect.h - task_inspect() flavors.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_TASK_INSPECT_H_
#define _MACH_TASK_INSPECT_H_

#include <stdint.h>
#include <mach/message.h>

typedef natural_t  task_inspect_flavor_t;
typedef integer_t *task_inspect_info_t;

#define TASK_INSPECT_BASIC_COUNTS 1
struct task_inspect_basic_counts {
	uint64_t instructions;
	uint64_t cycles;
};
typedef struct task_inspect_basic_counts  task_inspect_basic_counts_data_t;
typedef struct task_inspect_basic_counts *task_inspect_basic_counts_t;
#define TASK_INSPECT_BASIC_COUNTS_COUNT \
	((mach_msg_type_number_t)(sizeof(task_inspect_basic_counts_data_t) / sizeof(natural_t)))

#endif /* _MACH_TASK_INSPECT_H_ */
