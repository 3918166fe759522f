// libmach-compat/src/object_fork.cc — see object_fork.h.
#include "object_fork.h"

#include <fcntl.h>
#include <mach/vm_prot.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "connection.h"
#include "native_syscall.h"

namespace machcompat {

namespace {

// The copies machd made for this thread's fork (the child inherits the
// forking thread's values).
thread_local uint64_t t_token = 0;
thread_local uint64_t t_copies = 0;

// Whether this process maps a memory object's cache (machd's memfds are
// named "mach-object"). Read without allocating: it runs in a forked child.
bool maps_memory_objects() {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  static constexpr char kName[] = "/memfd:mach-object ";
  char buf[4096 + sizeof kName];
  size_t keep = 0;
  bool found = false;
  for (;;) {
    ssize_t n = read(fd, buf + keep, sizeof buf - keep - 1);
    if (n <= 0) break;
    buf[keep + size_t(n)] = 0;
    if (strstr(buf, kName) != nullptr) {
      found = true;
      break;
    }
    // Keep the tail: the name may straddle two reads.
    const size_t total = keep + size_t(n);
    keep = std::min(total, sizeof kName - 1);
    memmove(buf, buf + total - keep, keep);
  }
  close(fd);
  return found;
}

int to_linux(uint64_t p) {
  return ((p & VM_PROT_READ) ? PROT_READ : 0) | ((p & VM_PROT_WRITE) ? PROT_WRITE : 0) |
         ((p & VM_PROT_EXECUTE) ? PROT_EXEC : 0);
}

// Maps copy `index` of `token` where the parent had it.
void map_copy(uint32_t self, uint64_t parent, uint64_t token, uint64_t index) {
  CallResult r = call(MACHD_OP_OBJECTS_FORK_COPY, {self, parent, token, index});
  if (r.machd_gone || r.result != 0) return;  // (that range is left out)
  const int fd = take_fd(r.rets[0]);
  if (fd < 0) return;
  void* const at = reinterpret_cast<void*>(r.rets[1]);
  const size_t len = size_t(r.rets[2]);
  const bool shared = (r.rets[5] & MACHD_FORK_COPY_SHARED) != 0;
  void* p = mmap(at, len, to_linux(r.rets[4]), (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED_NOREPLACE, fd,
                 off_t(r.rets[3]));
  close(fd);
  if (p != at) {  // something is there in the child already
    if (p != MAP_FAILED) munmap(p, len);
    return;
  }
  if (!shared) return;  // private memory of the child's (copy-on-write to its own children)
  // A copy object's cache: machd must route its faults before anything
  // touches it, and the child's own children must not share it unseen.
  madvise(p, len, MADV_DONTFORK);
  CallResult m = call(MACHD_OP_OBJECTS_FORK_COPY_MAPPED, {self, token, index});
  if (m.machd_gone || m.result != 0) munmap(p, len);
}

}  // namespace

void objects_before_fork() {
  NativeScope native;
  t_token = t_copies = 0;
  const uint32_t self = task_self_name();
  if (self == 0 || !maps_memory_objects()) return;
  CallResult r = call(MACHD_OP_OBJECTS_FORK_PREPARE, {self, uint64_t(gettid())});
  if (r.machd_gone || r.result != 0) return;
  t_token = r.rets[0];
  t_copies = r.rets[1];
}

void objects_after_fork_parent() {
  NativeScope native;
  const uint64_t token = t_token;
  t_token = t_copies = 0;
  const uint32_t self = task_self_name();
  if (token != 0 && self != 0) call(MACHD_OP_OBJECTS_FORK_DONE, {self, token});
}

void objects_after_fork_child() {
  NativeScope native;
  const uint64_t token = t_token, copies = t_copies;
  t_token = t_copies = 0;
  const uint32_t self = task_self_name();
  if (self == 0) return;
  const uint64_t parent = uint64_t(getppid());
  for (uint64_t i = 0; i < copies; ++i) map_copy(self, parent, token, i);
  // Memory objects the parent mapped VM_INHERIT_SHARE are in this process
  // too: machd must route their faults before any code of ours touches them.
  if (token != 0 || maps_memory_objects()) call(MACHD_OP_OBJECTS_INHERIT, {self, parent, token});
}

}  // namespace machcompat
