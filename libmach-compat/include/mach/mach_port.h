/*
 * mach/mach_port.h - operations on a task's port name space
 * (the mach_port subsystem, msgh_id 3200..).
 *
 * `task` is the ipc space to act on, normally mach_task_self().
 * Out-of-line arrays returned (names, members) are vm_allocate'd in the
 * caller and must be released with vm_deallocate.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACH_PORT_H_
#define _MACH_MACH_PORT_H_

#include <stdint.h>
#include <mach/_cdefs.h>
#include <mach/std_types.h>
#include <mach/mach_types.h>
#include <mach/message.h>
#include <mach/port.h>

/* mach_port_kobject_description buffer. */
typedef char kobject_description_t[512];

__BEGIN_DECLS

/* All names in the space and their types (two parallel OOL arrays). */
extern kern_return_t mach_port_names(ipc_space_t task,
    mach_port_name_array_t *names, mach_msg_type_number_t *namesCnt,
    mach_port_type_array_t *types, mach_msg_type_number_t *typesCnt);

/* Rights denoted by name (MACH_PORT_TYPE_* bits). */
extern kern_return_t mach_port_type(ipc_space_t task, mach_port_name_t name,
    mach_port_type_t *ptype);

extern kern_return_t mach_port_rename(ipc_space_t task,
    mach_port_name_t old_name, mach_port_name_t new_name);

/* Create a right (receive, port set or dead name) under a chosen name. */
extern kern_return_t mach_port_allocate_name(ipc_space_t task,
    mach_port_right_t right, mach_port_name_t name);

/* Create a right (receive, port set or dead name); kernel picks the name. */
extern kern_return_t mach_port_allocate(ipc_space_t task,
    mach_port_right_t right, mach_port_name_t *name);

/* Remove every right denoted by name (deprecated; use mod_refs). */
extern kern_return_t mach_port_destroy(ipc_space_t task, mach_port_name_t name);

/* Drop one user reference of a send, send-once or dead-name right. */
extern kern_return_t mach_port_deallocate(ipc_space_t task, mach_port_name_t name);

extern kern_return_t mach_port_get_refs(ipc_space_t task, mach_port_name_t name,
    mach_port_right_t right, mach_port_urefs_t *refs);

/* Add delta user references to one kind of right. */
extern kern_return_t mach_port_mod_refs(ipc_space_t task, mach_port_name_t name,
    mach_port_right_t right, mach_port_delta_t delta);

/* Look at a queued message without receiving it. */
extern kern_return_t mach_port_peek(ipc_space_t task, mach_port_name_t name,
    mach_msg_trailer_type_t trailer_type, mach_port_seqno_t *request_seqnop,
    mach_msg_size_t *msg_sizep, mach_msg_id_t *msg_idp,
    mach_msg_trailer_info_t trailer_infop,
    mach_msg_type_number_t *trailer_infopCnt);

extern kern_return_t mach_port_set_mscount(ipc_space_t task,
    mach_port_name_t name, mach_port_mscount_t mscount);

/* Members of a port set (OOL array). */
extern kern_return_t mach_port_get_set_status(ipc_space_read_t task,
    mach_port_name_t name, mach_port_name_array_t *members,
    mach_msg_type_number_t *membersCnt);

/* Move a receive right into set `after` (MACH_PORT_NULL: out of any set). */
extern kern_return_t mach_port_move_member(ipc_space_t task,
    mach_port_name_t member, mach_port_name_t after);

/* Arm a notification (MACH_NOTIFY_*); returns the previous send-once right. */
extern kern_return_t mach_port_request_notification(ipc_space_t task,
    mach_port_name_t name, mach_msg_id_t msgid, mach_port_mscount_t sync,
    mach_port_t notify, mach_msg_type_name_t notifyPoly,
    mach_port_t *previous);

/* Give the space a right (poly per polyPoly) under name. */
extern kern_return_t mach_port_insert_right(ipc_space_t task,
    mach_port_name_t name, mach_port_t poly, mach_msg_type_name_t polyPoly);

/* Take a right out of the space, as if sent with disposition msgt_name. */
extern kern_return_t mach_port_extract_right(ipc_space_t task,
    mach_port_name_t name, mach_msg_type_name_t msgt_name,
    mach_port_t *poly, mach_msg_type_name_t *polyPoly);

