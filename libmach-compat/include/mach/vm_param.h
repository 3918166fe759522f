/*
 * mach/vm_param.h - page size and address-space constants (x86_64 macOS).
 *
 * Compile-time PAGE_SIZE is 4096, as macOS x86_64 has it for deployment
 * targets before 11 (from 11 on, Apple's header makes it vm_page_size,
 * which is 4096 on x86_64 too); code that must follow the running system
 * uses vm_page_size (mach/vm_page_size.h).  As on macOS, <mach/mach.h>
 * reaches this header through <mach/vm_region.h>.
 * glibc's <sys/user.h> also defines PAGE_SIZE/PAGE_MASK (with PAGE_MASK
 * meaning ~(PAGE_SIZE-1)); whichever header comes first wins.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_VM_PARAM_H_
#define _MACH_VM_PARAM_H_

#include <stdint.h>
#include <mach/machine/vm_types.h>
#include <mach/vm_page_size.h>

#define BYTE_SIZE               8

#define I386_PGBYTES            4096
#define I386_PGSHIFT            12

#ifndef PAGE_SHIFT
#define PAGE_SHIFT              I386_PGSHIFT
#endif
#ifndef PAGE_SIZE
#define PAGE_SIZE               I386_PGBYTES
#endif
#ifndef PAGE_MASK
#define PAGE_MASK               (PAGE_SIZE - 1)
#endif

/* Bounds over every page size a Mach task may meet (4 KiB to 16 KiB). */
#define PAGE_MAX_SHIFT          14
#define PAGE_MAX_SIZE           (1 << PAGE_MAX_SHIFT)
#define PAGE_MAX_MASK           (PAGE_MAX_SIZE - 1)
#define PAGE_MIN_SHIFT          12
#define PAGE_MIN_SIZE           (1 << PAGE_MIN_SHIFT)
#define PAGE_MIN_MASK           (PAGE_MIN_SIZE - 1)

#define VM_MIN_ADDRESS64        ((uint64_t) 0x0000000000000000ULL)
#define VM_MAX_ADDRESS64        ((uint64_t) 0x00007FFFFFE00000ULL)
#define VM_MIN_ADDRESS          ((vm_offset_t) 0)
#define VM_MAX_ADDRESS          ((vm_offset_t) VM_MAX_ADDRESS64)
#define MACH_VM_MIN_ADDRESS     ((mach_vm_offset_t) 0)
#define MACH_VM_MAX_ADDRESS     ((mach_vm_offset_t) VM_MAX_ADDRESS64)

#define mach_vm_round_page(x) \
	(((mach_vm_offset_t)(x) + (mach_vm_offset_t)(PAGE_SIZE - 1)) & \
	 ~((mach_vm_offset_t)(PAGE_SIZE - 1)))
#define mach_vm_trunc_page(x) \
	((mach_vm_offset_t)(x) & ~((mach_vm_offset_t)(PAGE_SIZE - 1)))

#define round_page_32(x) \
	(((uint32_t)(x) + (uint32_t)(PAGE_SIZE - 1)) & ~((uint32_t)(PAGE_SIZE - 1)))
#define trunc_page_32(x)        ((uint32_t)(x) & ~((uint32_t)(PAGE_SIZE - 1)))
#define round_page_64(x) \
	(((uint64_t)(x) + (uint64_t)(PAGE_SIZE - 1)) & ~((uint64_t)(PAGE_SIZE - 1)))
#define trunc_page_64(x)        ((uint64_t)(x) & ~((uint64_t)(PAGE_SIZE - 1)))

#endif /* _MACH_VM_PARAM_H_ */
