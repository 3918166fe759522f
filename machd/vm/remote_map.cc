// machd/vm/remote_map.cc — allocate, deallocate, protect and inherit in
// ANOTHER task's map (the library serves its own task in-process and sends
// these only for other tasks, except vm_allocate under a memory budget,
// which is anonymous_memory.h's for every task). Linux lets only the process itself change
// its mappings, so each routine checks its arguments as XNU's vm_sanitize
// does (the library's own checks, vm_sanitize.h), then asks the task's
// in-task agent (kern/agent.h) and answers later from the agent's
// completion (defer / send_reply): machd never waits on a task.
//
// vm_map / vm_map_64 / mach_vm_map: anonymous memory (object null) or a
// memory entry's memfd (MAP_SHARED, copy=TRUE: MAP_PRIVATE), mapped by the
// agent with cur_protection.
//
// Not done remotely (KERN_NOT_SUPPORTED): set_maximum (the maximum lives in
// the task's library; vm_map's max_protection is checked, not recorded),
// inheritance SHARE (it turns the range into a memfd mapping, which the
// task must do; also for vm_map of anonymous memory), vm_map with an
// alignment mask beyond a page, VM_FLAGS_PERMANENT.
#include <mach/mach_types.h>
#include <mach/mig_errors.h>
#include <sys/mman.h>
#include <unistd.h>

#include <optional>

#include "../../libmach-compat/src/vm_sanitize.h"  // header-only, pure: the same checks as the library's
#include "address_map.h"
#include "kern/agent.h"
#include "kern/runtime.h"
#include "kern/translate.h"
#include "agent_reply.h"
#include "anonymous_memory.h"
#include "memory_entry.h"
#include "object_map.h"

extern "C" {
#include "mach_vmServer.h"
#include "vm_mapServer.h"
}