extern kern_return_t mach_port_set_seqno(ipc_space_t task,
    mach_port_name_t name, mach_port_seqno_t seqno);

/* port_info_outCnt: in = capacity in natural_t, out = used. */
extern kern_return_t mach_port_get_attributes(ipc_space_read_t task,
    mach_port_name_t name, mach_port_flavor_t flavor,
    mach_port_info_t port_info_out, mach_msg_type_number_t *port_info_outCnt);

extern kern_return_t mach_port_set_attributes(ipc_space_t task,
    mach_port_name_t name, mach_port_flavor_t flavor,
    mach_port_info_t port_info, mach_msg_type_number_t port_infoCnt);

extern kern_return_t mach_port_allocate_qos(ipc_space_t task,
    mach_port_right_t right, mach_port_qos_t *qos, mach_port_name_t *name);

extern kern_return_t mach_port_allocate_full(ipc_space_t task,
    mach_port_right_t right, mach_port_t proto, mach_port_qos_t *qos,
    mach_port_name_t *name);

extern kern_return_t task_set_port_space(ipc_space_t task, int table_entries);

/* Whether send rights exist for a receive right. */
extern kern_return_t mach_port_get_srights(ipc_space_t task,
    mach_port_name_t name, mach_port_rights_t *srights);

extern kern_return_t mach_port_dnrequest_info(ipc_space_t task,
    mach_port_name_t name, unsigned *dnr_total, unsigned *dnr_used);

extern kern_return_t mach_port_kernel_object(ipc_space_read_t task,
    mach_port_name_t name, unsigned *object_type, unsigned *object_addr);

/* Add / remove a receive right to / from a port set. */
extern kern_return_t mach_port_insert_member(ipc_space_t task,
    mach_port_name_t name, mach_port_name_t pset);
extern kern_return_t mach_port_extract_member(ipc_space_t task,
    mach_port_name_t name, mach_port_name_t pset);

/* Per-port context word, delivered in MACH_RCV_TRAILER_CTX trailers. */
extern kern_return_t mach_port_get_context(ipc_space_read_t task,
    mach_port_name_t name, mach_port_context_t *context);
extern kern_return_t mach_port_set_context(ipc_space_t task,
    mach_port_name_t name, mach_port_context_t context);

extern kern_return_t mach_port_kobject(ipc_space_read_t task,
    mach_port_name_t name, natural_t *object_type,
    mach_vm_address_t *object_addr);

extern kern_return_t mach_port_kobject_description(ipc_space_read_t task,
    mach_port_name_t name, natural_t *object_type,
    mach_vm_address_t *object_addr, kobject_description_t description);

/* Create a receive right with the given options (MPO_*). */
extern kern_return_t mach_port_construct(ipc_space_t task,
    mach_port_options_ptr_t options, mach_port_context_t context,
    mach_port_name_t *name);

/* Destroy a receive right built by construct; srdelta adjusts send refs. */
extern kern_return_t mach_port_destruct(ipc_space_t task,
    mach_port_name_t name, mach_port_delta_t srdelta,
    mach_port_context_t guard);

extern kern_return_t mach_port_guard(ipc_space_t task, mach_port_name_t name,
    mach_port_context_t guard, boolean_t strict);
extern kern_return_t mach_port_unguard(ipc_space_t task, mach_port_name_t name,
    mach_port_context_t guard);
extern kern_return_t mach_port_guard_with_flags(ipc_space_t task,
    mach_port_name_t name, mach_port_context_t guard, uint64_t flags);
extern kern_return_t mach_port_swap_guard(ipc_space_t task,
    mach_port_name_t name, mach_port_context_t old_guard,
    mach_port_context_t new_guard);

extern kern_return_t mach_port_assert_attributes(ipc_space_t task,
    mach_port_name_t name, mach_port_flavor_t flavor,
    mach_port_info_t info, mach_msg_type_number_t infoCnt);

extern kern_return_t mach_port_is_connection_for_service(ipc_space_t task,
    mach_port_name_t connection_port, mach_port_name_t service_port,
    uint64_t *filter_policy_id);

extern kern_return_t mach_port_get_service_port_info(ipc_space_read_t task,
    mach_port_name_t name, mach_service_port_info_data_t *sp_info_out);

__END_DECLS

#endif /* _MACH_MACH_PORT_H_ */
