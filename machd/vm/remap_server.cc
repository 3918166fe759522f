// machd/vm/remap_server.cc — vm_remap / mach_vm_remap: a range of a source
// task mapped into a target task (either may be the caller). copy=TRUE: the
// source's bytes are read into a memfd that the target's in-task agent maps
// MAP_PRIVATE. copy=FALSE (share): the source range must lie in one shared
// memfd mapping (large vm_allocate regions, SHARE regions, memory entries);
// its memfd (pidfd_getfd) is mapped MAP_SHARED, so both see each other's
// writes. Sharing private anonymous memory would need the source task to
// remap it first: KERN_NOT_SUPPORTED. The answer comes from the agent's
// completion. cur/max protection out: the source's current protection
// (lowest over the range) and VM_PROT_ALL. Alignment masks beyond a page
// and inheritance other than the default are KERN_NOT_SUPPORTED.
#include <mach/mach_types.h>
#include <mach/mig_errors.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

#include "address_map.h"
#include "kern/agent.h"
#include "kern/runtime.h"
#include "kern/translate.h"
#include "memory_entry.h"
#include "remote_memory.h"

extern "C" {
#include "mach_vmServer.h"
#include "vm_mapServer.h"
}

namespace machd::vm {

namespace {

constexpr uint64_t kMaxCopy = uint64_t(256) << 20;

int linux_prot(vm_prot_t p) {
  return ((p & VM_PROT_READ) ? PROT_READ : 0) | ((p & VM_PROT_WRITE) ? PROT_WRITE : 0) |
         ((p & VM_PROT_EXECUTE) ? PROT_EXEC : 0);
}

// A memfd holding a copy of the source's [start, start+len); or -1 with
// *kr, MIG_NO_REPLY when the request is to be served again once pages a
// pager holds are in (serve_again_when_resident).
int copy_to_memfd(pid_t pid, uint64_t start, uint64_t len, kern_return_t* kr) {
  int fd = memfd_create("machd-remap", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, off_t(len)) != 0) {
    if (fd >= 0) close(fd);
    *kr = KERN_RESOURCE_SHORTAGE;
    return -1;
  }
  std::vector<char> buf(size_t(std::min<uint64_t>(len, 1 << 20)));
  MissingPages missing;
  for (uint64_t done = 0; done < len;) {
    size_t n = size_t(std::min<uint64_t>(buf.size(), len - done));
    *kr = read_remote(pid, start + done, buf.data(), n, &missing);
    if (*kr == KERN_SUCCESS && pwrite(fd, buf.data(), n, off_t(done)) != ssize_t(n)) *kr = KERN_RESOURCE_SHORTAGE;
    if (*kr != KERN_SUCCESS) {
      close(fd);  // (the copy is taken again whole after a wait)
      if (serve_again_when_resident(missing)) *kr = MIG_NO_REPLY;
      return -1;
    }
    done += n;
  }
  return fd;
}

template <typename Reply>
kern_return_t remap(mach_port_t target_port, uint64_t* address, uint64_t size, uint64_t mask, int flags,
                    mach_port_t src_port, uint64_t src_address, bool copy, vm_inherit_t inheritance) {
  auto target = kern::translate(target_port, {kern::KType::kTask});
  auto src = kern::translate(src_port, {kern::KType::kTask});
  if (!target || !src) return KERN_INVALID_ARGUMENT;
  if ((flags & ~VM_FLAGS_USER_REMAP) != 0) return KERN_INVALID_ARGUMENT;
  const bool anywhere = (flags & VM_FLAGS_ANYWHERE) != 0;
  const bool overwrite = (flags & VM_FLAGS_OVERWRITE) != 0;
  if (anywhere && overwrite) return KERN_INVALID_ARGUMENT;
  if (inheritance > VM_INHERIT_LAST_VALID) return KERN_INVALID_ARGUMENT;
  const uint64_t pm = uint64_t(sysconf(_SC_PAGESIZE)) - 1;
  uint64_t end;
  if (size == 0 || __builtin_add_overflow(src_address, size, &end) || end + pm < end) return KERN_INVALID_ARGUMENT;
  if ((mask & ~pm) != 0 || inheritance != VM_INHERIT_DEFAULT) return KERN_NOT_SUPPORTED;
  const uint64_t start = src_address & ~pm;
  end = (end + pm) & ~pm;
  const uint64_t len = end - start;
  kern::Runtime& rt = kern::runtime();
  const pid_t src_pid = rt.host().pid_of(ipc::TaskId(*src));
  auto map = read_map(src_pid, false);
  if (!map) return KERN_INVALID_ARGUMENT;
  if (check_range(*map, start, end, VM_PROT_NONE) != KERN_SUCCESS) return KERN_INVALID_ADDRESS;
  vm_prot_t cur = VM_PROT_ALL;
  for (const MapEntry& e : *map)
    if (e.end > start && e.start < end) cur &= e.protection;

  int fd = -1;
  uint64_t file_offset = 0;
  if (copy) {
    if (len > kMaxCopy) return KERN_RESOURCE_SHORTAGE;
    kern_return_t kr = KERN_SUCCESS;
    fd = copy_to_memfd(src_pid, start, len, &kr);
    if (fd < 0) return kr;
  } else {
    const MapEntry* e = entry_at_or_above(*map, start);
    if (e == nullptr || e->start > start || e->end < end || !e->shared || e->path.compare(0, 7, "/memfd:") != 0)
      return KERN_NOT_SUPPORTED;
    fd = task_fd_of_inode(ipc::TaskId(*src), src_pid, e->inode);
    if (fd < 0) return KERN_NOT_SUPPORTED;
    file_offset = e->offset + (start - e->start);
  }
  kern::AgentCall c;
  c.op = MACHD_AGENT_MMAP;
  c.args[0] = anywhere ? 0 : (*address & ~pm);
  c.args[1] = len;
  c.args[2] = uint64_t(linux_prot(cur));
  c.args[3] = uint64_t((copy ? MAP_PRIVATE : MAP_SHARED) | (anywhere ? 0 : (overwrite ? MAP_FIXED : MAP_FIXED_NOREPLACE)));
  c.args[5] = file_offset;
  c.fd = fd;
  kern::DeferredReply d = rt.defer();
  kern::agent().request(ipc::TaskId(*target), c, [d, cur](const kern::AgentResult& r) {
    if (r.result != KERN_SUCCESS) {
      kern_return_t kr = r.result;
      if (kr == KERN_TERMINATED || kr == KERN_OPERATION_TIMED_OUT) kr = KERN_INVALID_TASK;
      kern::runtime().send_error_reply(d, kr);
      return;
    }
    Reply rep{};
    rep.NDR = NDR_record;
    rep.RetCode = KERN_SUCCESS;
    rep.target_address = decltype(rep.target_address)(r.rets[0]);
    rep.cur_protection = cur;
    rep.max_protection = VM_PROT_ALL;
    kern::runtime().send_reply(d, &rep, sizeof rep);
  });
  close(fd);  // the agent sent its own copy
  rt.release_send(src_port);  // consumed (the deferred request keeps its body)
  return MIG_NO_REPLY;
}

}  // namespace
}  // namespace machd::vm

extern "C" {

kern_return_t mach_vm_remap(vm_map_t target_task, mach_vm_address_t* target_address, mach_vm_size_t size,
                            mach_vm_offset_t mask, int flags, vm_map_t src_task, mach_vm_address_t src_address,
                            boolean_t copy, vm_prot_t* cur_protection, vm_prot_t* max_protection,
                            vm_inherit_t inheritance) {
  (void)cur_protection;
  (void)max_protection;
  uint64_t a = *target_address;
  return machd::vm::remap<__Reply__mach_vm_remap_t>(target_task, &a, size, mask, flags, src_task, src_address,
                                                    copy != 0, inheritance);
}

kern_return_t vm_remap(vm_map_t target_task, vm_address_t* target_address, vm_size_t size, vm_address_t mask,
                       int flags, vm_map_t src_task, vm_address_t src_address, boolean_t copy,
                       vm_prot_t* cur_protection, vm_prot_t* max_protection, vm_inherit_t inheritance) {
  (void)cur_protection;
  (void)max_protection;
  uint64_t a = *target_address;
  return machd::vm::remap<__Reply__vm_remap_t>(target_task, &a, size, mask, flags, src_task, src_address, copy != 0,
                                               inheritance);
}

}  // extern "C"
