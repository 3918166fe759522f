/*
 * mach/vm_region.h - vm_region() information (basic flavors) and
 * vm_read_list() entries.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_VM_REGION_H_
#define _MACH_VM_REGION_H_

#include <stdint.h>
#include <mach/boolean.h>
#include <mach/message.h>
#include <mach/vm_prot.h>
#include <mach/vm_inherit.h>
#include <mach/vm_behavior.h>
#include <mach/vm_types.h>
#include <mach/memory_object_types.h>

#pragma pack(push, 4)

typedef int *vm_region_info_t;
typedef int *vm_region_info_64_t;
typedef int *vm_region_recurse_info_t;
typedef int *vm_region_recurse_info_64_t;
typedef int  vm_region_flavor_t;
typedef int  vm_region_info_data_t[1024];

#define VM_REGION_INFO_MAX      (1024)

#define VM_REGION_BASIC_INFO_64 9
struct vm_region_basic_info_64 {
	vm_prot_t              protection;
	vm_prot_t              max_protection;
	vm_inherit_t           inheritance;
	boolean_t              shared;
	boolean_t              reserved;
	memory_object_offset_t offset;
	vm_behavior_t          behavior;
	unsigned short         user_wired_count;
};
typedef struct vm_region_basic_info_64 *vm_region_basic_info_64_t;
typedef struct vm_region_basic_info_64  vm_region_basic_info_data_64_t;
#define VM_REGION_BASIC_INFO_COUNT_64 \
	((mach_msg_type_number_t)(sizeof(vm_region_basic_info_data_64_t) / sizeof(int)))

#define VM_REGION_BASIC_INFO    10
struct vm_region_basic_info {
	vm_prot_t      protection;
	vm_prot_t      max_protection;
	vm_inherit_t   inheritance;
	boolean_t      shared;
	boolean_t      reserved;
	uint32_t       offset;
	vm_behavior_t  behavior;
	unsigned short user_wired_count;
};
typedef struct vm_region_basic_info *vm_region_basic_info_t;
typedef struct vm_region_basic_info  vm_region_basic_info_data_t;
#define VM_REGION_BASIC_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(vm_region_basic_info_data_t) / sizeof(int)))

#pragma pack(pop)

/* mach_vm_page_info() flavors. */
typedef int *vm_page_info_t;
typedef int  vm_page_info_data_t[];
typedef int  vm_page_info_flavor_t;

#define VM_PAGE_INFO_BASIC      1
struct vm_page_info_basic {
	int                    disposition;
	int                    ref_count;
	vm_object_id_t         object_id;
	memory_object_offset_t offset;
	int                    depth;
	int                    __pad;   /* pad to 64-bit boundary */
};
typedef struct vm_page_info_basic *vm_page_info_basic_t;
typedef struct vm_page_info_basic  vm_page_info_basic_data_t;
#define VM_PAGE_INFO_BASIC_COUNT \
	((mach_msg_type_number_t)(sizeof(vm_page_info_basic_data_t) / sizeof(int)))

/* vm_read_list / mach_vm_read_list entries. */
#define VM_MAP_ENTRY_MAX        (256)

struct mach_vm_read_entry {
	mach_vm_address_t address;
	mach_vm_size_t    size;
};
struct vm_read_entry {
	vm_address_t address;
	vm_size_t    size;
};
typedef struct mach_vm_read_entry mach_vm_read_entry_t[VM_MAP_ENTRY_MAX];
typedef struct vm_read_entry      vm_read_entry_t[VM_MAP_ENTRY_MAX];

#endif /* _MACH_VM_REGION_H_ */
