/*
 * mach/processor_info.h - processor / processor set information (subset).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_PROCESSOR_INFO_H_
#define _MACH_PROCESSOR_INFO_H_

#include <mach/message.h>
#include <mach/machine.h>

typedef integer_t *processor_info_t;
typedef integer_t *processor_info_array_t;
#define PROCESSOR_INFO_MAX      (1024)
typedef integer_t  processor_info_data_t[PROCESSOR_INFO_MAX];

typedef integer_t *processor_set_info_t;
#define PROCESSOR_SET_INFO_MAX  (1024)
typedef integer_t  processor_set_info_data_t[PROCESSOR_SET_INFO_MAX];

typedef int processor_flavor_t;
#define PROCESSOR_BASIC_INFO    1
#define PROCESSOR_CPU_LOAD_INFO 2
#define PROCESSOR_PM_REGS_INFO  0x10000001
#define PROCESSOR_TEMPERATURE   0x10000002

struct processor_basic_info {
	cpu_type_t    cpu_type;
	cpu_subtype_t cpu_subtype;
	boolean_t     running;
	int           slot_num;
	boolean_t     is_master;
};
typedef struct processor_basic_info  processor_basic_info_data_t;
typedef struct processor_basic_info *processor_basic_info_t;
#define PROCESSOR_BASIC_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(processor_basic_info_data_t) / sizeof(natural_t)))

struct processor_cpu_load_info {
	unsigned int cpu_ticks[CPU_STATE_MAX];
};
typedef struct processor_cpu_load_info  processor_cpu_load_info_data_t;
typedef struct processor_cpu_load_info *processor_cpu_load_info_t;
#define PROCESSOR_CPU_LOAD_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(processor_cpu_load_info_data_t) / sizeof(natural_t)))

typedef int processor_set_flavor_t;
#define PROCESSOR_SET_BASIC_INFO 5
struct processor_set_basic_info {
	int processor_count;
	int default_policy;
};
typedef struct processor_set_basic_info  processor_set_basic_info_data_t;
typedef struct processor_set_basic_info *processor_set_basic_info_t;
#define PROCESSOR_SET_BASIC_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(processor_set_basic_info_data_t) / sizeof(natural_t)))

#define PROCESSOR_SET_LOAD_INFO 4
struct processor_set_load_info {
	int       task_count;
	int       thread_count;
	integer_t load_average;  /* scaled by LOAD_SCALE */
	integer_t mach_factor;   /* scaled by LOAD_SCALE */
};
typedef struct processor_set_load_info  processor_set_load_info_data_t;
typedef struct processor_set_load_info *processor_set_load_info_t;
#define PROCESSOR_SET_LOAD_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(processor_set_load_info_data_t) / sizeof(natural_t)))

#endif /* _MACH_PROCESSOR_INFO_H_ */
