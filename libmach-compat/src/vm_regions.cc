// libmach-compat/src/vm_regions.cc — see vm_regions.h.
#include "vm_regions.h"

#include <fcntl.h>
#include <mach/mach.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "vm_attrs.h"

namespace machcompat {

namespace {

struct Region {
  size_t size;
  int fd;
  bool share;  // "mach-vm-share": stays shared across fork
};
std::mutex g_mu;
std::map<uintptr_t, Region> g_regions;  // memfd-backed, by start address

// Drops registry entries lying entirely inside [addr, addr+size): their
// memory is gone. An entry only partly covered stays (its fd keeps the
// remaining pages' memfd for fork). Caller holds g_mu.
void forget_inside(uintptr_t addr, size_t size) {
  auto it = g_regions.lower_bound(addr);
  while (it != g_regions.end() && it->first < addr + size) {
    if (it->first + it->second.size <= addr + size) {
      close(it->second.fd);
      it = g_regions.erase(it);
    } else {
      ++it;
    }
  }
}

// One line of /proc/self/maps.
struct Seg {
  uintptr_t start, end;
  int prot;
  bool shared;
  std::string path;
};

// The segments of this process's map intersecting [start, end), clipped.
std::vector<Seg> self_segments(uintptr_t start, uintptr_t end) {
  std::vector<Seg> out;
  FILE* f = fopen("/proc/self/maps", "re");
  if (f == nullptr) return out;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    unsigned long s, e;
    char perms[5] = {};
    int off = 0;
    if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &s, &e, perms, &off) < 3) continue;
    if (e <= start || s >= end) continue;
    Seg g{s < start ? start : s, e > end ? end : e,
          (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0),
          perms[3] == 's', std::string(line + off)};
    while (!g.path.empty() && (g.path.back() == '\n' || g.path.back() == ' ')) g.path.pop_back();
    out.push_back(std::move(g));
  }
  fclose(f);
  return out;
}

bool starts_with(const std::string& s, const char* p) { return s.compare(0, strlen(p), p) == 0; }

// Turns [s.start, s.end) into a MAP_SHARED "mach-vm-share" memfd mapping with
// the same contents and protection, registered. Caller holds g_mu.
bool make_shared(const Seg& s) {
  const size_t len = s.end - s.start;
  int fd = memfd_create("mach-vm-share", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return false;
  void* tmp = MAP_FAILED;
  if (ftruncate(fd, off_t(len)) == 0) tmp = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (tmp == MAP_FAILED) {
    close(fd);
    return false;
  }
  void* at = reinterpret_cast<void*>(s.start);
  if (!(s.prot & PROT_READ)) mprotect(at, len, s.prot | PROT_READ);
  memcpy(tmp, at, len);
  munmap(tmp, len);
  if (mmap(at, len, s.prot, MAP_SHARED | MAP_FIXED, fd, 0) != at) {
    if (!(s.prot & PROT_READ)) mprotect(at, len, s.prot);
    close(fd);
    return false;
  }
  forget_inside(s.start, len);
  g_regions[s.start] = Region{len, fd, true};
  return true;
}

// Remaps the "mach-vm" pages of a registered region MAP_PRIVATE over
// themselves (same memfd pages, same protection): copy-on-write from now on,
// in this process and in a child forked next. Caller holds g_mu.
void privatize(uintptr_t base, const Region& r) {
  for (const Seg& s : self_segments(base, base + r.size)) {
    if (!s.shared || !starts_with(s.path, "/memfd:mach-vm (deleted)")) continue;
    mmap(reinterpret_cast<void*>(s.start), s.end - s.start, s.prot, MAP_PRIVATE | MAP_FIXED, r.fd,
         off_t(s.start - base));
  }
  // A new mapping forgets MADV_DONTFORK: put NONE back.
  for (const vm_attrs::Piece& p : vm_attrs::pieces(base, base + r.size))
    if (p.inherit == VM_INHERIT_NONE) madvise(reinterpret_cast<void*>(p.start), p.end - p.start, MADV_DONTFORK);
}

}  // namespace

size_t host_page() {
  static const size_t p = size_t(sysconf(_SC_PAGESIZE));
  return p;
}

