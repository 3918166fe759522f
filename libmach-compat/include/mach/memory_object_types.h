/*
 * mach/memory_object_types.h - types of the external memory management
 * interface (memory_object.defs, memory_object_control.defs).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MEMORY_OBJECT_TYPES_H_
#define _MACH_MEMORY_OBJECT_TYPES_H_

#include <mach/port.h>
#include <mach/message.h>
#include <mach/vm_prot.h>
#include <mach/vm_sync.h>
#include <mach/vm_types.h>
#include <mach/machine/vm_types.h>

#define VM_64_BIT_DATA_OBJECTS

typedef unsigned long long memory_object_offset_t;
typedef unsigned long long memory_object_size_t;
typedef natural_t          memory_object_cluster_size_t;
typedef natural_t         *memory_object_fault_info_t;   /* opaque, 8 bytes */

typedef unsigned long long vm_object_id_t;

/* In user space these are all ports. */
typedef mach_port_t        memory_object_t;          /* pager's object port */
typedef mach_port_t        memory_object_control_t;  /* kernel's control port */
typedef memory_object_t   *memory_object_array_t;
typedef mach_port_t        memory_object_name_t;     /* vm_region() name */
typedef mach_port_t        memory_object_default_t;  /* default pager */

/* Universal page lists, named by the kernel-mode memory_object_control
 * interface (upl_t itself is in <mach/vm_types.h>). */
typedef uint32_t           upl_size_t;
typedef uint32_t           upl_offset_t;
typedef struct upl_page_info {
  uint32_t phys_addr;      /* page number */
  uint32_t flags;          /* state bits */
} upl_page_info_t;
typedef upl_page_info_t   *upl_page_info_array_t;

#define MEMORY_OBJECT_NULL          ((memory_object_t) 0)
#define MEMORY_OBJECT_CONTROL_NULL  ((memory_object_control_t) 0)
#define MEMORY_OBJECT_NAME_NULL     ((memory_object_name_t) 0)
#define MEMORY_OBJECT_DEFAULT_NULL  ((memory_object_default_t) 0)

/* How the manager handles copies. */
typedef int memory_object_copy_strategy_t;
#define MEMORY_OBJECT_COPY_NONE         0   /* no special support */
#define MEMORY_OBJECT_COPY_CALL         1   /* ask the manager */
#define MEMORY_OBJECT_COPY_DELAY        2   /* data never changes externally */
#define MEMORY_OBJECT_COPY_TEMPORARY    3
#define MEMORY_OBJECT_COPY_SYMMETRIC    4
#define MEMORY_OBJECT_COPY_INVALID      5
#define MEMORY_OBJECT_COPY_DELAY_FORK   6

/* Which pages lock_request returns to the manager. */
typedef int memory_object_return_t;
#define MEMORY_OBJECT_RETURN_NONE       0
#define MEMORY_OBJECT_RETURN_DIRTY      1
#define MEMORY_OBJECT_RETURN_ALL        2   /* dirty and precious */
#define MEMORY_OBJECT_RETURN_ANYTHING   3   /* any resident page */

/* lock_request flags. */
#define MEMORY_OBJECT_DATA_FLUSH        0x1
#define MEMORY_OBJECT_DATA_NO_CHANGE    0x2
#define MEMORY_OBJECT_DATA_PURGE        0x4
#define MEMORY_OBJECT_COPY_SYNC         0x8
#define MEMORY_OBJECT_DATA_SYNC         0x10
#define MEMORY_OBJECT_IO_SYNC           0x20
#define MEMORY_OBJECT_DATA_FLUSH_ALL    0x40

/* Attribute flavors. */
#define MEMORY_OBJECT_INFO_MAX          (1024)
typedef int *memory_object_info_t;
typedef int  memory_object_flavor_t;
typedef int  memory_object_info_data_t[MEMORY_OBJECT_INFO_MAX];

#define MEMORY_OBJECT_PERFORMANCE_INFO  11
#define MEMORY_OBJECT_ATTRIBUTE_INFO    14
#define MEMORY_OBJECT_BEHAVIOR_INFO     15

