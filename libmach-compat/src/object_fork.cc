// libmach-compat/src/object_fork.cc — see object_fork.h.
#include "object_fork.h"

#include <fcntl.h>
#include <mach/vm_prot.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "connection.h"
#include "native_syscall.h"

namespace machcompat {

namespace {

// The copies machd made for this thread's fork (the child inherits the
// forking thread's values): their token, their ranges, and in the child
// whether each range could be reserved.
struct Copies {
  uint64_t token = 0;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // {address, length}
  std::vector<bool> reserved;                          // (sized with ranges: nothing allocated in the child)
};
thread_local Copies t_fork;

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

// Maps copy `index` of `token` where the parent had it, over its
// reservation if it has one. False: the range is left out.
bool map_copy(uint32_t self, uint64_t parent, uint64_t token, uint64_t index, bool reserved) {
  CallResult r = call(MACHD_OP_OBJECTS_FORK_COPY, {self, parent, token, index});
  if (r.machd_gone || r.result != 0) return false;
  const int fd = take_fd(r.rets[0]);
  if (fd < 0) return false;
  void* const at = reinterpret_cast<void*>(r.rets[1]);
  const size_t len = size_t(r.rets[2]);
  const bool shared = (r.rets[5] & MACHD_FORK_COPY_SHARED) != 0;
  void* p = mmap(at, len, to_linux(r.rets[4]),
                 (shared ? MAP_SHARED : MAP_PRIVATE) | (reserved ? MAP_FIXED : MAP_FIXED_NOREPLACE), fd,
                 off_t(r.rets[3]));
  close(fd);
  if (p != at) {  // something is there in the child already
    if (p != MAP_FAILED) munmap(p, len);
    return false;
  }
  if (!shared) return true;  // private memory of the child's (copy-on-write to its own children)
  // A copy object's cache: machd must route its faults before anything
  // touches it, and the child's own children must not share it unseen.
  madvise(p, len, MADV_DONTFORK);
  CallResult m = call(MACHD_OP_OBJECTS_FORK_COPY_MAPPED, {self, token, index});
  if (m.machd_gone || m.result != 0) {
    munmap(p, len);
    return false;
  }
  return true;
}

}  // namespace

void objects_before_fork() {
  NativeScope native;
  Copies& f = t_fork;
  f.token = 0;
  f.ranges.clear();
  const uint32_t self = task_self_name();
  if (self == 0 || !maps_memory_objects()) return;
  CallResult r = call(MACHD_OP_OBJECTS_FORK_PREPARE, {self, uint64_t(gettid())});
  if (r.machd_gone || r.result != 0 || r.rets[0] == 0) return;
  const size_t n = std::min<size_t>(r.rets[1], r.data.size() / (2 * sizeof(uint64_t)));
  for (size_t i = 0; i < n; ++i) {
    uint64_t range[2];
    memcpy(range, r.data.data() + i * sizeof range, sizeof range);
    f.ranges.emplace_back(range[0], range[1]);
  }
  f.reserved.assign(n, false);
  f.token = r.rets[0];
}

void objects_after_fork_parent() {
  NativeScope native;
  const uint64_t token = t_fork.token;
  t_fork.token = 0;
  const uint32_t self = task_self_name();
  if (token != 0 && self != 0) call(MACHD_OP_OBJECTS_FORK_DONE, {self, token});
}

void objects_reserve_in_child() {
  NativeScope native;
  Copies& f = t_fork;
  if (f.token == 0) return;
  for (size_t i = 0; i < f.ranges.size(); ++i) {
    void* const at = reinterpret_cast<void*>(f.ranges[i].first);
    void* p = mmap(at, f.ranges[i].second, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                   -1, 0);
    f.reserved[i] = p == at;
    if (p != at && p != MAP_FAILED) munmap(p, f.ranges[i].second);
  }
}

void objects_after_fork_child() {
  NativeScope native;
  Copies& f = t_fork;
  const uint64_t token = f.token;
  f.token = 0;
  const uint32_t self = task_self_name();
  const uint64_t parent = uint64_t(getppid());
  for (size_t i = 0; i < f.ranges.size() && token != 0; ++i) {
    const bool mapped = self != 0 && map_copy(self, parent, token, i, f.reserved[i]);
    if (!mapped && f.reserved[i]) munmap(reinterpret_cast<void*>(f.ranges[i].first), f.ranges[i].second);
  }
  if (self == 0) return;
  // Memory objects the parent mapped VM_INHERIT_SHARE are in this process
  // too: machd must route their faults before any code of ours touches them.
  if (token != 0 || maps_memory_objects()) call(MACHD_OP_OBJECTS_INHERIT, {self, parent, token});
}

}  // namespace machcompat
