/*
 * mach/task_info.h - task_info() flavors (a common subset).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_TASK_INFO_H_
#define _MACH_TASK_INFO_H_

#include <stdint.h>
#include <mach/message.h>
#include <mach/machine/vm_types.h>
#include <mach/time_value.h>
#include <mach/policy.h>
#include <mach/vm_purgable.h>

typedef natural_t  task_flavor_t;
typedef integer_t *task_info_t;

#define TASK_INFO_MAX   (1024)
typedef integer_t task_info_data_t[TASK_INFO_MAX];

#pragma pack(push, 4)

#define TASK_BASIC_INFO_32      4
#define TASK_BASIC_INFO_64      5
#define TASK_BASIC_INFO         TASK_BASIC_INFO_64  /* LP64 */

struct task_basic_info_64 {
	integer_t      suspend_count;
	mach_vm_size_t virtual_size;
	mach_vm_size_t resident_size;
	time_value_t   user_time;
	time_value_t   system_time;
	policy_t       policy;
};
typedef struct task_basic_info_64  task_basic_info_64_data_t;
typedef struct task_basic_info_64 *task_basic_info_64_t;
typedef task_basic_info_64_data_t  task_basic_info_data_t;
typedef task_basic_info_64_t       task_basic_info_t;
#define TASK_BASIC_INFO_64_COUNT \
	((mach_msg_type_number_t)(sizeof(task_basic_info_64_data_t) / sizeof(natural_t)))
#define TASK_BASIC_INFO_COUNT   TASK_BASIC_INFO_64_COUNT

#define TASK_EVENTS_INFO        2
struct task_events_info {
	integer_t faults;
	integer_t pageins;
	integer_t cow_faults;
	integer_t messages_sent;
	integer_t messages_received;
	integer_t syscalls_mach;
	integer_t syscalls_unix;
	integer_t csw;
};
typedef struct task_events_info  task_events_info_data_t;
typedef struct task_events_info *task_events_info_t;
#define TASK_EVENTS_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(task_events_info_data_t) / sizeof(natural_t)))

#define TASK_THREAD_TIMES_INFO  3
struct task_thread_times_info {
	time_value_t user_time;
	time_value_t system_time;
};
typedef struct task_thread_times_info  task_thread_times_info_data_t;
typedef struct task_thread_times_info *task_thread_times_info_t;
#define TASK_THREAD_TIMES_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(task_thread_times_info_data_t) / sizeof(natural_t)))

#define TASK_SECURITY_TOKEN     13
#define TASK_SECURITY_TOKEN_COUNT \
	((mach_msg_type_number_t)(sizeof(security_token_t) / sizeof(natural_t)))

#define TASK_AUDIT_TOKEN        15
#define TASK_AUDIT_TOKEN_COUNT  (sizeof(audit_token_t) / sizeof(natural_t))

#define TASK_DYLD_INFO          17

#define MACH_TASK_BASIC_INFO    20
struct mach_task_basic_info {
	mach_vm_size_t virtual_size;
	mach_vm_size_t resident_size;
	mach_vm_size_t resident_size_max;
	time_value_t   user_time;
	time_value_t   system_time;
	policy_t       policy;
	integer_t      suspend_count;
};
typedef struct mach_task_basic_info  mach_task_basic_info_data_t;
typedef struct mach_task_basic_info *mach_task_basic_info_t;
#define MACH_TASK_BASIC_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(mach_task_basic_info_data_t) / sizeof(natural_t)))

/* task_purgable_info() record. */
typedef struct vm_purgeable_info task_purgable_info_t;

/* EXC_GUARD and corpse behaviors (task_set_exc_guard_behavior & co.). */
typedef uint32_t task_exc_guard_behavior_t;
typedef uint32_t task_corpse_forking_behavior_t;

#pragma pack(pop)

#endif /* _MACH_TASK_INFO_H_ */