struct memory_object_perf_info {
	memory_object_cluster_size_t  cluster_size;
	boolean_t                     may_cache;
};

struct memory_object_attr_info {
	memory_object_copy_strategy_t copy_strategy;
	memory_object_cluster_size_t  cluster_size;
	boolean_t                     may_cache_object;
	boolean_t                     temporary;
};

struct memory_object_behave_info {
	memory_object_copy_strategy_t copy_strategy;
	boolean_t                     temporary;
	boolean_t                     invalidate;
	boolean_t                     silent_overwrite;
	boolean_t                     advisory_pageout;
};

typedef struct memory_object_behave_info *memory_object_behave_info_t;
typedef struct memory_object_behave_info  memory_object_behave_info_data_t;
typedef struct memory_object_perf_info   *memory_object_perf_info_t;
typedef struct memory_object_perf_info    memory_object_perf_info_data_t;
typedef struct memory_object_attr_info   *memory_object_attr_info_t;
typedef struct memory_object_attr_info    memory_object_attr_info_data_t;

#define MEMORY_OBJECT_BEHAVE_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(memory_object_behave_info_data_t) / sizeof(int)))
#define MEMORY_OBJECT_PERF_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(memory_object_perf_info_data_t) / sizeof(int)))
#define MEMORY_OBJECT_ATTR_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(memory_object_attr_info_data_t) / sizeof(int)))

/* memory_object_release_name options. */
#define MEMORY_OBJECT_TERMINATE_IDLE    0x1
#define MEMORY_OBJECT_RESPECT_CACHE     0x2
#define MEMORY_OBJECT_RELEASE_NO_OP     0x4

/* mach_make_memory_entry flags (high bits; low bits are vm_prot_t). */
#define MAP_MEM_NOOP                    0
#define MAP_MEM_COPYBACK                1
#define MAP_MEM_IO                      2
#define MAP_MEM_WTHRU                   3
#define MAP_MEM_WCOMB                   4
#define MAP_MEM_INNERWBACK              5
#define MAP_MEM_POSTED                  6
#define MAP_MEM_RT                      7
#define MAP_MEM_POSTED_REORDERED        8
#define MAP_MEM_POSTED_COMBINED_REORDERED 9

#define GET_MAP_MEM(flags)  ((((unsigned int)(flags)) >> 24) & 0xFF)
#define SET_MAP_MEM(caching, flags) \
	((flags) = ((((unsigned int)(caching)) << 24) & 0xFF000000) | ((flags) & 0xFFFFFF));

#define MAP_MEM_LEDGER_TAGGED           0x002000
#define MAP_MEM_PURGABLE_KERNEL_ONLY    0x004000
#define MAP_MEM_GRAB_SECLUDED           0x008000
#define MAP_MEM_ONLY                    0x010000
#define MAP_MEM_NAMED_CREATE            0x020000  /* create a new object */
#define MAP_MEM_PURGABLE                0x040000
#define MAP_MEM_NAMED_REUSE             0x080000
#define MAP_MEM_USE_DATA_ADDR           0x100000
#define MAP_MEM_VM_COPY                 0x200000
#define MAP_MEM_VM_SHARE                0x400000
#define MAP_MEM_4K_DATA_ADDR            0x800000

#define MAP_MEM_FLAGS_MASK              0x00FFFF00
#define MAP_MEM_FLAGS_USER \
	(MAP_MEM_PURGABLE_KERNEL_ONLY | MAP_MEM_GRAB_SECLUDED | MAP_MEM_ONLY | \
	 MAP_MEM_NAMED_CREATE | MAP_MEM_PURGABLE | MAP_MEM_NAMED_REUSE | \
	 MAP_MEM_USE_DATA_ADDR | MAP_MEM_VM_COPY | MAP_MEM_VM_SHARE | \
	 MAP_MEM_LEDGER_TAGGED | MAP_MEM_4K_DATA_ADDR)
#define MAP_MEM_FLAGS_ALL               (MAP_MEM_FLAGS_USER)

#endif /* _MACH_MEMORY_OBJECT_TYPES_H_ */
