// machd/vm/wire_server.cc — vm_wire / mach_vm_wire (host_priv.defs) and
// task_wire (vm_map.defs), on any task.
//
//   vm_wire(host_priv, task, address, size, access): XNU's checks (not the
//   privileged host port: KERN_INVALID_HOST; not a task control port:
//   KERN_INVALID_TASK; access beyond VM_PROT_ALL: KERN_INVALID_ARGUMENT;
//   size 0: KERN_SUCCESS; a hole: KERN_INVALID_ADDRESS); access != NONE
//   wires (the task's agent mlocks the range; Linux refusing, e.g. over
//   RLIMIT_MEMLOCK, is XNU's KERN_RESOURCE_SHORTAGE), NONE unwires
//   (munlock). Unlike XNU, wirings are not counted: one unwire undoes any
//   number of wires, and access is not checked against the protection.
//   task_wire is obsolete in XNU: KERN_NOT_SUPPORTED for a task,
//   KERN_INVALID_ARGUMENT otherwise.
#include <mach/mach_types.h>
#include <mach/mig_errors.h>
#include <unistd.h>

#include "../../libmach-compat/src/vm_sanitize.h"
#include "address_map.h"
#include "agent_reply.h"
#include "kern/runtime.h"
#include "kern/translate.h"

extern "C" {
#include "host_privServer.h"
#include "vm_mapServer.h"
}

namespace machd::vm {
namespace {

using kern::KType;

kern_return_t wire(mach_port_t host_priv, mach_port_t task, uint64_t address, uint64_t size, vm_prot_t access) {
  if (!kern::translate(host_priv, {KType::kHostPriv})) return KERN_INVALID_HOST;
  auto t = kern::translate(task, {KType::kTask});
  if (!t) return KERN_INVALID_TASK;
  if (!machcompat::prot_ok(access, 0)) return KERN_INVALID_ARGUMENT;
  const uint64_t pm = uint64_t(sysconf(_SC_PAGESIZE)) - 1;
  machcompat::SanitizedRange r = machcompat::sanitize_addr_size(address, size, pm);
  if (r.kr != KERN_SUCCESS) return r.kr;
  if (r.empty) return KERN_SUCCESS;
  auto map = read_map(kern::runtime().host().pid_of(ipc::TaskId(*t)), false);
  if (!map) return KERN_INVALID_TASK;
  if (check_range(*map, r.start, r.end, VM_PROT_NONE) != KERN_SUCCESS) return KERN_INVALID_ADDRESS;
  kern::AgentCall c;
  c.op = access != VM_PROT_NONE ? MACHD_AGENT_MLOCK : MACHD_AGENT_MUNLOCK;
  c.args[0] = r.start;
  c.args[1] = r.end - r.start;
  return ask_agent(ipc::TaskId(*t), c, false);
}

}  // namespace
}  // namespace machd::vm

extern "C" {

kern_return_t vm_wire(host_priv_t host_priv, vm_map_t task, vm_address_t address, vm_size_t size,
                      vm_prot_t desired_access) {
  return machd::vm::wire(host_priv, task, address, size, desired_access);
}

kern_return_t mach_vm_wire(host_priv_t host_priv, vm_map_t task, mach_vm_address_t address, mach_vm_size_t size,
                           vm_prot_t desired_access) {
  return machd::vm::wire(host_priv, task, address, size, desired_access);
}

kern_return_t task_wire(vm_map_t target_task, boolean_t must_wire) {
  (void)must_wire;
  return machd::kern::translate(target_task, {machd::kern::KType::kTask}) ? KERN_NOT_SUPPORTED
                                                                          : KERN_INVALID_ARGUMENT;
}

}  // extern "C"
