// machd/vm/fault_router.cc — see fault_router.h.
#include "fault_router.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <vector>

#include "kern/agent.h"
#include "kern/counters.h"
#include "userfault.h"

namespace machd::vm {

namespace {
constexpr uint64_t kPage = MemoryObject::kPage;
}

FaultRouter::FaultRouter(kern::TaskHost& host) : host_(host) {}

FaultRouter::~FaultRouter() {
  if (retry_timer_) kern::runtime().timers().cancel(retry_timer_);
  for (auto& [task, pt] : tasks_) {
    if (pt.watch) host_.unwatch_fd(pt.watch);
    if (pt.fd >= 0) close(pt.fd);
  }
}

FaultRouter::PerTask* FaultRouter::per_task(ipc::TaskId task) {
  auto it = tasks_.find(task);
  return it == tasks_.end() ? nullptr : &it->second;
}

void FaultRouter::attach_task(ipc::TaskId task, int fd, uint64_t features) {
  if ((features & (UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_EVENT_UNMAP)) !=
      (UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_EVENT_UNMAP)) {
    spdlog::debug("task {}: userfaultfd lacks features machd needs ({:#x}); no memory objects", task, features);
    close(fd);
    return;
  }
  if (auto* old = per_task(task)) {  // a second one replaces the first
    if (old->watch) host_.unwatch_fd(old->watch);
    close(old->fd);
    tasks_.erase(task);
  }
  PerTask& pt = tasks_[task];
  pt.fd = fd;
  pt.features = features;
  pt.watch = host_.watch_fd(fd, [this, task] { drain(task); });
}

int FaultRouter::add_mapping(ipc::TaskId task, uint64_t start, uint64_t end, uint64_t offset, vm_prot_t prot,
                             MemoryObject* object, vm_inherit_t inheritance) {
  PerTask* pt = per_task(task);
  if (pt == nullptr) return ENOSYS;
  const bool wp = (pt->features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM) != 0;
  if (int e = uffd::register_range(pt->fd, start, end - start, wp); e != 0) return e;
  // A mapping replacing others (MAP_FIXED over them) ends them.
  remove_range(*pt, start, end);
  auto m = std::make_unique<ObjectMapping>();
  m->task = task;
  m->start = start;
  m->end = end;
  m->offset = offset;
  m->protection = prot;
  m->inheritance = inheritance;
  m->object = object;
  ObjectMapping* raw = m.get();
  pt->maps.emplace(start, std::move(m));
  object->attach(raw);
  return 0;
}

const ObjectMapping* FaultRouter::find(ipc::TaskId task, uint64_t addr) const {
  auto t = tasks_.find(task);
  if (t == tasks_.end()) return nullptr;
  const auto& maps = t->second.maps;
  auto it = maps.upper_bound(addr);
  if (it == maps.begin()) return nullptr;
  --it;
  return addr < it->second->end ? it->second.get() : nullptr;
}

std::vector<const ObjectMapping*> FaultRouter::mappings_in(ipc::TaskId task, uint64_t start, uint64_t end) const {
  std::vector<const ObjectMapping*> out;
  auto t = tasks_.find(task);
  if (t == tasks_.end()) return out;
  for (const auto& [s, m] : t->second.maps)
    if (m->start < end && m->end > start) out.push_back(m.get());
  return out;
}

void FaultRouter::drop(std::unique_ptr<ObjectMapping> m) {
  MemoryObject* o = m->object;
  o->detach(m.get());
  m.reset();
  if (o->mappings().empty() && on_unmapped_) on_unmapped_(o);
}

// The task no longer maps [start, end): mappings overlapping it shrink or
// split (the pieces keep their pages mapped; nothing to redo).
void FaultRouter::remove_range(PerTask& pt, uint64_t start, uint64_t end) {
  std::vector<std::unique_ptr<ObjectMapping>> gone;
  auto it = pt.maps.upper_bound(start);
  if (it != pt.maps.begin()) --it;
  while (it != pt.maps.end() && it->first < end) {
    if (it->second->end <= start) {
      ++it;
      continue;
    }
    gone.push_back(std::move(it->second));
    it = pt.maps.erase(it);
  }
  for (auto& old : gone) {
    for (auto [a, b] : {std::pair{old->start, std::min(old->end, start)}, std::pair{std::max(old->start, end), old->end}}) {
      if (a >= b) continue;
      auto piece = std::make_unique<ObjectMapping>(*old);
      piece->start = a;
      piece->end = b;
      piece->offset = old->offset + (a - old->start);
      ObjectMapping* raw = piece.get();
      pt.maps.emplace(a, std::move(piece));
      old->object->attach(raw, false);
    }
    drop(std::move(old));
  }
}

// mremap moved [from, from+len) to `to` (the registration moved with it).
void FaultRouter::move_range(PerTask& pt, uint64_t from, uint64_t to, uint64_t len) {
  std::vector<ObjectMapping> moved;
  for (auto& [s, m] : pt.maps) {
    const uint64_t a = std::max(m->start, from), b = std::min(m->end, from + len);
    if (a < b) {
      ObjectMapping c = *m;
      c.start = to + (a - from);
      c.end = to + (b - from);
      c.offset = m->offset + (a - m->start);
      moved.push_back(c);
    }
  }
  // Attach the new places before the old ones go, so no object sees itself
  // unmapped in between. (The two ranges never overlap.)
  for (const ObjectMapping& c : moved) {
    auto piece = std::make_unique<ObjectMapping>(c);
    c.object->attach(piece.get(), false);
    pt.maps.emplace(c.start, std::move(piece));
  }
  remove_range(pt, from, from + len);
}

void FaultRouter::forget_object(MemoryObject* object) {
  for (auto& [task, pt] : tasks_) {
    for (auto it = pt.maps.begin(); it != pt.maps.end();) {
      if (it->second->object == object) {
        object->detach(it->second.get());
        it = pt.maps.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void FaultRouter::task_terminating(ipc::TaskId task) {
  auto t = tasks_.find(task);
  if (t == tasks_.end()) return;
  PerTask pt = std::move(t->second);
  tasks_.erase(t);
  if (pt.watch) host_.unwatch_fd(pt.watch);
  for (auto& [s, m] : pt.maps) drop(std::move(m));
  if (pt.fd >= 0) close(pt.fd);
}

void FaultRouter::drain(ipc::TaskId task) {
  drain_events(task);
  if (after_events_) after_events_();
}

void FaultRouter::drain_events(ipc::TaskId task) {
  for (;;) {
    PerTask* pt = per_task(task);
    if (pt == nullptr) return;
    uffd_msg msgs[32];
    ssize_t n = read(pt->fd, msgs, sizeof msgs);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      // EAGAIN: all read. Anything else (the mm went away) ends with the task.
      return;
    }
    const size_t count = size_t(n) / sizeof(uffd_msg);
    for (size_t i = 0; i < count; ++i) {
      pt = per_task(task);
      if (pt == nullptr) return;
      const uffd_msg& msg = msgs[i];
      switch (msg.event) {
        case UFFD_EVENT_PAGEFAULT: {
          const uint64_t addr = msg.arg.pagefault.address & ~(kPage - 1);
          const uint64_t flags = msg.arg.pagefault.flags;
          const ObjectMapping* m = find(task, addr);
          kern::counters().fault();
          spdlog::debug("task {}: fault at {:#x} flags {:#x} ({})", task, addr, flags, m ? "object" : "unknown");
          if (m == nullptr) {  // unmapped meanwhile: let it fault on what is there now
            uffd::wake(pt->fd, addr, kPage);
            break;
          }
          m->object->fault(*m, addr, (flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0, (flags & UFFD_PAGEFAULT_FLAG_WP) != 0);
          break;
        }
        case UFFD_EVENT_UNMAP:
          spdlog::debug("task {}: unmap {:#x}-{:#x}", task, uint64_t(msg.arg.remove.start), uint64_t(msg.arg.remove.end));
          remove_range(*pt, msg.arg.remove.start, msg.arg.remove.end);
          break;
        case UFFD_EVENT_REMAP:
          move_range(*pt, msg.arg.remap.from, msg.arg.remap.to, msg.arg.remap.len);
          break;
        default:  // REMOVE (madvise): pages left the page table only; faults bring them back
          break;
      }
    }
    if (size_t(n) < sizeof msgs) return;
  }
}

// ---- MappingOps ------------------------------------------------------------------

bool FaultRouter::map_cached(const ObjectMapping& m, uint64_t addr, uint64_t len, bool wp) {
  PerTask* pt = per_task(m.task);
  if (pt == nullptr) return true;
  const bool can_wp = (pt->features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM) != 0;
  wp = wp && can_wp;
  int e = uffd::map_cached(pt->fd, addr, len, wp, continue_wp_);
  if (e == EINVAL && wp && continue_wp_) {  // a kernel without UFFDIO_CONTINUE_MODE_WP
    continue_wp_ = false;
    e = uffd::map_cached(pt->fd, addr, len, wp, false);
  }
  if (e == EFAULT) return false;  // not in the cache
  if (e == EAGAIN) {
    const ipc::TaskId task = m.task;
    retry_later(task, [this, task, addr, len, wp] {
      if (const ObjectMapping* now = find(task, addr)) map_cached(*now, addr, len, wp);
    });
    return true;
  }
  if (e != 0 && e != ESRCH && e != ENOENT)
    spdlog::debug("task {}: mapping object pages at {:#x}+{:#x}: {}", m.task, addr, len, strerror(e));
  return true;
}

bool FaultRouter::write_protect(const ObjectMapping& m, uint64_t addr, uint64_t len, bool protect) {
  PerTask* pt = per_task(m.task);
  if (pt == nullptr || !(pt->features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM)) return true;
  const int e = uffd::write_protect(pt->fd, addr, len, protect);
  if (e == EAGAIN) {
    if (protect) return false;
    const ipc::TaskId task = m.task;
    retry_later(task, [this, task, addr, len] {
      if (const ObjectMapping* now = find(task, addr)) write_protect(*now, addr, len, false);
    });
  }
  return true;
}

void FaultRouter::retry_later(ipc::TaskId task, std::function<void()> op) {
  retries_.emplace_back(task, std::move(op));
  if (retry_timer_ == 0)
    retry_timer_ = kern::runtime().timers().add(object_now_ns() + kRetryNs, [this] {
      retry_timer_ = 0;
      run_retries();
    });
}

void FaultRouter::run_retries() {
  std::vector<std::pair<ipc::TaskId, std::function<void()>>> todo;
  todo.swap(retries_);
  // The events that made the map change first (they may end the mappings
  // the operations were for).
  for (auto& [task, op] : todo) drain_events(task);
  for (auto& [task, op] : todo)
    if (per_task(task)) op();
  if (after_events_) after_events_();
}

void FaultRouter::unmap_pages(const ObjectMapping& m, uint64_t addr, uint64_t len) {
  kern::agent().request(m.task, kern::madvise_call(addr, len, MADV_DONTNEED), [](const kern::AgentResult&) {});
}

void FaultRouter::fail(const ObjectMapping& m, uint64_t addr, uint64_t len) { poison(m.task, addr, len, 0); }

void FaultRouter::poison(ipc::TaskId task, uint64_t addr, uint64_t len, int attempt) {
  PerTask* pt = per_task(task);
  if (pt == nullptr) return;
  const int e = uffd::poison(pt->fd, addr, len);
  if (e == EAGAIN) {
    retry_later(task, [this, task, addr, len, attempt] {
      if (find(task, addr)) poison(task, addr, len, attempt);
    });
    return;
  }
  if (e == EEXIST) {
    // A page (mapped write-protected, its write refused) or the
    // write-protect marker a zapped page leaves is in the way. The agent
    // zaps the range, the markers are cleared without waking anyone, and
    // the poison goes in then. Bounded: after kPoisonAttempts the waiting
    // threads are woken and fault again (into the same answer).
    if (attempt >= kPoisonAttempts) {
      spdlog::warn("task {}: cannot fail the fault at {:#x}: the page stays in the way", task, addr);
      uffd::wake(pt->fd, addr, len);
      return;
    }
    kern::agent().request(task, kern::madvise_call(addr, len, MADV_DONTNEED), [this, task, addr, len, attempt](const kern::AgentResult&) {
      PerTask* p = per_task(task);
      if (p == nullptr) return;
      uffd::write_protect(p->fd, addr, len, false, false);
      poison(task, addr, len, attempt + 1);
    });
    return;
  }
  if (e != 0) return;  // (no UFFDIO_POISON: woken, they fault again)
  // Mach asks the pager again on a later access: lift the poison once the
  // faulting threads had their SIGBUS.
  kern::runtime().timers().add(object_now_ns() + kPoisonResetNs, [this, task, addr, len] {
    if (find(task, addr) == nullptr) return;
    kern::agent().request(task, kern::madvise_call(addr, len, MADV_DONTNEED), [](const kern::AgentResult&) {});
  });
}

}  // namespace machd::vm
