// libmach-compat/src/mach_port.cc — mach_port_* and the task special ports.
//
// Each call is one trap to machd: the arguments travel in the thread's
// channel, the IPC core does the work, results come back in the reply. On
// macOS these are MIG calls on the task port (with kernel-RPC trap fast
// paths); a bad task name gives MACH_SEND_INVALID_DEST there and here.
#include <mach/mach.h>
#include <mach/mach_port.h>
#include <mach/task.h>

#include <algorithm>
#include <cstring>

#include "connection.h"
#include "reply_arrays.h"
#include "semaphore_cache.h"
#include "vm_regions.h"

using machcompat::call;
using machcompat::CallResult;

namespace {

// No machd: the call could not be sent (what a dead task port gives on macOS).
inline kern_return_t kr_of(const CallResult& r) {
  return r.machd_gone ? kern_return_t(MACH_SEND_INVALID_DEST) : kern_return_t(r.result);
}

// A call whose one result is rets[0]: stored in *out (if given) on success.
template <typename T>
kern_return_t call_out(T* out, uint32_t op, std::initializer_list<uint64_t> args,
                       std::span<const uint8_t> data = {}) {
  CallResult r = call(op, args, data);
  kern_return_t kr = kr_of(r);
  if (kr == KERN_SUCCESS && out) *out = T(r.rets[0]);
  return kr;
}

}  // namespace

