/*
 * mach/default_pager_types.h - the data of the default pager's interface
 * (mach/default_pager.defs), laid out as GNU Mach's.
 *
 * Part of machd (Mach IPC in user space on Linux).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_DEFAULT_PAGER_TYPES_H_
#define _MACH_DEFAULT_PAGER_TYPES_H_

#include <mach/vm_types.h>

typedef struct default_pager_info {
	vm_size_t dpi_total_space;  /* the backing store's size */
	vm_size_t dpi_free_space;   /* how much of it is unused */
	vm_size_t dpi_page_size;    /* the pager's page size */
} default_pager_info_t;

typedef struct default_pager_object {
	vm_offset_t dpo_object;     /* the object, as the pager names it */
	vm_size_t dpo_size;         /* the backing store it uses */
} default_pager_object_t;
typedef default_pager_object_t *default_pager_object_array_t;

typedef struct default_pager_page {
	vm_offset_t dpp_offset;     /* a page the pager holds, by its offset */
} default_pager_page_t;
typedef default_pager_page_t *default_pager_page_array_t;

typedef char default_pager_filename_t[256];

#endif /* _MACH_DEFAULT_PAGER_TYPES_H_ */
