/*
 * mach_debug/ipc_info.h - IPC space information (mach_port_space_info,
 * mach_port_space_basic_info).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_DEBUG_IPC_INFO_H_
#define _MACH_DEBUG_IPC_INFO_H_

#include <mach/boolean.h>
#include <mach/port.h>
#include <mach/machine/vm_types.h>

/* A whole IPC space. */
typedef struct ipc_info_space {
	natural_t iis_genno_mask;       /* generation number mask */
	natural_t iis_table_size;       /* size of the name table */
	natural_t iis_table_next;       /* next possible size of the table */
	natural_t iis_tree_size;        /* obsolete, 0 */
	natural_t iis_tree_small;       /* obsolete, 0 */
	natural_t iis_tree_hash;        /* obsolete, 0 */
} ipc_info_space_t;

typedef struct ipc_info_space_basic {
	natural_t iisb_genno_mask;      /* generation number mask */
	natural_t iisb_table_size;      /* size of the name table */
	natural_t iisb_table_next;      /* next possible size of the table */
	natural_t iisb_table_inuse;     /* entries in use */
	natural_t iisb_reserved[2];
} ipc_info_space_basic_t;

/* One name of the space. */
typedef struct ipc_info_name {
	mach_port_name_t iin_name;      /* the name */
	integer_t iin_collision;        /* collision at this entry? */
	mach_port_type_t iin_type;      /* rights and capabilities */
	mach_port_urefs_t iin_urefs;    /* user references */
	natural_t iin_object;           /* object pointer/identifier */
	natural_t iin_next;             /* marequest/next in free list */
	natural_t iin_hash;             /* hash index */
} ipc_info_name_t;

typedef ipc_info_name_t *ipc_info_name_array_t;

/* Obsolete splay-tree entries (always an empty array). */
typedef struct ipc_info_tree_name {
	ipc_info_name_t iitn_name;
	mach_port_name_t iitn_lchild;
	mach_port_name_t iitn_rchild;
} ipc_info_tree_name_t;

typedef ipc_info_tree_name_t *ipc_info_tree_name_array_t;

/* A port and its receiver, as identifiers (exception handler info). */
typedef struct ipc_info_port {
	natural_t iip_port_object;      /* port object identifier */
	natural_t iip_receiver_object;  /* receiving task identifier, if any */
} ipc_info_port_t;

typedef ipc_info_port_t *exception_handler_info_array_t;

#endif /* _MACH_DEBUG_IPC_INFO_H_ */