extern "C" {

mach_port_name_t mach_reply_port(void) {
  CallResult r = call(MACHD_OP_REPLY_PORT, {});
  return r.machd_gone || r.result != KERN_SUCCESS ? MACH_PORT_NULL : mach_port_name_t(r.rets[0]);
}

kern_return_t mach_port_allocate(ipc_space_t task, mach_port_right_t right, mach_port_name_t* name) {
  return call_out(name, MACHD_OP_PORT_ALLOCATE, {task, right});
}

kern_return_t mach_port_allocate_name(ipc_space_t task, mach_port_right_t right, mach_port_name_t name) {
  return kr_of(call(MACHD_OP_PORT_ALLOCATE_NAME, {task, right, name}));
}

kern_return_t mach_port_allocate_qos(ipc_space_t task, mach_port_right_t right, mach_port_qos_t* qos,
                                     mach_port_name_t* name) {
  if (qos == nullptr || name == nullptr) return KERN_INVALID_ARGUMENT;
  if (qos->name) return mach_port_allocate_name(task, right, *name);
  return mach_port_allocate(task, right, name);
}

kern_return_t mach_port_allocate_full(ipc_space_t task, mach_port_right_t right, mach_port_t proto,
                                      mach_port_qos_t* qos, mach_port_name_t* name) {
  if (proto != MACH_PORT_NULL) return KERN_INVALID_VALUE;
  return mach_port_allocate_qos(task, right, qos, name);
}

kern_return_t mach_port_deallocate(ipc_space_t task, mach_port_name_t name) {
  kern_return_t kr = kr_of(call(MACHD_OP_PORT_DEALLOCATE, {task, name}));
  machcompat::semaphore_name_released(task, name);
  return kr;
}

kern_return_t mach_port_destroy(ipc_space_t task, mach_port_name_t name) {
  kern_return_t kr = kr_of(call(MACHD_OP_PORT_DESTROY, {task, name}));
  machcompat::semaphore_name_released(task, name);
  return kr;
}

kern_return_t mach_port_mod_refs(ipc_space_t task, mach_port_name_t name, mach_port_right_t right,
                                 mach_port_delta_t delta) {
  kern_return_t kr = kr_of(call(MACHD_OP_PORT_MOD_REFS, {task, name, right, uint64_t(uint32_t(delta))}));
  if (delta < 0) machcompat::semaphore_name_released(task, name);
  return kr;
}

kern_return_t mach_port_get_refs(ipc_space_t task, mach_port_name_t name, mach_port_right_t right,
                                 mach_port_urefs_t* refs) {
  return call_out(refs, MACHD_OP_PORT_GET_REFS, {task, name, right});
}

kern_return_t mach_port_type(ipc_space_t task, mach_port_name_t name, mach_port_type_t* ptype) {
  return call_out(ptype, MACHD_OP_PORT_TYPE, {task, name});
}

kern_return_t mach_port_names(ipc_space_t task, mach_port_name_array_t* names, mach_msg_type_number_t* namesCnt,
                              mach_port_type_array_t* types, mach_msg_type_number_t* typesCnt) {
  CallResult r = call(MACHD_OP_PORT_NAMES, {task});
  kern_return_t kr = kr_of(r);
  if (kr != KERN_SUCCESS) return kr;
  // Returned as out-of-line memory, which the caller vm_deallocates.
  const size_t sizes[] = {sizeof(mach_port_name_t), sizeof(mach_port_type_t)};
  void* arrays[2] = {};
  kr = machcompat::take_reply_arrays(r, sizes, arrays);
  if (kr != KERN_SUCCESS) return kr;
  *names = static_cast<mach_port_name_array_t>(arrays[0]);
  *types = static_cast<mach_port_type_array_t>(arrays[1]);
  *namesCnt = *typesCnt = mach_msg_type_number_t(r.rets[0]);
  return KERN_SUCCESS;
}

kern_return_t mach_port_rename(ipc_space_t task, mach_port_name_t old_name, mach_port_name_t new_name) {
  return kr_of(call(MACHD_OP_PORT_RENAME, {task, old_name, new_name}));
}

kern_return_t mach_port_insert_right(ipc_space_t task, mach_port_name_t name, mach_port_t poly,
                                     mach_msg_type_name_t polyPoly) {
  return kr_of(call(MACHD_OP_PORT_INSERT_RIGHT, {task, name, poly, polyPoly}));
}

kern_return_t mach_port_extract_right(ipc_space_t task, mach_port_name_t name, mach_msg_type_name_t msgt_name,
                                      mach_port_t* poly, mach_msg_type_name_t* polyPoly) {
  CallResult r = call(MACHD_OP_PORT_EXTRACT_RIGHT, {task, name, msgt_name});
  kern_return_t kr = kr_of(r);
  if (kr == KERN_SUCCESS) {
    if (poly) *poly = mach_port_t(r.rets[0]);
    if (polyPoly) *polyPoly = mach_msg_type_name_t(r.rets[1]);
  }
  return kr;
}

kern_return_t mach_port_move_member(ipc_space_t task, mach_port_name_t member, mach_port_name_t after) {
  return kr_of(call(MACHD_OP_PORT_MOVE_MEMBER, {task, member, after}));
}

kern_return_t mach_port_insert_member(ipc_space_t task, mach_port_name_t name, mach_port_name_t pset) {
  return kr_of(call(MACHD_OP_PORT_INSERT_MEMBER, {task, name, pset}));
}

kern_return_t mach_port_extract_member(ipc_space_t task, mach_port_name_t name, mach_port_name_t pset) {
  return kr_of(call(MACHD_OP_PORT_EXTRACT_MEMBER, {task, name, pset}));
}

kern_return_t mach_port_get_set_status(ipc_space_read_t task, mach_port_name_t name,
                                       mach_port_name_array_t* members, mach_msg_type_number_t* membersCnt) {
  CallResult r = call(MACHD_OP_PORT_GET_SET_STATUS, {task, name});
  kern_return_t kr = kr_of(r);
  if (kr != KERN_SUCCESS) return kr;
  const size_t sizes[] = {sizeof(mach_port_name_t)};
  void* arrays[1] = {};
  kr = machcompat::take_reply_arrays(r, sizes, arrays);
  if (kr != KERN_SUCCESS) return kr;
  *members = static_cast<mach_port_name_array_t>(arrays[0]);
  *membersCnt = mach_msg_type_number_t(r.rets[0]);
  return KERN_SUCCESS;
}

kern_return_t mach_port_request_notification(ipc_space_t task, mach_port_name_t name, mach_msg_id_t msgid,
                                             mach_port_mscount_t sync, mach_port_t notify,
                                             mach_msg_type_name_t notifyPoly, mach_port_t* previous) {
  return call_out(previous, MACHD_OP_PORT_REQUEST_NOTIFICATION,
                  {task, name, uint64_t(uint32_t(msgid)), sync, notify, notifyPoly});
}

kern_return_t mach_port_get_attributes(ipc_space_read_t task, mach_port_name_t name, mach_port_flavor_t flavor,
                                       mach_port_info_t port_info_out, mach_msg_type_number_t* port_info_outCnt) {
  if (port_info_outCnt == nullptr) return KERN_INVALID_ARGUMENT;
  CallResult r = call(MACHD_OP_PORT_GET_ATTRIBUTES, {task, name, uint64_t(uint32_t(flavor)), *port_info_outCnt});
  kern_return_t kr = kr_of(r);
  if (kr != KERN_SUCCESS) return kr;
  size_t n = r.rets[0];
  if (n > *port_info_outCnt || r.data.size() < n * sizeof(integer_t)) return KERN_FAILURE;
  if (n) memcpy(port_info_out, r.data.data(), n * sizeof(integer_t));
  *port_info_outCnt = mach_msg_type_number_t(n);
  return KERN_SUCCESS;
}

kern_return_t mach_port_set_attributes(ipc_space_t task, mach_port_name_t name, mach_port_flavor_t flavor,
                                       mach_port_info_t port_info, mach_msg_type_number_t port_infoCnt) {
  if (port_infoCnt > 64 || (port_infoCnt && port_info == nullptr)) return KERN_INVALID_ARGUMENT;
  std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(port_info), port_infoCnt * sizeof(integer_t));
  return kr_of(call(MACHD_OP_PORT_SET_ATTRIBUTES, {task, name, uint64_t(uint32_t(flavor)), port_infoCnt}, data));
}

kern_return_t mach_port_construct(ipc_space_t task, mach_port_options_ptr_t options, mach_port_context_t context,
                                  mach_port_name_t* name) {
  if (options == nullptr || name == nullptr) return KERN_INVALID_ARGUMENT;
  std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(options), sizeof(mach_port_options_t));
  return call_out(name, MACHD_OP_PORT_CONSTRUCT, {task, context}, data);
}

