/*
 * mach/vm_statistics.h - VM allocation flags, memory tags and the
 * host_statistics(HOST_VM_INFO) record.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_VM_STATISTICS_H_
#define _MACH_VM_STATISTICS_H_

#include <stdint.h>
#include <mach/machine/vm_types.h>

/* Legacy 32-bit counters (HOST_VM_INFO). 60 bytes. */
struct vm_statistics {
	natural_t free_count;
	natural_t active_count;
	natural_t inactive_count;
	natural_t wire_count;
	natural_t zero_fill_count;
	natural_t reactivations;
	natural_t pageins;
	natural_t pageouts;
	natural_t faults;
	natural_t cow_faults;
	natural_t lookups;
	natural_t hits;
	natural_t purgeable_count;
	natural_t purges;
	natural_t speculative_count;
};
typedef struct vm_statistics *vm_statistics_t;
typedef struct vm_statistics  vm_statistics_data_t;

/* 64-bit counters (host_statistics64 HOST_VM_INFO64). 152 bytes, Apple's
 * layout: revision 0 ends at speculative_count, revision 1 adds the
 * compressor and swap counters. */
struct vm_statistics64 {
	natural_t free_count;
	natural_t active_count;
	natural_t inactive_count;
	natural_t wire_count;
	uint64_t  zero_fill_count;
	uint64_t  reactivations;
	uint64_t  pageins;
	uint64_t  pageouts;
	uint64_t  faults;
	uint64_t  cow_faults;
	uint64_t  lookups;
	uint64_t  hits;
	uint64_t  purges;
	natural_t purgeable_count;
	natural_t speculative_count;
	/* revision 1 */
	uint64_t  decompressions;
	uint64_t  compressions;
	uint64_t  swapins;
	uint64_t  swapouts;
	natural_t compressor_page_count;
	natural_t throttled_count;
	natural_t external_page_count;
	natural_t internal_page_count;
	uint64_t  total_uncompressed_pages_in_compressor;
} __attribute__((aligned(8)));
typedef struct vm_statistics64 *vm_statistics64_t;
typedef struct vm_statistics64  vm_statistics64_data_t;

/* host_statistics64 HOST_EXTMOD_INFO64. 48 bytes. */
struct vm_extmod_statistics {
	int64_t task_for_pid_count;
	int64_t task_for_pid_caller_count;
	int64_t thread_creation_count;
	int64_t thread_creation_caller_count;
	int64_t thread_set_state_count;
	int64_t thread_set_state_caller_count;
} __attribute__((aligned(8)));
typedef struct vm_extmod_statistics *vm_extmod_statistics_t;
typedef struct vm_extmod_statistics  vm_extmod_statistics_data_t;

#define VM_STATISTICS_TRUNCATE_TO_32_BIT(value) \
	((uint32_t)(((value) > UINT32_MAX) ? UINT32_MAX : (value)))

/* ---- vm_allocate / vm_map flags ---------------------------------------- */

#define VM_FLAGS_FIXED                  0x00000000
#define VM_FLAGS_ANYWHERE               0x00000001
#define VM_FLAGS_PURGABLE               0x00000002
#define VM_FLAGS_4GB_CHUNK              0x00000004
#define VM_FLAGS_RANDOM_ADDR            0x00000008
#define VM_FLAGS_NO_CACHE               0x00000010
#define VM_FLAGS_RESILIENT_CODESIGN     0x00000020
#define VM_FLAGS_RESILIENT_MEDIA        0x00000040
#define VM_FLAGS_PERMANENT              0x00000080
#define VM_FLAGS_TPRO                   0x00001000
#define VM_FLAGS_OVERWRITE              0x00004000  /* replace existing mappings */
#define VM_FLAGS_SUPERPAGE_MASK         0x00070000
#define VM_FLAGS_RETURN_DATA_ADDR       0x00100000
#define VM_FLAGS_RETURN_4K_DATA_ADDR    0x00800000
#define VM_FLAGS_ALIAS_MASK             0xFF000000

#define VM_GET_FLAGS_ALIAS(flags, alias) \
	(alias) = (((flags) >> 24) & 0xff)
#define VM_SET_FLAGS_ALIAS(flags, alias) \
	(flags) = (((flags) & ~VM_FLAGS_ALIAS_MASK) | \
	           (((alias) & ~VM_FLAGS_ALIAS_MASK) << 24))

#define VM_FLAGS_HW                     (VM_FLAGS_TPRO)

/* Flags user space may pass to vm_allocate/mach_vm_allocate. */
#define VM_FLAGS_USER_ALLOCATE \
	(VM_FLAGS_FIXED | VM_FLAGS_ANYWHERE | VM_FLAGS_PURGABLE | \
	 VM_FLAGS_4GB_CHUNK | VM_FLAGS_RANDOM_ADDR | VM_FLAGS_NO_CACHE | \
	 VM_FLAGS_PERMANENT | VM_FLAGS_OVERWRITE | VM_FLAGS_SUPERPAGE_MASK | \
	 VM_FLAGS_HW | VM_FLAGS_ALIAS_MASK)
#define VM_FLAGS_USER_MAP \
	(VM_FLAGS_USER_ALLOCATE | VM_FLAGS_RETURN_4K_DATA_ADDR | VM_FLAGS_RETURN_DATA_ADDR)
/* What vm_remap()/mach_vm_remap() accept. */
#define VM_FLAGS_USER_REMAP \
	(VM_FLAGS_FIXED | VM_FLAGS_ANYWHERE | VM_FLAGS_RANDOM_ADDR | \
	 VM_FLAGS_OVERWRITE | VM_FLAGS_RETURN_DATA_ADDR | \
	 VM_FLAGS_RESILIENT_CODESIGN | VM_FLAGS_RESILIENT_MEDIA)

#define VM_FLAGS_SUPERPAGE_SHIFT        16
#define SUPERPAGE_NONE                  0
#define SUPERPAGE_SIZE_ANY              1
#define VM_FLAGS_SUPERPAGE_NONE         (SUPERPAGE_NONE << VM_FLAGS_SUPERPAGE_SHIFT)
#define VM_FLAGS_SUPERPAGE_SIZE_ANY     (SUPERPAGE_SIZE_ANY << VM_FLAGS_SUPERPAGE_SHIFT)
#define SUPERPAGE_SIZE_2MB              2
#define VM_FLAGS_SUPERPAGE_SIZE_2MB     (SUPERPAGE_SIZE_2MB << VM_FLAGS_SUPERPAGE_SHIFT)

/* Memory tags (VM_MAKE_TAG(VM_MEMORY_...) in the alias byte); a few. */
#define VM_MEMORY_MALLOC                1
#define VM_MEMORY_MALLOC_SMALL          2
#define VM_MEMORY_MALLOC_LARGE          3
#define VM_MEMORY_MALLOC_HUGE           4
#define VM_MEMORY_SBRK                  5
#define VM_MEMORY_ANALYSIS_TOOL         10
#define VM_MEMORY_MACH_MSG              20
#define VM_MEMORY_IOKIT                 21
#define VM_MEMORY_STACK                 30
#define VM_MEMORY_GUARD                 31
#define VM_MEMORY_SHARED_PMAP           32
#define VM_MEMORY_DYLIB                 33
#define VM_MEMORY_APPLICATION_SPECIFIC_1 240
#define VM_MEMORY_APPLICATION_SPECIFIC_16 255

#define VM_MAKE_TAG(tag)                ((tag) << 24)

#endif /* _MACH_VM_STATISTICS_H_ */
