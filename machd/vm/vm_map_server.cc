// machd/vm/vm_map_server.cc — the routines of vm_map.defs and mach_vm.defs
// machd serves on any task's map: read, read_overwrite, write, copy, region
// and region_recurse. Each translates the task port (a control port, or a
// read port for the vm_map_read_t routines), checks its arguments as XNU's
// vm_sanitize does, and makes one call into address_map / remote_memory /
// region_info. The calls that change a map (allocate, deallocate, protect,
// inherit, map, remap, ...) need the in-task agent and keep the generated
// KERN_NOT_SUPPORTED answer; the library serves them for the calling task
// itself in-process (libmach-compat/src/vm_regions.cc).
#include <mach/mig_errors.h>
#include <mach/mach_types.h>
#include <mach/vm_region.h>

#include <cstring>
#include <optional>

#include "address_map.h"
#include "kernel_servers.h"
#include "kern/runtime.h"
#include "kern/translate.h"
#include "region_info.h"
#include "remote_memory.h"

extern "C" {
#include "mach_vmServer.h"
#include "vm_mapServer.h"
}

namespace machd::vm {

namespace {

using kern::KType;

// The Linux process of the task whose map `port` names; 0 when the port is
// no such map (XNU: a null map, KERN_INVALID_ARGUMENT) or the task is gone.
pid_t map_pid(mach_port_t port, bool read_only) {
  std::optional<uint64_t> t = read_only ? kern::translate(port, {KType::kTask, KType::kTaskRead})
                                        : kern::translate(port, {KType::kTask});
  if (!t) return 0;
  return kern::runtime().host().pid_of(ipc::TaskId(*t));
}

// XNU vm_sanitize_addr_size with SIZE_ZERO_SUCCEEDS | CHECK_ADDR_RANGE: an
// overflowing range is an invalid argument, one reaching past the 48-bit
// address space an invalid address.
kern_return_t sanitize_range(uint64_t addr, uint64_t size) {
  if (size == 0) return KERN_SUCCESS;
  uint64_t end;
  if (__builtin_add_overflow(addr, size, &end)) return KERN_INVALID_ARGUMENT;
  constexpr uint64_t kVaTop = uint64_t(1) << 48;
  if ((addr & ~(kVaTop - 1)) != (end & ~(kVaTop - 1)) && end != kVaTop) return KERN_INVALID_ADDRESS;
  return KERN_SUCCESS;
}

kern_return_t do_read(mach_port_t task, uint64_t addr, uint64_t size, vm_offset_t* data,
                      mach_msg_type_number_t* count) {
  pid_t pid = map_pid(task, true);
  if (pid == 0) return KERN_INVALID_ARGUMENT;
  if (size > UINT32_MAX) return KERN_INVALID_ARGUMENT;  // the count is 32-bit
  if (kern_return_t kr = sanitize_range(addr, size); kr != KERN_SUCCESS) return kr;
  *data = 0;
  *count = 0;
  if (size == 0) return KERN_SUCCESS;
  void* buf = reply_alloc(size_t(size));
  if (buf == nullptr) return KERN_RESOURCE_SHORTAGE;
  MissingPages missing;
  if (kern_return_t kr = read_remote(pid, addr, buf, size_t(size), &missing); kr != KERN_SUCCESS)
    return serve_again_when_resident(missing) ? MIG_NO_REPLY : kr;
  *data = reinterpret_cast<vm_offset_t>(buf);
  *count = mach_msg_type_number_t(size);
  return KERN_SUCCESS;
}

// Reads the target's [addr, addr+size) into the requesting task at `dst`.
kern_return_t do_read_overwrite(mach_port_t task, uint64_t addr, uint64_t size, uint64_t dst, uint64_t* outsize) {
  pid_t pid = map_pid(task, true);
  if (pid == 0) return KERN_INVALID_ARGUMENT;
  if (kern_return_t kr = sanitize_range(addr, size); kr != KERN_SUCCESS) return kr;
  if (kern_return_t kr = sanitize_range(dst, size); kr != KERN_SUCCESS) return kr;
  pid_t self = kern::runtime().host().pid_of(kern::runtime().request().sender);
  if (self == 0) return KERN_INVALID_TASK;
  constexpr size_t kChunk = size_t(1) << 20;
  static char* buf = new char[kChunk];  // machd is single-threaded
  // Served again from the start after a wait: into its own source (same
  // task, ranges overlapping), it may wait only before its first write.
  const bool overlap = self == pid && dst < addr + size && addr < dst + size;
  MissingPages missing;
  for (uint64_t done = 0; done < size;) {
    size_t len = size_t(std::min<uint64_t>(kChunk, size - done));
    kern_return_t kr = read_remote(pid, addr + done, buf, len, done == 0 || !overlap ? &missing : nullptr);
    if (kr == KERN_SUCCESS) kr = write_remote(self, dst + done, buf, len, overlap ? nullptr : &missing);
    if (kr != KERN_SUCCESS) return serve_again_when_resident(missing) ? MIG_NO_REPLY : kr;
    done += len;
  }
  *outsize = size;
  return KERN_SUCCESS;
}

kern_return_t do_write(mach_port_t task, uint64_t addr, vm_offset_t data, mach_msg_type_number_t count) {
  pid_t pid = map_pid(task, false);
  if (pid == 0) return KERN_INVALID_ARGUMENT;
  if (kern_return_t kr = sanitize_range(addr, count); kr != KERN_SUCCESS) return kr;
  MissingPages missing;
  kern_return_t kr = write_remote(pid, addr, reinterpret_cast<const void*>(data), count, &missing);
  return kr != KERN_SUCCESS && serve_again_when_resident(missing) ? MIG_NO_REPLY : kr;
}

kern_return_t do_copy(mach_port_t task, uint64_t src, uint64_t size, uint64_t dst) {
  pid_t pid = map_pid(task, false);
  if (pid == 0) return KERN_INVALID_ARGUMENT;
  if (kern_return_t kr = sanitize_range(src, size); kr != KERN_SUCCESS) return kr;
  if (kern_return_t kr = sanitize_range(dst, size); kr != KERN_SUCCESS) return kr;
  MissingPages missing;
  kern_return_t kr = copy_remote(pid, src, dst, size_t(size), &missing);
  return kr != KERN_SUCCESS && serve_again_when_resident(missing) ? MIG_NO_REPLY : kr;
}

// The entry at or above *addr, as vm_map_region finds it.
kern_return_t find_entry(mach_port_t task, uint64_t addr, MapEntry* out) {
  pid_t pid = map_pid(task, true);
  if (pid == 0) return KERN_INVALID_ARGUMENT;
  auto map = read_map(pid, true);
  if (!map) return KERN_INVALID_ARGUMENT;
  const MapEntry* e = entry_at_or_above(*map, addr);
  if (e == nullptr) return KERN_INVALID_ADDRESS;
  *out = *e;
  return KERN_SUCCESS;
}

template <typename Addr, typename Size>
kern_return_t do_region(mach_port_t task, Addr* address, Size* size, vm_region_flavor_t flavor, vm_region_info_t info,
                        mach_msg_type_number_t* count, mach_port_t* object_name) {
  MapEntry e;
  if (kern_return_t kr = find_entry(task, *address, &e); kr != KERN_SUCCESS) return kr;
  if (kern_return_t kr = region_info(e, flavor, info, count); kr != KERN_SUCCESS) return kr;
  *address = Addr(e.start);
  *size = Size(e.end - e.start);
  *object_name = MACH_PORT_NULL;
  return KERN_SUCCESS;
}

template <typename Addr, typename Size>
kern_return_t do_region_recurse(mach_port_t task, Addr* address, Size* size, natural_t* depth, bool legacy,
                                vm_region_recurse_info_t info, mach_msg_type_number_t* count) {
  MapEntry e;
  if (kern_return_t kr = find_entry(task, *address, &e); kr != KERN_SUCCESS) return kr;
  if (kern_return_t kr = region_recurse_info(e, legacy, info, count); kr != KERN_SUCCESS) return kr;
  *address = Addr(e.start);
  *size = Size(e.end - e.start);
  *depth = 0;  // no submaps
  return KERN_SUCCESS;
}

}  // namespace
}  // namespace machd::vm