kern_return_t mach_port_destruct(ipc_space_t task, mach_port_name_t name, mach_port_delta_t srdelta,
                                 mach_port_context_t guard) {
  return kr_of(call(MACHD_OP_PORT_DESTRUCT, {task, name, uint64_t(uint32_t(srdelta)), guard}));
}

kern_return_t mach_port_guard(ipc_space_t task, mach_port_name_t name, mach_port_context_t guard, boolean_t strict) {
  return kr_of(call(MACHD_OP_PORT_GUARD, {task, name, guard, uint64_t(strict != 0)}));
}

kern_return_t mach_port_unguard(ipc_space_t task, mach_port_name_t name, mach_port_context_t guard) {
  return kr_of(call(MACHD_OP_PORT_UNGUARD, {task, name, guard}));
}

kern_return_t mach_port_guard_with_flags(ipc_space_t task, mach_port_name_t name, mach_port_context_t guard,
                                         uint64_t flags) {
  if (flags & ~uint64_t(MPG_STRICT | MPG_IMMOVABLE_RECEIVE)) return KERN_INVALID_ARGUMENT;
  return kr_of(call(MACHD_OP_PORT_GUARD, {task, name, guard, flags}));
}

kern_return_t mach_port_swap_guard(ipc_space_t task, mach_port_name_t name, mach_port_context_t old_guard,
                                   mach_port_context_t new_guard) {
  // Not atomic as in XNU: unguard then guard again. XNU mach_port_swap_guard
  // refuses an unguarded or strictly guarded port and keeps the right's
  // immovability.
  mach_port_status_t st{};
  mach_msg_type_number_t n = MACH_PORT_RECEIVE_STATUS_COUNT;
  kern_return_t kr = mach_port_get_attributes(task, name, MACH_PORT_RECEIVE_STATUS, mach_port_info_t(&st), &n);
  if (kr != KERN_SUCCESS) return kr;
  if (!(st.mps_flags & MACH_PORT_STATUS_FLAG_GUARDED) || (st.mps_flags & MACH_PORT_STATUS_FLAG_STRICT_GUARD))
    return KERN_INVALID_ARGUMENT;
  kr = mach_port_unguard(task, name, old_guard);
  if (kr != KERN_SUCCESS) return kr;
  const bool imm = (st.mps_flags & MACH_PORT_STATUS_FLAG_GUARD_IMMOVABLE_RECEIVE) != 0;
  return mach_port_guard_with_flags(task, name, new_guard, imm ? MPG_IMMOVABLE_RECEIVE : 0);
}

kern_return_t mach_port_get_context(ipc_space_read_t task, mach_port_name_t name, mach_port_context_t* context) {
  return call_out(context, MACHD_OP_PORT_GET_CONTEXT, {task, name});
}

kern_return_t mach_port_set_context(ipc_space_t task, mach_port_name_t name, mach_port_context_t context) {
  return kr_of(call(MACHD_OP_PORT_SET_CONTEXT, {task, name, context}));
}

kern_return_t mach_port_set_mscount(ipc_space_t task, mach_port_name_t name, mach_port_mscount_t mscount) {
  return kr_of(call(MACHD_OP_PORT_SET_MSCOUNT, {task, name, mscount}));
}

kern_return_t mach_port_set_seqno(ipc_space_t task, mach_port_name_t name, mach_port_seqno_t seqno) {
  return kr_of(call(MACHD_OP_PORT_SET_SEQNO, {task, name, seqno}));
}

kern_return_t mach_port_get_srights(ipc_space_t task, mach_port_name_t name, mach_port_rights_t* srights) {
  return call_out(srights, MACHD_OP_PORT_GET_SRIGHTS, {task, name});
}

kern_return_t mach_port_peek(ipc_space_t task, mach_port_name_t name, mach_msg_trailer_type_t trailer_type,
                             mach_port_seqno_t* request_seqnop, mach_msg_size_t* msg_sizep, mach_msg_id_t* msg_idp,
                             mach_msg_trailer_info_t trailer_infop, mach_msg_type_number_t* trailer_infopCnt) {
  if (request_seqnop == nullptr) return KERN_INVALID_ARGUMENT;
  CallResult r = call(MACHD_OP_PORT_PEEK, {task, name, trailer_type, *request_seqnop});
  kern_return_t kr = kr_of(r);
  if (kr != KERN_SUCCESS) return kr;
  *request_seqnop = mach_port_seqno_t(r.rets[0]);
  if (msg_sizep) *msg_sizep = mach_msg_size_t(r.rets[1]);
  if (msg_idp) *msg_idp = mach_msg_id_t(uint32_t(r.rets[2]));
  if (trailer_infop && trailer_infopCnt) {
    size_t n = std::min<size_t>({size_t(r.rets[3]), size_t(*trailer_infopCnt), r.data.size()});
    memcpy(trailer_infop, r.data.data(), n);
    *trailer_infopCnt = mach_msg_type_number_t(n);
  }
  return KERN_SUCCESS;
}

}  // extern "C"