namespace machd::vm {

namespace {

using kern::KType;

constexpr uint64_t kUserTop = uint64_t(1) << 47;

uint64_t page_mask() { return uint64_t(sysconf(_SC_PAGESIZE)) - 1; }

std::optional<ipc::TaskId> target(mach_port_t port) {
  auto t = kern::translate(port, {KType::kTask});
  if (!t) return std::nullopt;
  return ipc::TaskId(*t);
}

int to_linux(vm_prot_t p) {
  return ((p & VM_PROT_READ) ? PROT_READ : 0) | ((p & VM_PROT_WRITE) ? PROT_WRITE : 0) |
         ((p & VM_PROT_EXECUTE) ? PROT_EXEC : 0);
}

#pragma pack(push, 4)
struct AddressReply {
  mach_msg_header_t Head;
  NDR_record_t NDR;
  kern_return_t RetCode;
  uint64_t address;
};
#pragma pack(pop)

}  // namespace

kern_return_t ask_agent(ipc::TaskId t, const kern::AgentCall& call, bool with_address) {
  kern::DeferredReply d = kern::runtime().defer();
  kern::agent().request(t, call, [d, with_address](const kern::AgentResult& r) {
    kern_return_t kr = r.result;
    if (kr == KERN_TERMINATED || kr == KERN_OPERATION_TIMED_OUT) kr = KERN_INVALID_TASK;
    if (kr != KERN_SUCCESS) {
      kern::runtime().send_error_reply(d, kr);
      return;
    }
    if (!with_address) {
      kern::runtime().send_error_reply(d, KERN_SUCCESS);  // a bare RetCode reply
      return;
    }
    send_address_reply(d, r.rets[0]);
  });
  return MIG_NO_REPLY;
}

void send_address_reply(const kern::DeferredReply& d, uint64_t address) {
  AddressReply rep{};
  rep.NDR = NDR_record;
  rep.RetCode = KERN_SUCCESS;
  rep.address = address;
  kern::runtime().send_reply(d, &rep, sizeof rep);
}

namespace {

kern_return_t remote_allocate(mach_port_t task, uint64_t* address, uint64_t size, int flags) {
  auto t = target(task);
  if (!t) return KERN_INVALID_ARGUMENT;
  if (!machcompat::allocate_flags_ok(flags)) return KERN_INVALID_ARGUMENT;
  const bool anywhere = (flags & VM_FLAGS_ANYWHERE) != 0;
  const bool overwrite = (flags & VM_FLAGS_OVERWRITE) != 0;
  if (anywhere && overwrite) return KERN_INVALID_ARGUMENT;
  if (flags & VM_FLAGS_PERMANENT) return KERN_NOT_SUPPORTED;
  machcompat::SanitizedRange r = machcompat::sanitize_addr_size(anywhere ? 0 : *address, size, page_mask());
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty) {
    *address = 0;
    return KERN_SUCCESS;
  }
  if (!anywhere && (r.start < 0x10000 || r.end > kUserTop)) return KERN_INVALID_ADDRESS;
  const int fixed = anywhere ? 0 : (overwrite ? MAP_FIXED : MAP_FIXED_NOREPLACE);
  if (AnonymousMemory& anon = anonymous_memory(); anon.takes(*t, r.end - r.start))
    return anon.allocate(*t, anywhere ? 0 : r.start, r.end - r.start, fixed);
  kern::AgentCall c;
  c.op = MACHD_AGENT_MMAP;
  c.args[0] = anywhere ? 0 : r.start;
  c.args[1] = r.end - r.start;
  c.args[2] = PROT_READ | PROT_WRITE;
  c.args[3] = MAP_PRIVATE | MAP_ANONYMOUS | fixed;
  return ask_agent(*t, c, true);
}

kern_return_t remote_deallocate(mach_port_t task, uint64_t address, uint64_t size) {
  auto t = target(task);
  if (!t) return KERN_INVALID_ARGUMENT;
  machcompat::SanitizedRange r = machcompat::sanitize_addr_size(address, size, page_mask());
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty || r.start >= kUserTop) return KERN_SUCCESS;
  kern::AgentCall c;
  c.op = MACHD_AGENT_MUNMAP;
  c.args[0] = r.start;
  c.args[1] = std::min(r.end, kUserTop) - r.start;
  return ask_agent(*t, c, false);
}

kern_return_t remote_protect(mach_port_t task, uint64_t address, uint64_t size, boolean_t set_maximum,
                             vm_prot_t prot) {
  auto t = target(task);
  if (!t) return KERN_INVALID_ARGUMENT;
  if (!machcompat::prot_ok(prot, VM_PROT_COPY)) return KERN_INVALID_ARGUMENT;
  machcompat::SanitizedRange r = machcompat::sanitize_addr_size(address, size, page_mask());
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty) return KERN_SUCCESS;
  if (set_maximum) return KERN_NOT_SUPPORTED;
  auto map = read_map(kern::runtime().host().pid_of(*t), false);
  if (!map) return KERN_INVALID_TASK;
  if (check_range(*map, r.start, r.end, VM_PROT_NONE) != KERN_SUCCESS) return KERN_INVALID_ADDRESS;
  kern::AgentCall c;
  c.op = MACHD_AGENT_MPROTECT;
  c.args[0] = r.start;
  c.args[1] = r.end - r.start;
  c.args[2] = uint64_t(to_linux(prot & ~VM_PROT_COPY));
  return ask_agent(*t, c, false);
}

kern_return_t remote_inherit(mach_port_t task, uint64_t address, uint64_t size, vm_inherit_t inheritance) {
  auto t = target(task);
  if (!t) return KERN_INVALID_ARGUMENT;
  if (!machcompat::inherit_ok(inheritance)) return KERN_INVALID_ARGUMENT;
  machcompat::SanitizedRange r = machcompat::sanitize_addr_size(address, size, page_mask());
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty) return KERN_SUCCESS;
  if (inheritance == VM_INHERIT_SHARE) return KERN_NOT_SUPPORTED;
  kern::AgentCall c;
  c.op = MACHD_AGENT_MADVISE;
  c.args[0] = r.start;
  c.args[1] = r.end - r.start;
  c.args[2] = inheritance == VM_INHERIT_NONE ? MADV_DONTFORK : MADV_DOFORK;
  return ask_agent(*t, c, false);
}

