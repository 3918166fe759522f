// machd/vm/remote_memory.cc — see remote_memory.h.
#include "remote_memory.h"

#include <mach/vm_prot.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "address_map.h"

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
kern_return_t transfer(pid_t pid, uint64_t addr, void* buf, size_t n) {
  if (n == 0) return KERN_SUCCESS;
  if (addr + n < addr) return KERN_INVALID_ADDRESS;
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

}  // namespace

kern_return_t read_remote(pid_t pid, uint64_t addr, void* buf, size_t n) { return transfer<false>(pid, addr, buf, n); }

kern_return_t write_remote(pid_t pid, uint64_t addr, const void* buf, size_t n) {
  return transfer<true>(pid, addr, const_cast<void*>(buf), n);
}

kern_return_t copy_remote(pid_t pid, uint64_t src, uint64_t dst, size_t n) {
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
  for (size_t done = 0; done < n;) {
    size_t len = std::min(kChunk, n - done);
    uint64_t off = backwards ? n - done - len : done;
    kr = read_remote(pid, src + off, buf.data(), len);
    if (kr == KERN_SUCCESS) kr = write_remote(pid, dst + off, buf.data(), len);
    if (kr != KERN_SUCCESS) return kr;
    done += len;
  }
  return KERN_SUCCESS;
}

}  // namespace machd::vm
