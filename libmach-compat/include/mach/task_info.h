/*
 * mach/task_info.h - task_info() flavors and their records.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_TASK_INFO_H_
#define _MACH_TASK_INFO_H_

#include <stddef.h>
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
#define TASK_BASIC2_INFO_32     6
struct task_basic_info_32 {
	integer_t    suspend_count;
	natural_t    virtual_size;
	natural_t    resident_size;
	time_value_t user_time;
	time_value_t system_time;
	policy_t     policy;
};
typedef struct task_basic_info_32  task_basic_info_32_data_t;
typedef struct task_basic_info_32 *task_basic_info_32_t;
#define TASK_BASIC_INFO_32_COUNT \
	((mach_msg_type_number_t)(sizeof(task_basic_info_32_data_t) / sizeof(natural_t)))

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

#define TASK_ABSOLUTETIME_INFO  1
struct task_absolutetime_info {
	uint64_t total_user;      /* mach_absolute_time units, terminated threads included */
	uint64_t total_system;
	uint64_t threads_user;    /* live threads only */
	uint64_t threads_system;
};
typedef struct task_absolutetime_info  task_absolutetime_info_data_t;
typedef struct task_absolutetime_info *task_absolutetime_info_t;
#define TASK_ABSOLUTETIME_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(task_absolutetime_info_data_t) / sizeof(natural_t)))

#define TASK_KERNELMEMORY_INFO  7
struct task_kernelmemory_info {
	uint64_t total_palloc;
	uint64_t total_pfree;
	uint64_t total_salloc;
	uint64_t total_sfree;
};
typedef struct task_kernelmemory_info  task_kernelmemory_info_data_t;
typedef struct task_kernelmemory_info *task_kernelmemory_info_t;
#define TASK_KERNELMEMORY_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(task_kernelmemory_info_data_t) / sizeof(natural_t)))

#define TASK_AFFINITY_TAG_INFO  16
struct task_affinity_tag_info {
	integer_t set_count;
	integer_t min;
	integer_t max;
	integer_t task_count;
};
typedef struct task_affinity_tag_info  task_affinity_tag_info_data_t;
typedef struct task_affinity_tag_info *task_affinity_tag_info_t;
#define TASK_AFFINITY_TAG_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(task_affinity_tag_info_data_t) / sizeof(natural_t)))

struct task_dyld_info {
	mach_vm_address_t all_image_info_addr;
	mach_vm_size_t    all_image_info_size;
	integer_t         all_image_info_format;
};
typedef struct task_dyld_info  task_dyld_info_data_t;
typedef struct task_dyld_info *task_dyld_info_t;
#define TASK_DYLD_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(task_dyld_info_data_t) / sizeof(natural_t)))
#define TASK_LEGACY_DYLD_INFO_COUNT \
	((mach_msg_type_number_t)(offsetof(struct task_dyld_info, all_image_info_format) / sizeof(natural_t)))
#define TASK_DYLD_ALL_IMAGE_INFO_32 0
#define TASK_DYLD_ALL_IMAGE_INFO_64 1

#define TASK_POWER_INFO         21
struct task_power_info {
	uint64_t total_user;
	uint64_t total_system;
	uint64_t task_interrupt_wakeups;
	uint64_t task_platform_idle_wakeups;
	uint64_t task_timer_wakeups_bin_1;
	uint64_t task_timer_wakeups_bin_2;
};
typedef struct task_power_info  task_power_info_data_t;
typedef struct task_power_info *task_power_info_t;
#define TASK_POWER_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(task_power_info_data_t) / sizeof(natural_t)))

#define TASK_VM_INFO            22
#define TASK_VM_INFO_PURGEABLE  23
struct task_vm_info {
	mach_vm_size_t virtual_size;
	integer_t      region_count;
	integer_t      page_size;
	mach_vm_size_t resident_size;
	mach_vm_size_t resident_size_peak;
	mach_vm_size_t device;
	mach_vm_size_t device_peak;
	mach_vm_size_t internal;
	mach_vm_size_t internal_peak;
	mach_vm_size_t external;
	mach_vm_size_t external_peak;
	mach_vm_size_t reusable;
	mach_vm_size_t reusable_peak;
	mach_vm_size_t purgeable_volatile_pmap;
	mach_vm_size_t purgeable_volatile_resident;
	mach_vm_size_t purgeable_volatile_virtual;
	mach_vm_size_t compressed;
	mach_vm_size_t compressed_peak;
	mach_vm_size_t compressed_lifetime;
	/* rev1 */
	mach_vm_size_t phys_footprint;
	/* rev2 */
	mach_vm_address_t min_address;
	mach_vm_address_t max_address;
	/* rev3 */
	int64_t ledger_phys_footprint_peak;
	int64_t ledger_purgeable_nonvolatile;
	int64_t ledger_purgeable_novolatile_compressed;
	int64_t ledger_purgeable_volatile;
	int64_t ledger_purgeable_volatile_compressed;
	int64_t ledger_tag_network_nonvolatile;
	int64_t ledger_tag_network_nonvolatile_compressed;
	int64_t ledger_tag_network_volatile;
	int64_t ledger_tag_network_volatile_compressed;
	int64_t ledger_tag_media_footprint;
	int64_t ledger_tag_media_footprint_compressed;
	int64_t ledger_tag_media_nofootprint;
	int64_t ledger_tag_media_nofootprint_compressed;
	int64_t ledger_tag_graphics_footprint;
	int64_t ledger_tag_graphics_footprint_compressed;
	int64_t ledger_tag_graphics_nofootprint;
	int64_t ledger_tag_graphics_nofootprint_compressed;
	int64_t ledger_tag_neural_footprint;
	int64_t ledger_tag_neural_footprint_compressed;
	int64_t ledger_tag_neural_nofootprint;
	int64_t ledger_tag_neural_nofootprint_compressed;
	/* rev4 */
	uint64_t limit_bytes_remaining;
	/* rev5 */
	integer_t decompressions;
	/* rev6 */
	int64_t ledger_swapins;
	/* rev7 */
	int64_t ledger_tag_neural_nofootprint_total;
	int64_t ledger_tag_neural_nofootprint_peak;
};
typedef struct task_vm_info  task_vm_info_data_t;
typedef struct task_vm_info *task_vm_info_t;
#define TASK_VM_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(task_vm_info_data_t) / sizeof(natural_t)))
#define TASK_VM_INFO_REV7_COUNT TASK_VM_INFO_COUNT
#define TASK_VM_INFO_REV_COUNT_(field) \
	((mach_msg_type_number_t)(offsetof(struct task_vm_info, field) / sizeof(natural_t)))
