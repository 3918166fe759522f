/*
 * mach/machine/vm_types.h - machine-dependent Mach integer types.
 *
 * Widths follow XNU's i386/vm_types.h for LP64 user space:
 *   natural_t/integer_t are 32-bit; vm_offset_t/vm_size_t are pointer
 *   sized; the mach_vm_* and vm_map_* types are always 64-bit.
 *
 * Note: on macOS uint64_t is `unsigned long long`; here it is glibc's
 * `unsigned long`.  Same size and representation; only printf format
 * checks (%llx) may differ.  SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACHINE_VM_TYPES_H_
#define _MACH_MACHINE_VM_TYPES_H_

#include <stdint.h>

typedef unsigned int natural_t;     /* __darwin_natural_t */
typedef int          integer_t;

typedef uintptr_t    vm_offset_t;   /* type-neutral pointer */
typedef uintptr_t    vm_size_t;

typedef uint64_t     mach_vm_address_t;
typedef uint64_t     mach_vm_offset_t;
typedef uint64_t     mach_vm_size_t;

typedef uint64_t     vm_map_offset_t;
typedef uint64_t     vm_map_address_t;
typedef uint64_t     vm_map_size_t;

typedef mach_vm_address_t mach_port_context_t;

/* For hand-built messages (legacy MIG type names). */
#define MACH_MSG_TYPE_INTEGER_T MACH_MSG_TYPE_INTEGER_32

#endif /* _MACH_MACHINE_VM_TYPES_H_ */
