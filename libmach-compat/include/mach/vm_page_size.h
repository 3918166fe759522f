/*
 * mach/vm_page_size.h - the page size as this task sees it.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_VM_PAGE_SIZE_H_
#define _MACH_VM_PAGE_SIZE_H_

#include <mach/_cdefs.h>
#include <mach/machine/vm_types.h>

__BEGIN_DECLS

extern vm_size_t vm_page_size;
extern vm_size_t vm_page_mask;
extern int       vm_page_shift;

#define trunc_page(x)   ((x) & (~(vm_page_size - 1)))
#define round_page(x)   trunc_page((x) + (vm_page_size - 1))

extern vm_size_t vm_kernel_page_size;
extern vm_size_t vm_kernel_page_mask;
extern int       vm_kernel_page_shift;

__END_DECLS

#endif /* _MACH_VM_PAGE_SIZE_H_ */
