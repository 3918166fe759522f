/*
 * mach/vm_region.h - vm_region() information (basic, extended, top and
 * submap flavors, SM_* share modes) and
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
#include <mach/vm_param.h>

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

/* How a region's memory is shared (share_mode below). */
#define SM_COW             1   /* copy-on-write */
#define SM_PRIVATE         2
#define SM_EMPTY           3   /* no memory behind it yet */
#define SM_SHARED          4
#define SM_TRUESHARED      5   /* shared, and not copy-on-write anywhere */
#define SM_PRIVATE_ALIASED 6
#define SM_SHARED_ALIASED  7
#define SM_LARGE_PAGE      8

/* With VM_REGION_EXTENDED_INFO: report SM_SHARED for the aliased modes. */
#define VM_REGION_INFO_FLAGS_NO_ALIASED 0x1

typedef uint32_t vm32_object_id_t;

#define VM_REGION_EXTENDED_INFO 13
struct vm_region_extended_info {
	vm_prot_t      protection;
	unsigned int   user_tag;
	unsigned int   pages_resident;
	unsigned int   pages_shared_now_private;
	unsigned int   pages_swapped_out;
	unsigned int   pages_dirtied;
	unsigned int   ref_count;
	unsigned short shadow_depth;
	unsigned char  external_pager;
	unsigned char  share_mode;       /* SM_* */
	unsigned int   pages_reusable;
};
typedef struct vm_region_extended_info *vm_region_extended_info_t;
typedef struct vm_region_extended_info  vm_region_extended_info_data_t;
#define VM_REGION_EXTENDED_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(vm_region_extended_info_data_t) / sizeof(natural_t)))

#define VM_REGION_TOP_INFO      12
struct vm_region_top_info {
	unsigned int  obj_id;
	unsigned int  ref_count;
	unsigned int  private_pages_resident;
	unsigned int  shared_pages_resident;
	unsigned char share_mode;        /* SM_* */
};
typedef struct vm_region_top_info *vm_region_top_info_t;
typedef struct vm_region_top_info  vm_region_top_info_data_t;
#define VM_REGION_TOP_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(vm_region_top_info_data_t) / sizeof(natural_t)))

/* vm_region_recurse(): one entry, and whether it is a submap (nesting). */
struct vm_region_submap_info {
	vm_prot_t        protection;
	vm_prot_t        max_protection;
	vm_inherit_t     inheritance;
	uint32_t         offset;
	unsigned int     user_tag;
	unsigned int     pages_resident;
	unsigned int     pages_shared_now_private;
	unsigned int     pages_swapped_out;
	unsigned int     pages_dirtied;
	unsigned int     ref_count;
	unsigned short   shadow_depth;
	unsigned char    external_pager;
	unsigned char    share_mode;
	boolean_t        is_submap;
	vm_behavior_t    behavior;
	vm32_object_id_t object_id;      /* a name for the object, not a port */
	unsigned short   user_wired_count;
};
typedef struct vm_region_submap_info *vm_region_submap_info_t;
typedef struct vm_region_submap_info  vm_region_submap_info_data_t;
#define VM_REGION_SUBMAP_INFO_COUNT \
	((mach_msg_type_number_t)(sizeof(vm_region_submap_info_data_t) / sizeof(natural_t)))

/*
 * mach_vm_region_recurse() / vm_region_recurse_64().  Older callers pass a
 * shorter count: V0 ends before pages_reusable, V1 before object_id_full.
 */
struct vm_region_submap_info_64 {
	vm_prot_t              protection;
	vm_prot_t              max_protection;
	vm_inherit_t           inheritance;
	memory_object_offset_t offset;
	unsigned int           user_tag;
	unsigned int           pages_resident;
	unsigned int           pages_shared_now_private;
	unsigned int           pages_swapped_out;
	unsigned int           pages_dirtied;
	unsigned int           ref_count;
	unsigned short         shadow_depth;
	unsigned char          external_pager;
	unsigned char          share_mode;
	boolean_t              is_submap;
	vm_behavior_t          behavior;
	vm32_object_id_t       object_id;
	unsigned short         user_wired_count;
	unsigned int           pages_reusable;
	vm_object_id_t         object_id_full;
};
typedef struct vm_region_submap_info_64 *vm_region_submap_info_64_t;
typedef struct vm_region_submap_info_64  vm_region_submap_info_data_64_t;
#define VM_REGION_SUBMAP_INFO_V2_SIZE   (sizeof(vm_region_submap_info_data_64_t))
#define VM_REGION_SUBMAP_INFO_V1_SIZE   (VM_REGION_SUBMAP_INFO_V2_SIZE - sizeof(vm_object_id_t))
#define VM_REGION_SUBMAP_INFO_V0_SIZE   (VM_REGION_SUBMAP_INFO_V1_SIZE - sizeof(unsigned int))
#define VM_REGION_SUBMAP_INFO_V2_COUNT_64 \
	((mach_msg_type_number_t)(VM_REGION_SUBMAP_INFO_V2_SIZE / sizeof(natural_t)))
#define VM_REGION_SUBMAP_INFO_V1_COUNT_64 \
	((mach_msg_type_number_t)(VM_REGION_SUBMAP_INFO_V1_SIZE / sizeof(natural_t)))
#define VM_REGION_SUBMAP_INFO_V0_COUNT_64 \
	((mach_msg_type_number_t)(VM_REGION_SUBMAP_INFO_V0_SIZE / sizeof(natural_t)))
#define VM_REGION_SUBMAP_INFO_COUNT_64  VM_REGION_SUBMAP_INFO_V2_COUNT_64

struct vm_region_submap_short_info_64 {
	vm_prot_t              protection;
	vm_prot_t              max_protection;
	vm_inherit_t           inheritance;
	memory_object_offset_t offset;
	unsigned int           user_tag;
	unsigned int           ref_count;
	unsigned short         shadow_depth;
	unsigned char          external_pager;
	unsigned char          share_mode;
	boolean_t              is_submap;
	vm_behavior_t          behavior;
	vm32_object_id_t       object_id;
	unsigned short         user_wired_count;
};
typedef struct vm_region_submap_short_info_64 *vm_region_submap_short_info_64_t;
typedef struct vm_region_submap_short_info_64  vm_region_submap_short_info_data_64_t;
#define VM_REGION_SUBMAP_SHORT_INFO_COUNT_64 \
	((mach_msg_type_number_t)(sizeof(vm_region_submap_short_info_data_64_t) / sizeof(natural_t)))

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
