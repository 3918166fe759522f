/*
 * mach/vm_types.h - machine-independent VM types.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_VM_TYPES_H_
#define _MACH_VM_TYPES_H_

#include <stdint.h>
#include <mach/port.h>
#include <mach/machine/vm_types.h>

typedef vm_offset_t pointer_t;
typedef vm_offset_t vm_address_t;

typedef uint64_t    addr64_t;   /* physical address */
typedef uint32_t    reg64_t;    /* legacy */
typedef uint32_t    ppnum_t;    /* physical page number */

/* In user space every kernel object is named by a port. */
typedef mach_port_t vm_map_t;
typedef mach_port_t vm_map_read_t;
typedef mach_port_t vm_map_inspect_t;
typedef mach_port_t upl_t;
typedef mach_port_t vm_named_entry_t;

/* mach_vm_range_create() (VM ranges). */
typedef uint32_t mach_vm_range_flavor_t;
#define MACH_VM_RANGE_FLAVOR_INVALID    0
#define MACH_VM_RANGE_FLAVOR_V1         1
typedef uint8_t *mach_vm_range_recipes_raw_t;

#define VM_MAP_NULL             ((vm_map_t) 0)
#define VM_MAP_INSPECT_NULL     ((vm_map_inspect_t) 0)
#define VM_MAP_READ_NULL        ((vm_map_read_t) 0)
#define UPL_NULL                ((upl_t) 0)
#define VM_NAMED_ENTRY_NULL     ((vm_named_entry_t) 0)

#endif /* _MACH_VM_TYPES_H_ */
