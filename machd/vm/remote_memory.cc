// machd/vm/remote_memory.cc — see remote_memory.h.
#include "remote_memory.h"

#include <mach/vm_prot.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "address_map.h"
#include "kern/runtime.h"
#include "memory_objects.h"

namespace machd::vm {

namespace {

// Linux caps one process_vm_* call at IOV_MAX iovecs but not the bytes;
// still, copy in bounded steps so a huge request cannot stall machd long.
constexpr size_t kStep = size_t(64) << 20;

kern_return_t classify(pid_t pid, int err, uint64_t start, uint64_t end, vm_prot_t need) {
  if (err == ESRCH) return KERN_INVALID_TASK;
  if (err == EPERM) return KERN_FAILURE;
  auto map = read_map(pid, false);
  if (!map) return KERN_INVALID_TASK;
  kern_return_t kr = check_range(*map, start, end, need);
  return kr == KERN_SUCCESS ? KERN_FAILURE : kr;
}

template <bool kWrite>
kern_return_t plain_transfer(pid_t pid, uint64_t addr, void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    size_t len = std::min(kStep, n - done);
    iovec local{static_cast<char*>(buf) + done, len};
    iovec remote{reinterpret_cast<void*>(addr + done), len};
    ssize_t r = kWrite ? process_vm_writev(pid, &local, 1, &remote, 1, 0)
                       : process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (r <= 0) {
      int err = r < 0 ? errno : EFAULT;
      return classify(pid, err, addr, addr + n, kWrite ? VM_PROT_WRITE : VM_PROT_READ);
    }
    done += size_t(r);
  }
  return KERN_SUCCESS;
}

// Pieces mapped from memory objects go through the objects' caches (a
// fault of machd's own process_vm_* call in such a range would wait on
// the task's userfaultfd, which machd itself serves); the rest as plain
// memory.
template <bool kWrite>
kern_return_t transfer(pid_t pid, uint64_t addr, void* buf, size_t n, MissingPages* missing) {
  if (n == 0) return KERN_SUCCESS;
  if (addr + n < addr) return KERN_INVALID_ADDRESS;
  MemoryObjects* objects = memory_objects_if_any();
  const uint64_t end = addr + n;
  uint64_t at = addr;
  auto* bytes = static_cast<uint8_t*>(buf);
  if (objects != nullptr) {
    for (const ObjectMapping* m : objects->mappings_of_pid(pid, addr, end)) {
      const uint64_t a = std::max(at, m->start), b = std::min(end, m->end);
      if (a > at)
        if (kern_return_t kr = plain_transfer<kWrite>(pid, at, bytes + (at - addr), a - at); kr != KERN_SUCCESS) return kr;
      if (!(m->protection & (kWrite ? VM_PROT_WRITE : VM_PROT_READ))) return KERN_PROTECTION_FAILURE;
      const uint64_t off = m->offset + (a - m->start);
      bool absent = false;
      bool* absent_out = missing != nullptr ? &absent : nullptr;
      const kern_return_t kr = kWrite ? m->object->write_cache(off, bytes + (a - addr), b - a, absent_out)
                                      : m->object->read_cache(off, bytes + (a - addr), b - a, absent_out);
      if (kr != KERN_SUCCESS) {
        if (absent) *missing = MissingPages{m->object->id(), off, b - a, pid};
        objects->arm();  // (a page may have been asked for: its deadline is watched)
        return kr;
      }
      at = b;
    }
  }
  return at < end ? plain_transfer<kWrite>(pid, at, bytes + (at - addr), end - at) : KERN_SUCCESS;
}

}  // namespace

kern_return_t read_remote(pid_t pid, uint64_t addr, void* buf, size_t n, MissingPages* missing) {
  return transfer<false>(pid, addr, buf, n, missing);
}

kern_return_t write_remote(pid_t pid, uint64_t addr, const void* buf, size_t n, MissingPages* missing) {
  return transfer<true>(pid, addr, const_cast<void*>(buf), n, missing);
}

bool serve_again_when_resident(const MissingPages& missing) {
  if (!missing) return false;
  kern::Runtime& rt = kern::runtime();
  const ipc::TaskId owner = rt.host().task_of_pid(missing.pid);
  return rt.serve_again_when([missing, owner](std::function<void(bool)> done) {
    MemoryObjects& objects = memory_objects();
    MemoryObject* o = objects.by_id(missing.object);
    if (o == nullptr) return done(false);
    // Whichever comes first, the pages or the owner's end, serves it again.
    auto once = std::make_shared<std::function<void(bool)>>(std::move(done));
    auto fire = [once](bool ok) {
      if (!*once) return;
      std::function<void(bool)> d = std::move(*once);
      *once = nullptr;
      d(ok);
    };
    const uint64_t token = kern::runtime().at_task_end(owner, [fire] { fire(false); });
    objects.pin(missing.object);  // (the wait lives in the object)
    o->when_resident(missing.offset, missing.length, [id = missing.object, fire, token](bool ok) {
      memory_objects().unpin_soon(id);
      kern::runtime().cancel_at_task_end(token);
      fire(ok);
    });
    objects.arm();
  });
}

kern_return_t copy_remote(pid_t pid, uint64_t src, uint64_t dst, size_t n, MissingPages* missing) {
  if (n == 0) return KERN_SUCCESS;
  if (src + n < src || dst + n < dst) return KERN_INVALID_ADDRESS;
  auto map = read_map(pid, false);
  if (!map) return KERN_INVALID_TASK;
  kern_return_t kr = check_range(*map, src, src + n, VM_PROT_READ);
  if (kr == KERN_SUCCESS) kr = check_range(*map, dst, dst + n, VM_PROT_WRITE);
  if (kr != KERN_SUCCESS) return kr;
  constexpr size_t kChunk = size_t(1) << 20;
  std::vector<char> buf(std::min(n, kChunk));
  // Overlapping ranges copy like memmove: from the end when dst is above src.
  const bool backwards = dst > src && dst < src + n;
  const bool overlap = dst < src + n && src < dst + n;
  for (size_t done = 0; done < n;) {
    size_t len = std::min(kChunk, n - done);
    uint64_t off = backwards ? n - done - len : done;
    // Run again from the start, the copy must find its source as it was:
    // between overlapping ranges it may wait only before its first write.
    kr = read_remote(pid, src + off, buf.data(), len, done == 0 || !overlap ? missing : nullptr);
    if (kr == KERN_SUCCESS) kr = write_remote(pid, dst + off, buf.data(), len, overlap ? nullptr : missing);
    if (kr != KERN_SUCCESS) return kr;
    done += len;
  }
  return KERN_SUCCESS;
}

}  // namespace machd::vm