void* map_zeroed(uintptr_t hint, size_t len, bool fixed, bool overwrite) {
  void* at = fixed ? reinterpret_cast<void*>(hint) : nullptr;
  const int how = fixed ? (overwrite ? MAP_FIXED : MAP_FIXED_NOREPLACE) : 0;
  void* p = MAP_FAILED;
  int fd = -1;
  if (len >= kMemfdRegionMin) {
    fd = memfd_create("mach-vm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd >= 0 && ftruncate(fd, off_t(len)) == 0) p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | how, fd, 0);
    if (p == MAP_FAILED && fd >= 0) {
      int e = errno;
      close(fd);
      fd = -1;
      errno = e;
      if (e == EEXIST || e == EPERM) return nullptr;
    }
  }
  if (p == MAP_FAILED) p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | how, -1, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    if (fd >= 0) close(fd);
    errno = e;
    return nullptr;
  }
  if (fixed && p != at) {  // old kernels ignore MAP_FIXED_NOREPLACE
    munmap(p, len);
    if (fd >= 0) close(fd);
    errno = EEXIST;
    return nullptr;
  }
  std::lock_guard<std::mutex> lk(g_mu);
  if (overwrite) forget_inside(uintptr_t(p), len);
  if (fd >= 0) g_regions[reinterpret_cast<uintptr_t>(p)] = Region{len, fd, false};
  return p;
}

int unmap(uintptr_t start, size_t len) {
  {
    std::lock_guard<std::mutex> lk(g_mu);
    forget_inside(start, len);
  }
  return munmap(reinterpret_cast<void*>(start), len);
}

int set_inheritance(uintptr_t start, uintptr_t end, vm_inherit_t inheritance) {
  std::lock_guard<std::mutex> lk(g_mu);
  void* at = reinterpret_cast<void*>(start);
  switch (inheritance) {
    case VM_INHERIT_NONE:
      madvise(at, end - start, MADV_DONTFORK);  // ENOMEM for holes: the mapped parts are done
      break;
    case VM_INHERIT_COPY:
      madvise(at, end - start, MADV_DOFORK);
      break;
    case VM_INHERIT_SHARE:
      madvise(at, end - start, MADV_DOFORK);
      for (const Seg& s : self_segments(start, end)) {
        // Already shared memory (other than the library's movable "mach-vm"
        // memfds, which fork copies) stays as it is.
        if (s.shared && !starts_with(s.path, "/memfd:mach-vm (deleted)")) continue;
        if (!make_shared(s)) return KERN_RESOURCE_SHORTAGE;
      }
      break;
    default:
      return KERN_INVALID_ARGUMENT;
  }
  vm_attrs::set_inherit(start, end, inheritance);
  return KERN_SUCCESS;
}

bool copy_self(uintptr_t dst, uintptr_t src, size_t n) {
  if (n == 0) return true;
  iovec local{reinterpret_cast<void*>(dst), n};
  iovec remote{reinterpret_cast<void*>(src), n};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == ssize_t(n);
}

void* alloc_ool(size_t size) {
  if (size == 0) return nullptr;
  void* p = mmap(nullptr, round_to_page(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

int take_memfd_region(uintptr_t addr, size_t size) {
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_regions.find(addr);
  if (it == g_regions.end() || it->second.size != size || it->second.share) return -1;
  int fd = it->second.fd;
  g_regions.erase(it);
  return fd;
}

void restore_memfd_region(uintptr_t addr, size_t size, int fd, bool remap) {
  if (remap) {
    void* p = mmap(reinterpret_cast<void*>(addr), size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
                   fd, 0);
    if (p != reinterpret_cast<void*>(addr)) {
      if (p != MAP_FAILED) munmap(p, size);
      close(fd);
      return;
    }
  }
  std::lock_guard<std::mutex> lk(g_mu);
  g_regions[addr] = Region{size, fd, false};
}

void vm_before_fork() {
  g_mu.lock();
  // COPY: every movable "mach-vm" region becomes copy-on-write now, so the
  // child gets the contents as of fork and neither sees the other's writes.
  for (auto it = g_regions.begin(); it != g_regions.end();) {
    if (it->second.share) {
      ++it;
      continue;
    }
    privatize(it->first, it->second);
    close(it->second.fd);
    it = g_regions.erase(it);
  }
}

void vm_after_fork_parent() { g_mu.unlock(); }

void vm_after_fork_child() {
  new (&g_mu) std::mutex;
  vm_attrs::after_fork_child();
  // What remains are SHARE regions; those also inherited NONE are not here.
  for (auto it = g_regions.begin(); it != g_regions.end();) {
    bool gone = false;
    for (const vm_attrs::Piece& p : vm_attrs::pieces(it->first, it->first + it->second.size))
      gone = gone || p.inherit == VM_INHERIT_NONE;
    if (gone) {
      close(it->second.fd);
      it = g_regions.erase(it);
    } else {
      ++it;
    }
  }
  vm_attrs::drop_inherit_none();
}

}  // namespace machcompat
