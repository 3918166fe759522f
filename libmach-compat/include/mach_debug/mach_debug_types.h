/*
 * mach_debug/mach_debug_types.h - the types of the Mach debugging
 * interfaces (mach_port_space_info, mach_vm_region_info, mach_zone_info,
 * host_lockgroup_info, ...), imported by the generated MIG stubs.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_DEBUG_MACH_DEBUG_TYPES_H_
#define _MACH_DEBUG_MACH_DEBUG_TYPES_H_

#include <mach_debug/ipc_info.h>
#include <mach_debug/vm_info.h>
#include <mach_debug/zone_info.h>
#include <mach_debug/page_info.h>
#include <mach_debug/hash_info.h>
#include <mach_debug/lockgroup_info.h>

typedef char symtab_name_t[32];

/* Text describing the kernel object behind a port (mach_port_kobject_description). */
#define KOBJECT_DESCRIPTION_LENGTH 512
typedef char kobject_description_t[KOBJECT_DESCRIPTION_LENGTH];

#endif /* _MACH_DEBUG_MACH_DEBUG_TYPES_H_ */
