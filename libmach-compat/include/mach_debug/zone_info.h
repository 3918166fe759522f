/*
 * mach_debug/zone_info.h - kernel zone allocator statistics
 * (mach_zone_info, task_zone_info, mach_memory_info).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_DEBUG_ZONE_INFO_H_
#define _MACH_DEBUG_ZONE_INFO_H_

#include <stdint.h>
#include <mach/boolean.h>
#include <mach/machine/vm_types.h>

/* Legacy interface (zone_info). */
#define ZONE_NAME_MAX_LEN 80

typedef struct zone_name {
	char zn_name[ZONE_NAME_MAX_LEN];
} zone_name_t;

typedef zone_name_t *zone_name_array_t;

typedef struct zone_info {
	integer_t zi_count;             /* number of elements used now */
	vm_size_t zi_cur_size;          /* current memory utilization */
	vm_size_t zi_max_size;          /* how large can this zone grow */
	vm_size_t zi_elem_size;         /* size of an element */
	vm_size_t zi_alloc_size;        /* size used for more memory */
	integer_t zi_pageable;          /* zone pageable? */
	integer_t zi_sleepable;         /* sleep if empty? */
	integer_t zi_exhaustible;       /* merely return if empty? */
	integer_t zi_collectable;       /* garbage collect elements? */
} zone_info_t;

typedef zone_info_t *zone_info_array_t;

/* The interface of mach_zone_info and mach_memory_info. */
#define MACH_ZONE_NAME_MAX_LEN 80

typedef struct mach_zone_name {
	char mzn_name[MACH_ZONE_NAME_MAX_LEN];
} mach_zone_name_t;

typedef mach_zone_name_t *mach_zone_name_array_t;

typedef struct mach_zone_info_data {
	uint64_t mzi_count;             /* count of elements in use */
	uint64_t mzi_cur_size;          /* current memory utilization */
	uint64_t mzi_max_size;          /* how large can this zone grow */
	uint64_t mzi_elem_size;         /* size of an element */
	uint64_t mzi_alloc_size;        /* size used for more memory */
	uint64_t mzi_sum_size;          /* sum of all allocs (life of zone) */
	uint64_t mzi_exhaustible;       /* merely return if empty? */
	uint64_t mzi_collectable;       /* garbage collect elements? and how much? */
} mach_zone_info_t;

typedef mach_zone_info_t *mach_zone_info_array_t;

typedef struct task_zone_info_data {
	uint64_t tzi_count;             /* count of elements in use */
	uint64_t tzi_cur_size;          /* current memory utilization */
	uint64_t tzi_max_size;          /* how large can this zone grow */
	uint64_t tzi_elem_size;         /* size of an element */
	uint64_t tzi_alloc_size;        /* size used for more memory */
	uint64_t tzi_sum_size;          /* sum of all allocs (life of zone) */
	uint64_t tzi_exhaustible;       /* merely return if empty? */
	uint64_t tzi_collectable;       /* garbage collect elements? */
	uint64_t tzi_caller_acct;       /* charged to the caller's task? */
	uint64_t tzi_task_alloc;        /* sum of all allocs by this task */
	uint64_t tzi_task_free;         /* sum of all frees by this task */
} task_zone_info_t;

typedef task_zone_info_t *task_zone_info_array_t;

#define MACH_MEMORY_INFO_NAME_MAX_LEN 64

typedef struct mach_memory_info {
	uint64_t flags;
	uint64_t site;
	uint64_t size;
	uint64_t free;
	uint64_t largest;
	uint64_t collectable_bytes;
	uint64_t mapped;
	uint64_t peak;
	uint16_t tag;
	uint16_t zone;
	uint16_t _resvA[2];
	uint64_t _resv[3];
	char name[MACH_MEMORY_INFO_NAME_MAX_LEN];
} mach_memory_info_t;

typedef mach_memory_info_t *mach_memory_info_array_t;

#endif /* _MACH_DEBUG_ZONE_INFO_H_ */
