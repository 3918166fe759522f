// machd/ipc/mach_port.h — the mach_port_* calls on one space (XNU
// mach_port.c). Each returns the code XNU returns; see kernel.h for the
// arguments. `caller` is the space whose rights travel in the request (MIG
// copyin) when that differs from the space operated on.
#pragma once

#include <vector>

#include "types.h"

namespace machd::ipc {

// Receive right of `name` (XNU ipc_port_translate_receive):
// KERN_INVALID_NAME / KERN_INVALID_RIGHT.
kern_return_t translate_receive(Space& space, mach_port_name_t name, Port** out);

// ---- names and rights (mach_port.cc) ----
kern_return_t mp_allocate(Ipc& ipc, Task& task, mach_port_right_t right, mach_port_name_t* name);
kern_return_t mp_allocate_name(Ipc& ipc, Task& task, mach_port_right_t right, mach_port_name_t name);
kern_return_t mp_construct(Ipc& ipc, Task& task, const mach_port_options_t& options,
                           mach_port_context_t context, mach_port_name_t* name);
kern_return_t mp_destruct(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_delta_t srdelta,
                          mach_port_context_t guard);
kern_return_t mp_deallocate(Ipc& ipc, Task& task, mach_port_name_t name);
kern_return_t mp_destroy(Ipc& ipc, Task& task, mach_port_name_t name);
kern_return_t mp_mod_refs(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_right_t right,
                          mach_port_delta_t delta);
kern_return_t mp_get_refs(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_right_t right,
                          mach_port_urefs_t* refs);
kern_return_t mp_type(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_type_t* type);
kern_return_t mp_names(Ipc& ipc, Task& task, std::vector<mach_port_name_t>* names,
                       std::vector<mach_port_type_t>* types);
kern_return_t mp_insert_right(Ipc& ipc, Task& caller, Task& task, mach_port_name_t name,
                              mach_port_name_t poly, mach_msg_type_name_t poly_type);
kern_return_t mp_extract_right(Ipc& ipc, Task& caller, Task& task, mach_port_name_t name,
                               mach_msg_type_name_t msgt_name, mach_port_name_t* poly,
                               mach_msg_type_name_t* poly_type);

// ---- port sets (mach_port_set.cc) ----
kern_return_t mp_move_member(Ipc& ipc, Task& task, mach_port_name_t member, mach_port_name_t after);
kern_return_t mp_insert_member(Ipc& ipc, Task& task, mach_port_name_t member, mach_port_name_t pset);
kern_return_t mp_extract_member(Ipc& ipc, Task& task, mach_port_name_t member, mach_port_name_t pset);
kern_return_t mp_get_set_status(Ipc& ipc, Task& task, mach_port_name_t pset,
                                std::vector<mach_port_name_t>* members);

// ---- notifications (mach_port_notify.cc) ----
// The notify right comes from `caller`'s space; the previous one goes back there.
kern_return_t mp_request_notification(Ipc& ipc, Task& caller, Task& task, mach_port_name_t name,
                                      mach_msg_id_t variant, mach_port_mscount_t sync,
                                      mach_port_name_t notify, mach_msg_type_name_t notify_type,
                                      mach_port_name_t* previous);

// ---- attributes, context, guards (mach_port_attr.cc) ----
kern_return_t mp_get_attributes(Ipc& ipc, Task& task, mach_port_name_t name, int flavor,
                                integer_t* info, mach_msg_type_number_t* count);
kern_return_t mp_set_attributes(Ipc& ipc, Task& task, mach_port_name_t name, int flavor,
                                const integer_t* info, mach_msg_type_number_t count);
kern_return_t mp_set_mscount(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_mscount_t mscount);
kern_return_t mp_set_seqno(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_seqno_t seqno);
kern_return_t mp_get_context(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_context_t* ctx);
kern_return_t mp_set_context(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_context_t ctx);
kern_return_t mp_guard(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_context_t guard,
                       bool strict, bool immovable_receive);
kern_return_t mp_unguard(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_context_t guard);
kern_return_t mp_get_srights(Ipc& ipc, Task& task, mach_port_name_t name, mach_port_rights_t* srights);
kern_return_t mp_peek(Ipc& ipc, Task& task, mach_port_name_t name, mach_msg_trailer_type_t trailer_type,
                      mach_port_seqno_t* seqno, mach_msg_size_t* size, mach_msg_id_t* id,
                      std::vector<uint8_t>* trailer);

}  // namespace machd::ipc