// XNU's vm_map checks (the library's map_self does the same for itself).
kern_return_t remote_vm_map(mach_port_t task, uint64_t* address, uint64_t size, uint64_t mask, int flags,
                            mach_port_t object, uint64_t offset, boolean_t copy, vm_prot_t cur, vm_prot_t max,
                            vm_inherit_t inheritance) {
  auto t = target(task);
  if (!t) return KERN_INVALID_ARGUMENT;
  if ((flags & ~VM_FLAGS_USER_MAP) != 0) return KERN_INVALID_ARGUMENT;
  if (!machcompat::prot_ok(cur, 0) || !machcompat::prot_ok(max, 0) || (cur & max) != cur) return KERN_INVALID_ARGUMENT;
  if (!machcompat::inherit_ok(inheritance)) return KERN_INVALID_ARGUMENT;
  const bool anywhere = (flags & VM_FLAGS_ANYWHERE) != 0;
  const bool overwrite = (flags & VM_FLAGS_OVERWRITE) != 0;
  if (anywhere && overwrite) return KERN_INVALID_ARGUMENT;
  const uint64_t pm = page_mask();
  machcompat::SanitizedRange r = machcompat::sanitize_addr_size(anywhere ? 0 : *address, size, pm);
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty) return KERN_INVALID_ARGUMENT;  // XNU: a zero-size map fails
  if (!anywhere && (r.start < 0x10000 || r.end > kUserTop)) return KERN_INVALID_ADDRESS;
  const uint64_t len = r.end - r.start;
  MemoryEntry* e = nullptr;
  if (MACH_PORT_VALID(object)) {
    e = memory_entries().find(object);
    if (e == nullptr) {
      // Another kernel object is no memory; a plain port is a pager's
      // memory object.
      if (kern::runtime().object_of(object).type != 0) return KERN_INVALID_ARGUMENT;
      if ((mask | pm) != pm || (flags & VM_FLAGS_PERMANENT)) return KERN_NOT_SUPPORTED;
      const int fixed = anywhere ? 0 : (overwrite ? MAP_FIXED : MAP_FIXED_NOREPLACE);
      return map_memory_object(*t, anywhere ? 0 : r.start, len, fixed, object, offset, copy, cur, max, inheritance);
    }
    uint64_t end;
    if ((offset & pm) != 0 || __builtin_add_overflow(offset, len, &end) || end > e->size) return KERN_INVALID_ARGUMENT;
    if (!copy && (max & e->protection) != max) return KERN_INVALID_RIGHT;
  } else if (object != MACH_PORT_NULL) {
    return KERN_INVALID_ARGUMENT;
  }
  if ((mask | pm) != pm || (flags & VM_FLAGS_PERMANENT)) return KERN_NOT_SUPPORTED;
  if (inheritance == VM_INHERIT_SHARE && e == nullptr) return KERN_NOT_SUPPORTED;
  kern::AgentCall c;
  c.op = MACHD_AGENT_MMAP;
  c.args[0] = anywhere ? 0 : r.start;
  c.args[1] = len;
  c.args[2] = uint64_t(to_linux(cur));
  const int fixed = anywhere ? 0 : (overwrite ? MAP_FIXED : MAP_FIXED_NOREPLACE);
  if (e != nullptr) {
    c.args[3] = uint64_t((copy ? MAP_PRIVATE : MAP_SHARED) | fixed);
    c.args[5] = e->offset + offset;
    c.fd = e->fd;  // sent now; the entry keeps its fd
  } else {
    c.args[3] = uint64_t(MAP_PRIVATE | MAP_ANONYMOUS | fixed);
  }
  // (VM_INHERIT_NONE would need a second agent call: MADV_DONTFORK.)
  if (inheritance == VM_INHERIT_NONE) return KERN_NOT_SUPPORTED;
  kern_return_t kr = ask_agent(*t, c, true);
  if (MACH_PORT_VALID(object)) kern::runtime().release_send(object);  // the request's copy (an error reply releases it)
  return kr;
}

}  // namespace
}  // namespace machd::vm

