// machd/ipc/right.h — the only place port rights are made, copied, moved and
// consumed (XNU's ipc_right.c + ipc_object_copyin/copyout).
//
// Two worlds:
//   * rights named in a space: an Entry (type bits + urefs) — see space.h;
//   * rights in flight: a (Port*, PORT_* type) pair owned by a message, a
//     notification request or a special-port slot. nullptr is MACH_PORT_NULL,
//     dead_port() is MACH_PORT_DEAD.
// copyin turns a name + disposition into a right in flight; copyout turns a
// right in flight into a name; release destroys a right in flight with its
// side effects (no-senders, send-once notification, port destruction).
//
// Entries whose port died are converted to dead names lazily, when next
// looked at (right_check), as XNU does; a dead-name request registered on the
// name adds the user reference its notification carries at that moment.
#pragma once

#include "types.h"

namespace machd::ipc {

// ---- lazy death -------------------------------------------------------------
// If the entry holds send/send-once rights to a port that died, turns it into
// a dead name (releasing the port ref) and returns true.
bool right_check(Ipc& ipc, Space& space, uint32_t index);

// ---- copyin: name -> right in flight --------------------------------------
struct CopyinFlags {
  bool deadok = false;  // dead names copy in as dead_port() instead of failing
  bool dest = false;    // header destination (a dead send-once right still copies in)
};

// True iff right_copyin(ipc, space, index, disp, flags) would succeed.
// May convert a dead entry into a dead name (as XNU's check does).
bool right_copyin_check(Ipc& ipc, Space& space, uint32_t index, mach_msg_type_name_t disp,
                        CopyinFlags flags);

// Takes the right `disp` (a MACH_MSG_TYPE_* disposition) from entry `index`.
// On success *out owns one right of type copyin_result_type(disp) (or is
// dead_port()); the entry is updated or freed. Returns KERN_SUCCESS,
// KERN_INVALID_RIGHT (wrong right) or KERN_INVALID_CAPABILITY (immovable
// receive right). Nothing changes on failure.
kern_return_t right_copyin(Ipc& ipc, Space& space, uint32_t index, mach_msg_type_name_t disp,
                           CopyinFlags flags, Port** out);

// ---- copyout: right in flight -> name ---------------------------------------
// Consumes the right (port, type) into `space`: reuses the entry that already
// names the port (send/receive), or claims a new name. Null gives
// MACH_PORT_NULL, a dead or inactive port gives MACH_PORT_DEAD. When the space
// is full the right is destroyed, *name = MACH_PORT_NULL and
// MACH_MSG_IPC_SPACE is returned.
mach_msg_return_t right_copyout(Ipc& ipc, Space& space, Port* port, mach_msg_type_name_t type,
                                mach_port_name_t* name);

// Consumes the right into `space` under exactly `name` (insert_right).
// KERN_INVALID_VALUE (bad name), KERN_NO_SPACE, KERN_NAME_EXISTS (name holds
// other rights), KERN_RIGHT_EXISTS (the port is already named otherwise),
// KERN_INVALID_CAPABILITY (port dead). The right is destroyed on failure.
kern_return_t right_copyout_name(Ipc& ipc, Space& space, Port* port, mach_msg_type_name_t type,
                                 mach_port_name_t name);

// Consumes the destination right of a received message and returns the
// receiver's name for the port (its receive right), MACH_PORT_NULL if the
// space does not hold it.
mach_port_name_t right_copyout_dest(Ipc& ipc, Space& space, Port* port, mach_msg_type_name_t type);

// Destroys a right in flight: send -> srights-- (no-senders notification);
// send-once -> send-once notification; receive -> the port is destroyed.
void right_release(Ipc& ipc, Port* port, mach_msg_type_name_t type);

// ---- rights made by the kernel ----------------------------------------------
Port* right_make_send(Port& port);       // mscount++, srights++ (port must be active)
Port* right_make_send_once(Port& port);  // sorights++
Port* right_copy_send(Port& port);       // srights++ (port must hold send rights)

// srights-- on `port`; emits the armed no-senders notification at zero.
void port_srights_dec(Ipc& ipc, Port& port);

// ---- entry operations (mach_port_*) ----------------------------------------
// A new receive right (fresh port) at `index` (an entry just claimed, type 0).
// (`user`: the Ipc::usage slot the new port is charged to, 0 for none;
// the caller checked Ipc::port_fits.)
Port* right_alloc_receive(Ipc& ipc, Space& space, uint32_t index, uint16_t user);
// mach_port_deallocate (XNU ipc_right_dealloc).
kern_return_t right_dealloc(Ipc& ipc, Space& space, uint32_t index);
// mach_port_mod_refs (XNU ipc_right_delta).
kern_return_t right_delta(Ipc& ipc, Space& space, uint32_t index, mach_port_right_t right,
                          mach_port_delta_t delta);
// mach_port_destroy (XNU ipc_right_destroy).
kern_return_t right_destroy(Ipc& ipc, Space& space, uint32_t index);
// mach_port_destruct (XNU ipc_right_destruct).
kern_return_t right_destruct(Ipc& ipc, Space& space, uint32_t index, mach_port_delta_t srdelta,
                             mach_port_context_t guard);
// Type bits (with request bits) and urefs of an entry (converts dead ports).
void right_info(Ipc& ipc, Space& space, uint32_t index, mach_port_type_t* type,
                mach_port_urefs_t* urefs);
// Releases an entry of a dying space (XNU ipc_right_terminate).
void right_terminate(Ipc& ipc, Space& space, uint32_t index);

// The entry index in `space` that names `port` with send or receive rights.
bool right_reverse(Space& space, const Port& port, uint32_t* index);

}  // namespace machd::ipc