using namespace machd::vm;

extern "C" {

// ---- mach_vm.defs ------------------------------------------------------------
kern_return_t mach_vm_read(vm_map_read_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                           vm_offset_t* data, mach_msg_type_number_t* dataCnt) {
  return do_read(target_task, address, size, data, dataCnt);
}

kern_return_t mach_vm_read_overwrite(vm_map_read_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                                     mach_vm_address_t data, mach_vm_size_t* outsize) {
  uint64_t out = 0;
  kern_return_t kr = do_read_overwrite(target_task, address, size, data, &out);
  if (kr == KERN_SUCCESS) *outsize = out;
  return kr;
}

kern_return_t mach_vm_write(vm_map_t target_task, mach_vm_address_t address, vm_offset_t data,
                            mach_msg_type_number_t dataCnt) {
  return do_write(target_task, address, data, dataCnt);
}

kern_return_t mach_vm_copy(vm_map_t target_task, mach_vm_address_t source_address, mach_vm_size_t size,
                           mach_vm_address_t dest_address) {
  return do_copy(target_task, source_address, size, dest_address);
}

kern_return_t mach_vm_region(vm_map_read_t target_task, mach_vm_address_t* address, mach_vm_size_t* size,
                             vm_region_flavor_t flavor, vm_region_info_t info, mach_msg_type_number_t* infoCnt,
                             mach_port_t* object_name) {
  return do_region(target_task, address, size, flavor, info, infoCnt, object_name);
}

kern_return_t mach_vm_region_recurse(vm_map_read_t target_task, mach_vm_address_t* address, mach_vm_size_t* size,
                                     natural_t* nesting_depth, vm_region_recurse_info_t info,
                                     mach_msg_type_number_t* infoCnt) {
  return do_region_recurse(target_task, address, size, nesting_depth, false, info, infoCnt);
}

// ---- vm_map.defs ---------------------------------------------------------------
kern_return_t vm_read(vm_map_read_t target_task, vm_address_t address, vm_size_t size, vm_offset_t* data,
                      mach_msg_type_number_t* dataCnt) {
  return do_read(target_task, address, size, data, dataCnt);
}

kern_return_t vm_read_overwrite(vm_map_read_t target_task, vm_address_t address, vm_size_t size, vm_address_t data,
                                vm_size_t* outsize) {
  uint64_t out = 0;
  kern_return_t kr = do_read_overwrite(target_task, address, size, data, &out);
  if (kr == KERN_SUCCESS) *outsize = out;
  return kr;
}

kern_return_t vm_write(vm_map_t target_task, vm_address_t address, vm_offset_t data, mach_msg_type_number_t dataCnt) {
  return do_write(target_task, address, data, dataCnt);
}

kern_return_t vm_copy(vm_map_t target_task, vm_address_t source_address, vm_size_t size, vm_address_t dest_address) {
  return do_copy(target_task, source_address, size, dest_address);
}

kern_return_t vm_region(vm_map_read_t target_task, vm_address_t* address, vm_size_t* size, vm_region_flavor_t flavor,
                        vm_region_info_t info, mach_msg_type_number_t* infoCnt, mach_port_t* object_name) {
  return do_region(target_task, address, size, flavor, info, infoCnt, object_name);
}

kern_return_t vm_region_64(vm_map_read_t target_task, vm_address_t* address, vm_size_t* size,
                           vm_region_flavor_t flavor, vm_region_info_t info, mach_msg_type_number_t* infoCnt,
                           mach_port_t* object_name) {
  return do_region(target_task, address, size, flavor, info, infoCnt, object_name);
}

kern_return_t vm_region_recurse(vm_map_read_t target_task, vm_address_t* address, vm_size_t* size,
                                natural_t* nesting_depth, vm_region_recurse_info_t info,
                                mach_msg_type_number_t* infoCnt) {
  return do_region_recurse(target_task, address, size, nesting_depth, true, info, infoCnt);
}

kern_return_t vm_region_recurse_64(vm_map_read_t target_task, vm_address_t* address, vm_size_t* size,
                                   natural_t* nesting_depth, vm_region_recurse_info_t info,
                                   mach_msg_type_number_t* infoCnt) {
  return do_region_recurse(target_task, address, size, nesting_depth, false, info, infoCnt);
}

}  // extern "C"
