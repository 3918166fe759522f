// machd/vm/memory_entry_server.cc — mach_make_memory_entry(_64) (vm_map.defs),
// _mach_make_memory_entry (mach_vm.defs) and mach_memory_entry_purgable_control
// (memory_entry.defs). See memory_entry.h for what an entry is.
#include <dirent.h>
#include <fcntl.h>
#include <mach/mig_errors.h>
#include <mach/mach_types.h>
#include <mach/memory_object_types.h>
#include <mach/vm_purgable.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "address_map.h"
#include "kern/runtime.h"
#include "kern/translate.h"
#include "memory_entry.h"
#include "remote_memory.h"

extern "C" {
#include "mach_vmServer.h"
#include "memory_entryServer.h"
#include "vm_mapServer.h"
}

namespace machd::vm {

namespace {

using kern::KType;

uint64_t page_mask() { return uint64_t(sysconf(_SC_PAGESIZE)) - 1; }

int new_memfd(uint64_t size) {
  int fd = memfd_create("mach-memory-entry", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd >= 0 && ftruncate(fd, off_t(size)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int task_fd_of_inode(ipc::TaskId task, pid_t pid, uint64_t ino) {
  const int pidfd = kern::runtime().host().pidfd_of(task);
  if (pidfd < 0) return -1;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int found = -1;
  while (dirent* de = readdir(d)) {
    struct stat st{};
    if (de->d_name[0] == '.' || stat((dir + "/" + de->d_name).c_str(), &st) != 0 || st.st_ino != ino) continue;
    found = int(syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0));
    // Where pidfd_getfd is filtered (container seccomp profiles), reopening
    // the descriptor's /proc link gives the same memfd, under the same
    // ptrace-access check.
    if (found < 0) found = open((dir + "/" + de->d_name).c_str(), O_RDWR | O_CLOEXEC);
    break;
  }
  closedir(d);
  return found;
}

namespace {

// A memory entry for [offset, offset+size) of the task's map (page aligned).
// Shared memfd mappings are shared; with MAP_MEM_VM_COPY a snapshot is taken.
kern_return_t entry_of_task(mach_port_t task_port, uint64_t offset, uint64_t size, vm_prot_t permission,
                            mach_port_t* handle) {
  auto task = kern::translate(task_port, {KType::kTask});
  if (!task) return KERN_INVALID_ARGUMENT;
  const ipc::TaskId t = ipc::TaskId(*task);
  const pid_t pid = kern::runtime().host().pid_of(t);
  auto map = read_map(pid, false);
  if (!map) return KERN_INVALID_ARGUMENT;
  const vm_prot_t prot = permission & VM_PROT_ALL;
  if (kern_return_t kr = check_range(*map, offset, offset + size, prot); kr != KERN_SUCCESS) return kr;
  if (permission & MAP_MEM_VM_COPY) {
    int fd = new_memfd(size);
    if (fd < 0) return KERN_RESOURCE_SHORTAGE;
    std::vector<char> buf(size_t(std::min<uint64_t>(size, 1 << 20)));
    MissingPages missing;
    for (uint64_t done = 0; done < size;) {
      size_t n = size_t(std::min<uint64_t>(buf.size(), size - done));
      kern_return_t kr = read_remote(pid, offset + done, buf.data(), n, &missing);
      if (kr == KERN_SUCCESS && pwrite(fd, buf.data(), n, off_t(done)) != ssize_t(n)) kr = KERN_RESOURCE_SHORTAGE;
      if (kr != KERN_SUCCESS) {
        close(fd);  // (the snapshot is taken again whole after a wait)
        return serve_again_when_resident(missing) ? MIG_NO_REPLY : kr;
      }
      done += n;
    }
    *handle = memory_entries().create(fd, 0, size, prot, false);
    return *handle ? KERN_SUCCESS : KERN_RESOURCE_SHORTAGE;
  }
  const MapEntry* e = entry_at_or_above(*map, offset);
  // Sharing needs one shared memfd mapping over the whole range; private
  // memory could only be shared by remapping it in the task (the agent).
  if (e == nullptr || e->start > offset || e->end < offset + size || !e->shared ||
      e->path.compare(0, 7, "/memfd:") != 0)
    return KERN_NOT_SUPPORTED;
  int fd = task_fd_of_inode(t, pid, e->inode);
  if (fd < 0) return KERN_NOT_SUPPORTED;
  *handle = memory_entries().create(fd, e->offset + (offset - e->start), size, prot, false);
  return *handle ? KERN_SUCCESS : KERN_RESOURCE_SHORTAGE;
}

kern_return_t make_entry_core(mach_port_t task_port, uint64_t* size, uint64_t offset, vm_prot_t permission,
                         mach_port_t* handle, mach_port_t parent) {
  if (permission & MAP_MEM_ONLY) return KERN_NOT_SUPPORTED;  // cache attributes of an existing entry
  const uint64_t pm = page_mask();
  const uint64_t start = offset & ~pm;
  uint64_t end;
  if (__builtin_add_overflow(offset, *size, &end) || end + pm < end) return KERN_INVALID_ARGUMENT;
  end = (end + pm) & ~pm;
  const uint64_t len = end - start;
  const vm_prot_t prot = permission & VM_PROT_ALL;
  if (permission & MAP_MEM_NAMED_CREATE) {
    if (len == 0) return KERN_INVALID_ARGUMENT;
    int fd = new_memfd(len);
    if (fd < 0) return KERN_RESOURCE_SHORTAGE;
    *handle = memory_entries().create(fd, 0, len, prot, (permission & MAP_MEM_PURGABLE) != 0);
    if (*handle == MACH_PORT_NULL) return KERN_RESOURCE_SHORTAGE;
    *size = len;
    return KERN_SUCCESS;
  }
  if (MACH_PORT_VALID(parent)) {
    MemoryEntry* p = memory_entries().find(parent);
    if (p == nullptr) return KERN_INVALID_ARGUMENT;
    if (end > p->size) return KERN_INVALID_ARGUMENT;
    if ((prot & p->protection) != prot) return KERN_PROTECTION_FAILURE;
    int fd = dup(p->fd);
    if (fd < 0) return KERN_RESOURCE_SHORTAGE;
    *handle = memory_entries().create(fd, p->offset + start, len, prot, p->purgable);
    if (*handle == MACH_PORT_NULL) return KERN_RESOURCE_SHORTAGE;
    *size = len;
    return KERN_SUCCESS;
  }
  if (len == 0) return KERN_INVALID_ARGUMENT;
  kern_return_t kr = entry_of_task(task_port, start, len, permission, handle);
  if (kr == KERN_SUCCESS) *size = len;
  return kr;
}

// The parent entry's send right is consumed on success (on failure the
// framework releases the request's rights).
kern_return_t make_entry(mach_port_t task_port, uint64_t* size, uint64_t offset, vm_prot_t permission,
                         mach_port_t* handle, mach_port_t parent) {
  kern_return_t kr = make_entry_core(task_port, size, offset, permission, handle, parent);
  if (kr == KERN_SUCCESS && MACH_PORT_VALID(parent)) kern::runtime().release_send(parent);
  return kr;
}

}  // namespace
}  // namespace machd::vm

using machd::vm::make_entry;
using machd::vm::memory_entries;

extern "C" {

kern_return_t mach_make_memory_entry_64(vm_map_t target_task, memory_object_size_t* size,
                                        memory_object_offset_t offset, vm_prot_t permission,
                                        mach_port_t* object_handle, mem_entry_name_port_t parent_entry) {
  uint64_t s = *size;
  kern_return_t kr = make_entry(target_task, &s, offset, permission, object_handle, parent_entry);
  if (kr == KERN_SUCCESS) *size = s;
  return kr;
}

kern_return_t _mach_make_memory_entry(vm_map_t target_task, memory_object_size_t* size,
                                      memory_object_offset_t offset, vm_prot_t permission,
                                      mem_entry_name_port_t* object_handle, mem_entry_name_port_t parent_handle) {
  return mach_make_memory_entry_64(target_task, size, offset, permission, object_handle, parent_handle);
}

kern_return_t mach_make_memory_entry(vm_map_t target_task, vm_size_t* size, vm_offset_t offset, vm_prot_t permission,
                                     mem_entry_name_port_t* object_handle, mem_entry_name_port_t parent_entry) {
  memory_object_size_t s = *size;
  kern_return_t kr = mach_make_memory_entry_64(target_task, &s, offset, permission, object_handle, parent_entry);
  if (kr == KERN_SUCCESS) *size = vm_size_t(s);
  return kr;
}

// XNU: only entries of purgable objects; SET_STATE answers the old state.
// EMPTY discards the contents (the pages read back as zeros).
kern_return_t mach_memory_entry_purgable_control(mem_entry_name_port_t mem_entry, vm_purgable_t control, int* state) {
  machd::vm::MemoryEntry* e = memory_entries().find(mem_entry);
  if (e == nullptr) return KERN_INVALID_ARGUMENT;
  if (control != VM_PURGABLE_SET_STATE && control != VM_PURGABLE_GET_STATE) return KERN_INVALID_ARGUMENT;
  if (!e->purgable) return KERN_INVALID_ARGUMENT;
  const int old = e->purgable_state;
  if (control == VM_PURGABLE_SET_STATE) {
    const int want = *state & 0x3;  // the state bits (XNU VM_PURGABLE_STATE_MASK)
    if (want > VM_PURGABLE_EMPTY) return KERN_INVALID_ARGUMENT;
    if (want == VM_PURGABLE_EMPTY)
      fallocate(e->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(e->offset), off_t(e->size));
    e->purgable_state = want;
  }
  *state = old;
  return KERN_SUCCESS;
}

}  // extern "C"
