// machd/vm/memory_object_server.cc — the calls a pager makes on an object's
// control port (GNU Mach's mach.defs, subsystem 2000: data_supply,
// data_unavailable, data_error, lock_request, ready, set_attributes,
// change_attributes, get_attributes, destroy, and the old data_provided).
// Each translates the control port and makes one call on the object
// (memory_object.h). A call on a port that is not a live object's control
// port answers KERN_INVALID_ARGUMENT (for a simpleroutine: the message is
// destroyed with its rights).
#include <mach/mach_types.h>

#include "kernel_servers.h"
#include "memory_objects.h"

extern "C" {
#include "machServer.h"
}

using machd::vm::MemoryObject;
using machd::vm::memory_objects;

namespace {

MemoryObject* object_of(memory_object_control_t control) { return memory_objects().by_control(control); }

// A pager's reply_to: MACH_PORT_NULL (or dead) means no answer wanted.
mach_port_t reply_of(mach_port_t reply_to) { return MACH_PORT_VALID(reply_to) ? reply_to : MACH_PORT_NULL; }

}  // namespace

extern "C" {

kern_return_t memory_object_data_supply(memory_object_control_t control, vm_offset_t offset, vm_offset_t data,
                                        mach_msg_type_number_t dataCnt, vm_prot_t lock_value, boolean_t precious,
                                        mach_port_t reply_to, mach_msg_type_name_t reply_toPoly) {
  MemoryObject* o = object_of(control);
  if (o == nullptr) return KERN_INVALID_ARGUMENT;
  int src = -1;
  uint64_t src_off = 0;
  if (!machd::mapped_request_source(reinterpret_cast<const void*>(data), dataCnt, &src, &src_off)) src = -1;
  o->data_supply(offset, reinterpret_cast<const uint8_t*>(data), dataCnt, lock_value, precious, reply_of(reply_to),
                 reply_toPoly, src, src_off);
  memory_objects().arm();
  return KERN_SUCCESS;
}

kern_return_t memory_object_data_provided(memory_object_control_t control, vm_offset_t offset, vm_offset_t data,
                                          mach_msg_type_number_t dataCnt, vm_prot_t lock_value) {
  MemoryObject* o = object_of(control);
  if (o == nullptr) return KERN_INVALID_ARGUMENT;
  o->data_supply(offset, reinterpret_cast<const uint8_t*>(data), dataCnt, lock_value, false, MACH_PORT_NULL, 0);
  return KERN_SUCCESS;
}

kern_return_t memory_object_data_unavailable(memory_object_control_t control, vm_offset_t offset, vm_size_t size) {
  MemoryObject* o = object_of(control);
  if (o == nullptr) return KERN_INVALID_ARGUMENT;
  return o->data_unavailable(offset, size);
}

kern_return_t memory_object_data_error(memory_object_control_t control, vm_offset_t offset, vm_size_t size,
                                       kern_return_t error_value) {
  MemoryObject* o = object_of(control);
  if (o == nullptr) return KERN_INVALID_ARGUMENT;
  return o->data_error(offset, size, error_value);
}

kern_return_t memory_object_lock_request(memory_object_control_t control, vm_offset_t offset, vm_size_t size,
                                         memory_object_return_t should_return, boolean_t should_flush,
                                         vm_prot_t lock_value, mach_port_t reply_to,
                                         mach_msg_type_name_t reply_toPoly) {
  MemoryObject* o = object_of(control);
  if (o == nullptr) return KERN_INVALID_ARGUMENT;
  // VM_PROT_NO_CHANGE (and the legacy VM_PROT_NO_CHANGE_LEGACY) keeps each
  // page's lock as it is.
  const bool no_change = lock_value == VM_PROT_NO_CHANGE || lock_value == VM_PROT_NO_CHANGE_LEGACY;
  if (should_return > MEMORY_OBJECT_RETURN_ANYTHING || (!no_change && (lock_value & ~VM_PROT_ALL) != 0))
    return KERN_INVALID_ARGUMENT;
  o->lock_request(offset, size, should_return, should_flush, lock_value, reply_of(reply_to), reply_toPoly);
  return KERN_SUCCESS;
}

kern_return_t memory_object_set_attributes(memory_object_control_t control, boolean_t object_ready,
                                           boolean_t may_cache, memory_object_copy_strategy_t copy_strategy) {
  MemoryObject* o = object_of(control);
  if (o == nullptr) return KERN_INVALID_ARGUMENT;
  o->set_attributes(object_ready, may_cache, copy_strategy);
  memory_objects().arm();
  return KERN_SUCCESS;
}

kern_return_t memory_object_ready(memory_object_control_t control, boolean_t may_cache,
                                  memory_object_copy_strategy_t copy_strategy) {
  return memory_object_set_attributes(control, TRUE, may_cache, copy_strategy);
}

kern_return_t memory_object_change_attributes(memory_object_control_t control, boolean_t may_cache,
                                              memory_object_copy_strategy_t copy_strategy, mach_port_t reply_to,
                                              mach_msg_type_name_t reply_toPoly) {
  MemoryObject* o = object_of(control);
  if (o == nullptr) return KERN_INVALID_ARGUMENT;
  return o->change_attributes(may_cache, copy_strategy, reply_of(reply_to), reply_toPoly);
}

kern_return_t memory_object_get_attributes(memory_object_control_t control, boolean_t* object_ready,
                                           boolean_t* may_cache, memory_object_copy_strategy_t* copy_strategy) {
  MemoryObject* o = object_of(control);
  if (o == nullptr) return KERN_INVALID_ARGUMENT;
  *object_ready = o->ready();
  *may_cache = o->may_cache();
  *copy_strategy = o->copy_strategy();
  return KERN_SUCCESS;
}

kern_return_t memory_object_destroy(memory_object_control_t control, kern_return_t) {
  MemoryObject* o = object_of(control);
  if (o == nullptr) return KERN_INVALID_ARGUMENT;
  memory_objects().destroy(o);
  return KERN_SUCCESS;
}

}  // extern "C"
