// machd/ipc/space_info.h — looking at a whole space without changing it
// (XNU osfmk/ipc/mach_debug.c): mach_port_space_info,
// mach_port_space_basic_info, mach_port_dnrequest_info, mach_port_kobject,
// and the per-name detail machd's introspection subsystem reports.
//
// Nothing here mutates a space: a send right whose port died is reported as
// a dead name (as mach_port_names does) without converting the entry, and
// no fast lane is reclaimed (a queue length may include messages the
// receiver already took from its lane but has not yet reported).
#pragma once

#include <mach_debug/ipc_info.h>

#include <vector>

#include "types.h"

namespace machd::ipc {

// mach_port_space_info: one ipc_info_name_t per table slot, index 0 and free
// slots included (type 0), as XNU walks its table. iin_type holds the rights
// and the request bits (MACH_PORT_TYPE_DNREQUEST / SPREQUEST...); iin_object
// is object_id() (object_id.h) (0 for dead names and free slots); iin_next is the entry's
// request index; iin_hash its table index. iis_genno_mask is
// MACH_PORT_NGEN(MACH_PORT_DEAD) (0xff), iis_table_size the slot count,
// iis_table_next the capacity the table holds without growing; the tree
// fields are 0. Never fails for a live task.
void si_space_info(const Task& task, ipc_info_space_t* info,
                   std::vector<ipc_info_name_t>* table);

// mach_port_space_basic_info: iisb_table_inuse counts the names in use.
void si_space_basic_info(const Task& task, ipc_info_space_basic_t* info);

// mach_port_dnrequest_info on the receive right `name`: *total is the size of
// the port's request table, *used the live requests in it.
// KERN_INVALID_NAME / KERN_INVALID_RIGHT as ipc_port_translate_receive.
kern_return_t si_dnrequest_info(Task& task, mach_port_name_t name, unsigned* total, unsigned* used);

// mach_port_kobject: the label of the port a send or receive right `name`
// denotes ({0, 0} for an ordinary port). KERN_INVALID_NAME when `name` names
// nothing, KERN_INVALID_RIGHT when it names no send or receive right (a
// send-once right, a port set, a dead name).
kern_return_t si_kobject(Task& task, mach_port_name_t name, KObject* out);

// Kernel::queue_full: the port of the send right `name` is active and its
// queue at its limit.
bool si_queue_full(Task& task, mach_port_name_t name);

// One in-use name and what machd knows of the object behind it
// (Kernel::space_names).
void si_names(const Task& task, std::vector<NameDetail>* out);

}  // namespace machd::ipc
