// machd/vm/pager_link.h — the kernel's messages to a pager: the
// memory_object protocol (GNU Mach's memory_object.defs) sent from machd's
// kernel task.
//
// The messages are built by the MIG user stubs our mig generates from the
// installed mig/defs/mach/memory_object.defs, compiled for machd with
// mach_msg redirected to kern::runtime().send() (machd_kernel_mach_msg):
// the wire is exactly what a pager's generated server expects. Every
// message is a one-way send that never blocks; an undeliverable one (a
// dead pager, a full queue) is dropped with its rights, and the object's
// request deadline then fails the waiting threads.
//
// Ports of an object (kernel-task names):
//   pager    a send right to the memory object port (from vm_map)
//   control  the object's control port (a kobject, KType::kMemoryObjectControl)
//   name     its name port (KType::kMemoryObjectName, what vm_region reports)
// terminate moves the receive rights of control and name to the pager, as
// GNU Mach does; they stop being kernel objects first.
#pragma once

#include <unordered_map>

#include "memory_object.h"

namespace machd::vm {

struct ObjectPorts {
  mach_port_name_t pager = MACH_PORT_NULL;
  mach_port_name_t control = MACH_PORT_NULL;
  mach_port_name_t name = MACH_PORT_NULL;
};

class MessagePagerLink final : public PagerLink {
 public:
  // The ports of object `id` (set before the object is created: its
  // constructor sends memory_object_init).
  void set_ports(uint64_t id, const ObjectPorts& p) { ports_[id] = p; }
  const ObjectPorts* ports(uint64_t id) const;
  // Drops what the link holds for the object (its send right to the pager,
  // the control and name ports unless terminate moved them).
  void forget(uint64_t id);

  void init(MemoryObject& o) override;
  void data_request(MemoryObject& o, uint64_t offset, uint64_t length, vm_prot_t access) override;
  void data_unlock(MemoryObject& o, uint64_t offset, uint64_t length, vm_prot_t access) override;
  bool data_return(MemoryObject& o, uint64_t offset, uint64_t length, bool dirty, bool kernel_copy) override;
  void lock_completed(MemoryObject& o, mach_port_name_t reply_to, mach_msg_type_name_t reply_type, uint64_t offset, uint64_t length) override;
  void supply_completed(MemoryObject& o, mach_port_name_t reply_to, mach_msg_type_name_t reply_type, uint64_t offset, uint64_t length,
                        kern_return_t result, uint64_t error_offset) override;
  void change_completed(MemoryObject& o, mach_port_name_t reply_to, mach_msg_type_name_t reply_type, bool may_cache,
                        memory_object_copy_strategy_t strategy) override;
  void terminate(MemoryObject& o) override;
  // The first page-out of an internal object makes its ports (a new
  // memory object port whose receive right goes to the default memory
  // manager in memory_object_create, a control and a name port); after
  // that, as data_return.
  bool page_out(MemoryObject& o, uint64_t offset, uint64_t length, bool initialize) override;

  // MEMORY_OBJECT_COPY_CALL: a new memory object port is made, its receive
  // right sent to o's pager in memory_object_copy(o, control, offset,
  // length, new); the pager serves it as the copy of that range. Returns a
  // send right (kernel-task name) to the new object, MACH_PORT_NULL on
  // failure.
  mach_port_name_t copy(MemoryObject& o, uint64_t offset, uint64_t length);

 private:
  // memory_object_create to the default memory manager; false if none.
  bool hand_to_default_manager(MemoryObject& o);

  std::unordered_map<uint64_t, ObjectPorts> ports_;
};

}  // namespace machd::vm
