/*
 * mach_debug/vm_info.h - VM region and object information
 * (mach_vm_region_info and friends).  Packed to 4 bytes, as on macOS.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_DEBUG_VM_INFO_H_
#define _MACH_DEBUG_VM_INFO_H_

#include <mach/boolean.h>
#include <mach/machine/vm_types.h>
#include <mach/memory_object_types.h>
#include <mach/vm_inherit.h>
#include <mach/vm_prot.h>

#pragma pack(push, 4)

typedef struct mach_vm_info_region {
	mach_vm_offset_t vir_start;     /* start of region */
	mach_vm_offset_t vir_end;       /* end of region */
	mach_vm_offset_t vir_object;    /* the mapped object */
	memory_object_offset_t vir_offset; /* offset into object */
	boolean_t vir_needs_copy;       /* does object need to be copied? */
	vm_prot_t vir_protection;       /* protection code */
	vm_prot_t vir_max_protection;   /* maximum protection */
	vm_inherit_t vir_inheritance;   /* inheritance */
	natural_t vir_wired_count;      /* number of times wired */
	natural_t vir_user_wired_count; /* number of times user has wired */
} mach_vm_info_region_t;

typedef struct vm_info_region_64 {
	natural_t vir_start;
	natural_t vir_end;
	natural_t vir_object;
	memory_object_offset_t vir_offset;
	boolean_t vir_needs_copy;
	vm_prot_t vir_protection;
	vm_prot_t vir_max_protection;
	vm_inherit_t vir_inheritance;
	natural_t vir_wired_count;
	natural_t vir_user_wired_count;
} vm_info_region_64_t;

typedef struct vm_info_region {
	natural_t vir_start;
	natural_t vir_end;
	natural_t vir_object;
	natural_t vir_offset;
	boolean_t vir_needs_copy;
	vm_prot_t vir_protection;
	vm_prot_t vir_max_protection;
	vm_inherit_t vir_inheritance;
	natural_t vir_wired_count;
	natural_t vir_user_wired_count;
} vm_info_region_t;

typedef struct vm_info_object {
	natural_t vio_object;           /* this object */
	natural_t vio_size;             /* object size (valid if internal) */
	unsigned int vio_ref_count;     /* number of references */
	unsigned int vio_resident_page_count; /* number of resident pages */
	unsigned int vio_absent_count;  /* number requested but not filled */
	natural_t vio_copy;             /* copy object */
	natural_t vio_shadow;           /* shadow object */
	natural_t vio_shadow_offset;    /* offset into shadow object */
	natural_t vio_paging_offset;    /* offset into memory object */
	memory_object_copy_strategy_t vio_copy_strategy; /* how to handle data copy */
	natural_t vio_last_alloc;       /* offset of last allocation */
	/* many random attributes */
	unsigned int vio_paging_in_progress;
	boolean_t vio_pager_created;
	boolean_t vio_pager_initialized;
	boolean_t vio_pager_ready;
	boolean_t vio_can_persist;
	boolean_t vio_internal;
	boolean_t vio_temporary;
	boolean_t vio_alive;
	boolean_t vio_purgable;
	boolean_t vio_purgable_volatile;
} vm_info_object_t;

#pragma pack(pop)

typedef vm_info_object_t *vm_info_object_array_t;

#endif /* _MACH_DEBUG_VM_INFO_H_ */