#define TASK_VM_INFO_REV6_COUNT TASK_VM_INFO_REV_COUNT_(ledger_tag_neural_nofootprint_total)
#define TASK_VM_INFO_REV5_COUNT TASK_VM_INFO_REV_COUNT_(ledger_swapins)
#define TASK_VM_INFO_REV4_COUNT TASK_VM_INFO_REV_COUNT_(decompressions)
#define TASK_VM_INFO_REV3_COUNT TASK_VM_INFO_REV_COUNT_(limit_bytes_remaining)
#define TASK_VM_INFO_REV2_COUNT TASK_VM_INFO_REV_COUNT_(ledger_phys_footprint_peak)
#define TASK_VM_INFO_REV1_COUNT TASK_VM_INFO_REV_COUNT_(min_address)
#define TASK_VM_INFO_REV0_COUNT TASK_VM_INFO_REV_COUNT_(phys_footprint)

#define TASK_TRACE_MEMORY_INFO  24 /* obsolete */
#define TASK_WAIT_STATE_INFO    25
struct task_wait_state_info {
	uint64_t total_wait_state_time;
	uint64_t total_wait_sfi_state_time;
	uint32_t _reserved[4];
};
typedef struct task_wait_state_info  task_wait_state_info_data_t;
typedef struct task_wait_state_info *task_wait_state_info_t;
#define TASK_WAIT_STATE_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(task_wait_state_info_data_t) / sizeof(natural_t)))

#define TASK_POWER_INFO_V2      26
typedef struct {
	uint64_t task_gpu_utilisation;
	uint64_t task_gpu_stat_reserved0;
	uint64_t task_gpu_stat_reserved1;
	uint64_t task_gpu_stat_reserved2;
} gpu_energy_data;
typedef gpu_energy_data *gpu_energy_data_t;
struct task_power_info_v2 {
	task_power_info_data_t cpu_energy;
	gpu_energy_data        gpu_energy;
	uint64_t               task_ptime;
	uint64_t               task_pset_switches;
};
typedef struct task_power_info_v2  task_power_info_v2_data_t;
typedef struct task_power_info_v2 *task_power_info_v2_t;
#define TASK_POWER_INFO_V2_COUNT_OLD \
	((mach_msg_type_number_t)((sizeof(task_power_info_v2_data_t) - sizeof(uint64_t) * 2) / sizeof(natural_t)))
#define TASK_POWER_INFO_V2_COUNT \
	((mach_msg_type_number_t)(sizeof(task_power_info_v2_data_t) / sizeof(natural_t)))

#define TASK_VM_INFO_PURGEABLE_ACCOUNT 27

#define TASK_FLAGS_INFO         28
struct task_flags_info {
	uint32_t flags;
};
typedef struct task_flags_info  task_flags_info_data_t;
typedef struct task_flags_info *task_flags_info_t;
#define TASK_FLAGS_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(task_flags_info_data_t) / sizeof(natural_t)))
#define TF_LP64     0x00000001 /* 64-bit addressing */
#define TF_64B_DATA 0x00000002 /* 64-bit data registers */

#define TASK_DEBUG_INFO_INTERNAL 29

/* task_purgable_info() record. */
typedef struct vm_purgeable_info task_purgable_info_t;

/* EXC_GUARD and corpse behaviors (task_set_exc_guard_behavior & co.). */
typedef uint32_t task_exc_guard_behavior_t;
typedef uint32_t task_corpse_forking_behavior_t;
#define TASK_EXC_GUARD_NONE       0x00
#define TASK_EXC_GUARD_VM_DELIVER 0x01 /* deliver virtual memory EXC_GUARD exceptions */
#define TASK_EXC_GUARD_VM_ONCE    0x02 /* deliver them only once */
#define TASK_EXC_GUARD_VM_CORPSE  0x04 /* deliver them via a forked corpse */
#define TASK_EXC_GUARD_VM_FATAL   0x08 /* make them fatal */
#define TASK_EXC_GUARD_VM_ALL     0x0f
#define TASK_EXC_GUARD_MP_DELIVER 0x10 /* the same for mach port EXC_GUARD exceptions */
#define TASK_EXC_GUARD_MP_ONCE    0x20
#define TASK_EXC_GUARD_MP_CORPSE  0x40
#define TASK_EXC_GUARD_MP_FATAL   0x80
#define TASK_EXC_GUARD_MP_ALL     0xf0
#define TASK_EXC_GUARD_ALL        0xff

#pragma pack(pop)

#endif /* _MACH_TASK_INFO_H_ */