using namespace machd::vm;

extern "C" {

kern_return_t mach_vm_allocate(vm_map_t target, mach_vm_address_t* address, mach_vm_size_t size, int flags) {
  uint64_t a = *address;
  kern_return_t kr = remote_allocate(target, &a, size, flags);
  *address = a;
  return kr;
}

kern_return_t vm_allocate(vm_map_t target_task, vm_address_t* address, vm_size_t size, int flags) {
  uint64_t a = *address;
  kern_return_t kr = remote_allocate(target_task, &a, size, flags);
  *address = vm_address_t(a);
  return kr;
}

kern_return_t mach_vm_deallocate(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size) {
  return remote_deallocate(target, address, size);
}

kern_return_t vm_deallocate(vm_map_t target_task, vm_address_t address, vm_size_t size) {
  return remote_deallocate(target_task, address, size);
}

kern_return_t mach_vm_protect(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                              boolean_t set_maximum, vm_prot_t new_protection) {
  return remote_protect(target_task, address, size, set_maximum, new_protection);
}

kern_return_t vm_protect(vm_map_t target_task, vm_address_t address, vm_size_t size, boolean_t set_maximum,
                         vm_prot_t new_protection) {
  return remote_protect(target_task, address, size, set_maximum, new_protection);
}

kern_return_t mach_vm_inherit(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                              vm_inherit_t new_inheritance) {
  return remote_inherit(target_task, address, size, new_inheritance);
}

kern_return_t vm_inherit(vm_map_t target_task, vm_address_t address, vm_size_t size, vm_inherit_t new_inheritance) {
  return remote_inherit(target_task, address, size, new_inheritance);
}

kern_return_t mach_vm_map(vm_map_t target_task, mach_vm_address_t* address, mach_vm_size_t size,
                          mach_vm_offset_t mask, int flags, mem_entry_name_port_t object, memory_object_offset_t offset,
                          boolean_t copy, vm_prot_t cur_protection, vm_prot_t max_protection,
                          vm_inherit_t inheritance) {
  uint64_t a = *address;
  kern_return_t kr = remote_vm_map(target_task, &a, size, mask, flags, object, offset, copy, cur_protection,
                                   max_protection, inheritance);
  *address = a;
  return kr;
}

kern_return_t vm_map_64(vm_map_t target_task, vm_address_t* address, vm_size_t size, vm_address_t mask, int flags,
                        mem_entry_name_port_t object, memory_object_offset_t offset, boolean_t copy,
                        vm_prot_t cur_protection, vm_prot_t max_protection, vm_inherit_t inheritance) {
  uint64_t a = *address;
  kern_return_t kr = remote_vm_map(target_task, &a, size, mask, flags, object, offset, copy, cur_protection,
                                   max_protection, inheritance);
  *address = vm_address_t(a);
  return kr;
}

kern_return_t vm_map(vm_map_t target_task, vm_address_t* address, vm_size_t size, vm_address_t mask, int flags,
                     mem_entry_name_port_t object, vm_offset_t offset, boolean_t copy, vm_prot_t cur_protection,
                     vm_prot_t max_protection, vm_inherit_t inheritance) {
  return vm_map_64(target_task, address, size, mask, flags, object, offset, copy, cur_protection, max_protection,
                   inheritance);
}

}  // extern "C"
