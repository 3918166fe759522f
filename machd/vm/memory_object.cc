// machd/vm/memory_object.cc — see memory_object.h.
#include "memory_object.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include <spdlog/spdlog.h>

namespace machd::vm {

namespace {

constexpr uint64_t kPage = MemoryObject::kPage;

uint8_t lock_bits(vm_prot_t lock_value) {
  uint8_t b = 0;
  if (lock_value & VM_PROT_WRITE) b |= MemoryObject::kLockWrite;
  if (lock_value & (VM_PROT_READ | VM_PROT_EXECUTE)) b |= MemoryObject::kLockRead;
  return b;
}

// Writes all of buf at off (short writes retried); false on error.
bool write_all(int fd, const uint8_t* buf, uint64_t len, uint64_t off) {
  while (len > 0) {
    ssize_t n = pwrite(fd, buf, size_t(len), off_t(off));
    if (n <= 0) return false;
    buf += n;
    len -= uint64_t(n);
    off += uint64_t(n);
  }
  return true;
}

// [from_off, +len) of `from` to `to` at to_off, inside the kernel.
bool copy_range(int from, uint64_t from_off, int to, uint64_t to_off, uint64_t len) {
  loff_t in = loff_t(from_off), out = loff_t(to_off);
  while (len > 0) {
    ssize_t n = copy_file_range(from, &in, to, &out, size_t(len), 0);
    if (n <= 0) return false;
    len -= uint64_t(n);
  }
  return true;
}

}  // namespace

uint64_t object_now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

MemoryObject::MemoryObject(uint64_t id, int fd, PagerLink& pager, MappingOps& ops, uint64_t timeout_ns, bool internal)
    : id_(id), fd_(fd), internal_(internal), pager_(pager), ops_(ops), timeout_ns_(timeout_ns) {
  if (internal_) {
    ready_ = true;  // no pager to wait for: the kernel fills its pages
    return;
  }
  pager_.init(*this);
}

MemoryObject::~MemoryObject() {
  if (fd_ >= 0) close(fd_);
}

void MemoryObject::set_page(uint64_t i, uint8_t bits) {
  const bool was = (state(i) & kResident) != 0, now = (bits & kResident) != 0;
  if (now && !was) ++resident_;
  if (was && !now) --resident_;
  states_.set(i, bits);
}

uint8_t MemoryObject::page_state(uint64_t offset) const {
  const uint64_t i = offset / kPage;
  return i < pages() ? state(i) : 0;
}

bool MemoryObject::any_page_with(uint64_t first, uint64_t end, uint8_t bits) const {
  end = std::min(end, pages());
  for (uint64_t i = states_.next_nonzero(first, end); i < end; i = states_.next_nonzero(i + 1, end))
    if (state(i) & bits) return true;
  return false;
}

void MemoryObject::ensure(uint64_t end_offset) {
  const uint64_t n = (end_offset + kPage - 1) / kPage;
  if (n <= pages_) return;
  pages_ = n;
  // The cache covers every mapped page: a shared mapping past the memfd's
  // end would raise SIGBUS before the fault reached us.
  struct stat st;
  if (fstat(fd_, &st) == 0 && uint64_t(st.st_size) < n * kPage) (void)!ftruncate(fd_, off_t(n * kPage));
}

// ---- mappings ----------------------------------------------------------------

void MemoryObject::attach(ObjectMapping* m, bool map_now) {
  mappings_.push_back(m);
  ensure(m->offset + (m->end - m->start));
  if (alive_ && map_now) map_in(*m, m->offset / kPage, (m->end - m->start) / kPage);
}

void MemoryObject::detach(ObjectMapping* m) {
  mappings_.erase(std::remove(mappings_.begin(), mappings_.end(), m), mappings_.end());
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->second.mapping == m)
      it = waiters_.erase(it);
    else
      ++it;
  }
}

// Maps, in mapping m, the resident and readable pages of [first,
// first+count): runs of pages with the same write protection.
void MemoryObject::map_in(ObjectMapping& m, uint64_t first, uint64_t count) {
  const uint64_t mfirst = m.offset / kPage;
  const uint64_t mend = mfirst + (m.end - m.start) / kPage;
  uint64_t a = std::max(first, mfirst);
  const uint64_t b = std::min(first + count, mend);
  auto mappable = [&](uint64_t i) { return (state(i) & kResident) && !(state(i) & kLockRead); };
  auto wp_of = [&](uint64_t i) { return mapping_writes(m) && (!(state(i) & kDirty) || (state(i) & kLockWrite)); };
  while (a < b) {
    a = states_.next_nonzero(a, b);  // (a page without state is not resident)
    if (a >= b) break;
    if (!mappable(a)) {
      ++a;
      continue;
    }
    const bool wp = wp_of(a);
    uint64_t e = a + 1;
    while (e < b && mappable(e) && wp_of(e) == wp) ++e;
    if (!ops_.map_cached(m, m.address_of(a * kPage), (e - a) * kPage, wp)) {
      // Some page left the cache behind our back (a task punched a hole):
      // forget what is not there; the next fault asks again.
      for (uint64_t i = a; i < e; ++i) {
        off_t data = lseek(fd_, off_t(i * kPage), SEEK_DATA);
        if (data < 0 || uint64_t(data) >= (i + 1) * kPage) set_page(i, state(i) & uint8_t(~(kResident | kDirty)));
      }
    }
    a = e;
  }
}

void MemoryObject::map_everywhere(uint64_t first, uint64_t count) {
  for (ObjectMapping* m : mappings_) map_in(*m, first, count);
}

// ---- faults ------------------------------------------------------------------

void MemoryObject::fault(const ObjectMapping& m, uint64_t addr, bool write, bool wp) {
  if (!alive_) {
    ops_.fail(m, addr, kPage);
    return;
  }
  const uint64_t off = m.offset + (addr - m.start);
  const uint64_t idx = off / kPage;
  ensure((idx + 1) * kPage);
  auto ask_unlock = [&](vm_prot_t access) {
    waiters_.emplace(idx, Waiter{&m, addr, {}});
    if (!(state(idx) & kUnlockAsked)) {
      states_.add(idx, kUnlockAsked);
      pending_.push_back({idx * kPage, kPage, object_now_ns() + timeout_ns_, true});
      pager_.data_unlock(*this, idx * kPage, kPage, access);
    }
  };
  const uint8_t s = state(idx);
  if (s & kResident) {
    if (s & kLockRead) return ask_unlock(write ? VM_PROT_READ | VM_PROT_WRITE : VM_PROT_READ);
    if ((wp || write) && (s & kLockWrite)) {
      if (wp) return ask_unlock(VM_PROT_WRITE);
      // Map it write-protected: the write faults again (wp) and asks then.
      if (ops_.map_cached(m, addr, kPage, true)) return;
    } else if (wp) {
      // The first write to a clean page: it is dirty from now on.
      states_.add(idx, kDirty);
      ops_.write_protect(m, addr, kPage, false);
      return;
    } else {
      const bool writable = mapping_writes(m);
      if (write && writable) states_.add(idx, kDirty);  // being written now
      if (ops_.map_cached(m, addr, kPage, writable && !(state(idx) & kDirty))) return;
    }
    set_page(idx, state(idx) & uint8_t(~(kResident | kDirty | kPrecious)));  // lost from the cache: ask again
  }
  waiters_.emplace(idx, Waiter{&m, addr, {}});
  if (state(idx) & kRequested) return;
  if (!ready_) {
    // Asked for once the pager is ready; until then the wait has the same
    // deadline as a request (a pager that never answers init fails it).
    deferred_.push_back(idx);
    if (!ready_deadline_) ready_deadline_ = object_now_ns() + timeout_ns_;
    return;
  }
  request_around(idx, write ? VM_PROT_READ | VM_PROT_WRITE : VM_PROT_READ);
  const uint8_t now = state(idx);
  if (internal_ && write && (now & kResident) && mapping_writes(m) && !(now & (kDirty | kLockWrite))) {
    // A first write to anonymous memory filled with zeroes just now: it is
    // dirty already, so spare the thread the write-protect fault.
    states_.add(idx, kDirty);
    ops_.write_protect(m, addr, kPage, false);
  }
}

void MemoryObject::request_around(uint64_t idx, vm_prot_t access) {
  auto askable = [&](uint64_t i) { return (state(i) & (kResident | kRequested)) == 0; };
  // The run of askable pages in [from, lim) starting at `from`.
  auto run_end = [&](uint64_t from, uint64_t lim) {
    uint64_t b = from;
    while (b < lim && askable(b)) ++b;
    return b;
  };
  if (idx == last_request_end_) {
    // Sequential: the cluster doubles (up to kMaxClusterPages), starts at
    // the fault, and the next one is asked for at once (read-ahead), so the
    // pager fills it while the task reads this one.
    cluster_pages_ = std::min(cluster_pages_ * 2, kMaxClusterPages);
    const uint64_t b = run_end(idx, std::min<uint64_t>(idx + cluster_pages_, pages()));
    request_range(idx, b - idx, access);
    last_request_end_ = b;
    if (b < pages() && askable(b)) {
      const uint64_t c = run_end(b, std::min<uint64_t>(b + cluster_pages_, pages()));
      request_range(b, c - b, VM_PROT_READ);
      last_request_end_ = c;
    }
    return;
  }
  // Otherwise the aligned cluster around the fault.
  cluster_pages_ = kMinClusterPages;
  const uint64_t base = idx - idx % cluster_pages_;
  const uint64_t lim = std::min<uint64_t>(base + cluster_pages_, pages());
  uint64_t a = idx;
  while (a > base && askable(a - 1)) --a;
  const uint64_t b = run_end(idx + 1, lim);
  request_range(a, b - a, access);
  last_request_end_ = b;
}

void MemoryObject::request_range(uint64_t first, uint64_t count, vm_prot_t access) {
  if (internal_) {
    // Anonymous memory: what the default memory manager holds is asked of
    // it; every other page is zero, filled here.
    for (uint64_t i = first; i < first + count;) {
      const bool held = (state(i) & kPagedOut) != 0;
      uint64_t e = i + 1;
      while (e < first + count && ((state(e) & kPagedOut) != 0) == held) ++e;
      if (held) {
        for (uint64_t j = i; j < e; ++j) states_.add(j, kRequested);
        pending_.push_back({i * kPage, (e - i) * kPage, object_now_ns() + timeout_ns_, false});
        pager_.data_request(*this, i * kPage, (e - i) * kPage, access);
      } else if (!fill_zero(i, e - i)) {
        fail_range(i, e - i);
      }
      i = e;
    }
    return;
  }
  for (uint64_t i = first; i < first + count; ++i) states_.add(i, kRequested);
  pending_.push_back({first * kPage, count * kPage, object_now_ns() + timeout_ns_, false});
  pager_.data_request(*this, first * kPage, count * kPage, access);
}

void MemoryObject::when_resident(uint64_t offset, uint64_t length, std::function<void(bool)> done) {
  if (!alive_) return done(false);
  const uint64_t first = offset / kPage;
  const uint64_t end = (offset + length + kPage - 1) / kPage;
  ensure(end * kPage);
  auto w = std::make_shared<ResidentWait>(ResidentWait{first, end, std::move(done)});
  waits_.push_back(w);
  ask_absent(first, end);
  await_resident(w);
}

void MemoryObject::ask_absent(uint64_t first, uint64_t end) {
  for (uint64_t i = first; i < end;) {
    if (state(i) & (kResident | kRequested)) {
      ++i;
      continue;
    }
    uint64_t e = i + 1;
    while (e < end && !(state(e) & (kResident | kRequested))) ++e;
    if (ready_) {
      request_range(i, e - i, VM_PROT_READ);
    } else {
      // Asked for once the pager is ready: the first page (set_attributes
      // asks its cluster; the rest is asked when the wait reaches it).
      if (deferred_.empty() || deferred_.back() != i) deferred_.push_back(i);
      if (!ready_deadline_) ready_deadline_ = object_now_ns() + timeout_ns_;
      return;
    }
    i = e;
  }
}

void MemoryObject::await_resident(const std::shared_ptr<ResidentWait>& w) {
  if (w->over) return;
  // The pages before w->next were resident when it got there; the first
  // that is not is waited on (one waiter at a time, whatever the length).
  while (w->next < w->end && (state(w->next) & kResident)) ++w->next;
  if (w->next == w->end) return end_wait(w, true);
  // Not asked for (it left the cache since, or the pager was not ready):
  // the rest is asked for now.
  if (!(state(w->next) & kRequested)) {
    ask_absent(w->next, w->end);
    if (w->over) return;  // (a page failed at once: no room for zeroes)
    const uint8_t s = state(w->next);
    if (s & kResident) return await_resident(w);  // (filled at once: anonymous zeroes)
    if (!(s & kRequested) && ready_) return end_wait(w, false);
  }
  waiters_.emplace(w->next, Waiter{nullptr, 0, [this, w](bool ok) {
                                     if (ok)
                                       await_resident(w);
                                     else
                                       end_wait(w, false);
                                   }});
}

void MemoryObject::end_wait(const std::shared_ptr<ResidentWait>& w, bool ok) {
  if (w->over) return;
  w->over = true;
  std::erase(waits_, w);
  std::function<void(bool)> done = std::move(w->done);
  done(ok);  // (last: it may end this object)
}

void MemoryObject::fail_waits_at(uint64_t index) {
  std::vector<std::shared_ptr<ResidentWait>> failed;
  for (const auto& w : waits_)
    if (w->next <= index && index < w->end) failed.push_back(w);
  for (const auto& w : failed) end_wait(w, false);
}

// The waiters of page `index` go: resolved (their page is mapped now, or
// their callback learns it is resident) or failed.
void MemoryObject::wake(uint64_t index, bool ok) {
  auto [lo, hi] = waiters_.equal_range(index);
  std::vector<Waiter> ws;
  for (auto it = lo; it != hi; ++it) ws.push_back(std::move(it->second));
  waiters_.erase(lo, hi);
  for (Waiter& w : ws) {
    if (w.done)
      w.done(ok);
    else if (!ok)
      ops_.fail(*w.mapping, w.addr, kPage);
  }
}

void MemoryObject::fail_range(uint64_t first, uint64_t count) {
  const uint64_t end = std::min(first + count, pages());
  // Only pages with state or waiters have anything to undo: the others are
  // stepped over (a pager's data_error may span a huge, untouched range).
  for (uint64_t i = first; i < end; ++i) {
    auto w = waiters_.lower_bound(i);
    i = std::min(states_.next_nonzero(i, end), w == waiters_.end() ? end : w->first);
    if (i >= end) break;
    const bool asked = (state(i) & kRequested) != 0;
    states_.remove(i, kRequested | kUnlockAsked);
    wake(i, false);
    if (asked && !waits_.empty()) fail_waits_at(i);  // (waits whose waiter is further back)
  }
}

// ---- machd's own copies (vm_read, vm_write of object mappings) ----------------------

bool MemoryObject::cache_ready(uint64_t i, bool write) {
  const uint8_t s = state(i);
  if (!(s & kResident) && internal_ && !(s & (kPagedOut | kRequested)) && write) return fill_zero(i, 1);
  if (!(s & kResident)) return internal_ && !write && !(s & kPagedOut);  // (zeroes)
  return !(s & kLockRead) && !(write && (s & kLockWrite));
}

bool MemoryObject::copy_stops(uint64_t first, uint64_t end, bool write, bool* missing) {
  bool absent = false, elsewhere = false;
  for (uint64_t i = first; i < end; ++i) {
    if (cache_ready(i, write)) continue;
    absent = true;
    elsewhere |= !(state(i) & kResident);
  }
  if (!absent) return false;
  if (missing != nullptr)
    *missing = elsewhere;  // (a page its pager locked is not waited for)
  else
    when_resident(first * kPage, (end - first) * kPage, [](bool) {});
  return true;
}

kern_return_t MemoryObject::read_cache(uint64_t offset, void* buf, uint64_t n, bool* missing) {
  if (!alive_) return KERN_MEMORY_ERROR;
  if (n == 0) return KERN_SUCCESS;
  const uint64_t first = offset / kPage, end = (offset + n + kPage - 1) / kPage;
  ensure(end * kPage);
  if (copy_stops(first, end, false, missing)) return KERN_MEMORY_ERROR;
  auto* out = static_cast<uint8_t*>(buf);
  for (uint64_t i = first; i < end; ++i) {
    const uint64_t a = std::max(offset, i * kPage), b = std::min(offset + n, (i + 1) * kPage);
    if (state(i) & kResident) {
      if (pread(fd_, out + (a - offset), b - a, off_t(a)) != ssize_t(b - a)) return KERN_MEMORY_ERROR;
    } else {
      std::fill(out + (a - offset), out + (b - offset), uint8_t(0));
    }
  }
  return KERN_SUCCESS;
}

kern_return_t MemoryObject::write_cache(uint64_t offset, const void* buf, uint64_t n, bool* missing) {
  if (!alive_) return KERN_MEMORY_ERROR;
  if (n == 0) return KERN_SUCCESS;
  const uint64_t first = offset / kPage, end = (offset + n + kPage - 1) / kPage;
  ensure(end * kPage);
  if (copy_stops(first, end, true, missing)) return KERN_MEMORY_ERROR;
  if (!write_all(fd_, static_cast<const uint8_t*>(buf), n, offset)) return KERN_MEMORY_ERROR;
  for (uint64_t i = first; i < end; ++i) states_.add(i, kDirty);  // (a task's next write lifts its protection)
  return KERN_SUCCESS;
}

// ---- the pager's calls -----------------------------------------------------------

kern_return_t MemoryObject::set_attributes(bool ready, bool may_cache, memory_object_copy_strategy_t strategy) {
  may_cache_ = may_cache;
  copy_strategy_ = strategy;
  if (ready && !ready_ && alive_) {
    ready_ = true;
    ready_deadline_.reset();
    std::vector<uint64_t> asks;
    asks.swap(deferred_);
    for (uint64_t idx : asks)
      if (waiters_.count(idx) && !(state(idx) & (kResident | kRequested))) request_around(idx, VM_PROT_READ);
  } else if (!ready) {
    ready_ = false;
  }
  return KERN_SUCCESS;
}

kern_return_t MemoryObject::change_attributes(bool may_cache, memory_object_copy_strategy_t strategy,
                                              mach_port_name_t reply_to, mach_msg_type_name_t reply_type) {
  may_cache_ = may_cache;
  copy_strategy_ = strategy;
  if (MACH_PORT_VALID(reply_to)) pager_.change_completed(*this, reply_to, reply_type, may_cache, strategy);
  return KERN_SUCCESS;
}

kern_return_t MemoryObject::data_supply(uint64_t offset, const uint8_t* data, uint64_t length, vm_prot_t lock_value,
                                        bool precious, mach_port_name_t reply_to, mach_msg_type_name_t reply_type,
                                        int src_fd, uint64_t src_off) {
  kern_return_t result = KERN_SUCCESS;
  uint64_t error_offset = 0;
  if (offset % kPage != 0) {
    result = KERN_INVALID_ARGUMENT;
    error_offset = offset;
  } else if (alive_) {
    const uint64_t first = offset / kPage;
    const uint64_t count = length / kPage;  // a partial last page is discarded
    ensure((first + count) * kPage);
    const uint8_t locks = lock_bits(lock_value);
    for (uint64_t i = 0; i < count;) {
      if (state(first + i) & kResident) {
        if (result == KERN_SUCCESS) {
          result = KERN_MEMORY_PRESENT;
          error_offset = (first + i) * kPage;
        }
        ++i;
        continue;
      }
      uint64_t e = i + 1;
      while (e < count && !(state(first + e) & kResident)) ++e;
      const bool copied = src_fd >= 0 ? copy_range(src_fd, src_off + i * kPage, fd_, (first + i) * kPage, (e - i) * kPage)
                                       : write_all(fd_, data + i * kPage, (e - i) * kPage, (first + i) * kPage);
      if (!copied) {
        if (result == KERN_SUCCESS) {
          result = KERN_RESOURCE_SHORTAGE;
          error_offset = (first + i) * kPage;
        }
        break;
      }
      for (uint64_t j = i; j < e; ++j)
        set_page(first + j, uint8_t((state(first + j) & kPagedOut) | kResident | locks | (precious ? kPrecious : 0)));
      i = e;
    }
    map_everywhere(first, count);
    for (uint64_t i = first; i < first + count; ++i)
      if ((state(i) & kResident) && !(state(i) & kLockRead)) wake(i, true);
    prune_pending();
  }
  if (MACH_PORT_VALID(reply_to)) pager_.supply_completed(*this, reply_to, reply_type, offset, length, result, error_offset);
  return result;
}

kern_return_t MemoryObject::data_unavailable(uint64_t offset, uint64_t length) {
  if (!alive_) return KERN_SUCCESS;
  const uint64_t first = offset / kPage;
  const uint64_t end = (offset + length + kPage - 1) / kPage;
  ensure(end * kPage);
  if (!fill_zero(first, end - first)) {
    fail_range(first, end - first);
    return KERN_RESOURCE_SHORTAGE;
  }
  return KERN_SUCCESS;
}

bool MemoryObject::fill_zero(uint64_t first, uint64_t count) {
  const uint64_t end = first + count;
  for (uint64_t i = first; i < end;) {
    if (state(i) & kResident) {
      ++i;
      continue;
    }
    uint64_t e = i + 1;
    while (e < end && !(state(e) & kResident)) ++e;
    // A hole reads as zeroes; allocating it puts zeroed pages in the cache
    // for UFFDIO_CONTINUE to map (punched first: a page left behind by a
    // task's own hole punching must not show through).
    const off_t off = off_t(i * kPage), len = off_t((e - i) * kPage);
    (void)!fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
    if (fallocate(fd_, FALLOC_FL_KEEP_SIZE, off, len) != 0) return false;
    for (uint64_t j = i; j < e; ++j) set_page(j, uint8_t((state(j) & kPagedOut) | kResident));
    i = e;
  }
  map_everywhere(first, count);
  for (uint64_t i = first; i < end; ++i) wake(i, true);
  prune_pending();
  return true;
}

kern_return_t MemoryObject::data_error(uint64_t offset, uint64_t length, kern_return_t) {
  const uint64_t first = offset / kPage;
  const uint64_t end = (offset + length + kPage - 1) / kPage;
  fail_range(first, end - first);
  prune_pending();
  return KERN_SUCCESS;
}

void MemoryObject::return_pages(uint64_t first, uint64_t count, bool all, bool keep) {
  auto returned = [&](uint64_t i) {
    const uint8_t s = state(i);
    return (s & kResident) && ((s & kDirty) || (all && (s & kPrecious)));
  };
  const uint64_t end = std::min(first + count, pages());
  for (uint64_t i = first; i < end;) {
    i = states_.next_nonzero(i, end);  // (a page without state is not resident)
    if (i >= end) break;
    if (!returned(i)) {
      ++i;
      continue;
    }
    const bool dirty = (state(i) & kDirty) != 0;
    uint64_t e = i + 1;
    while (e < end && returned(e) && ((state(e) & kDirty) != 0) == dirty && (e - i) * kPage < kMaxReturnBytes) ++e;
    // Write-protect first: a write from now on faults and dirties the page
    // again, so what we read is what the pager gets and nothing is lost.
    // (If a task's map is changing and the protection cannot be set now,
    // the pages stay dirty: returned now and again later, never lost.)
    bool protected_all = true;
    for (ObjectMapping* m : mappings_) {
      if (!mapping_writes(*m)) continue;
      const uint64_t mfirst = m->offset / kPage;
      const uint64_t mend = mfirst + (m->end - m->start) / kPage;
      const uint64_t a = std::max(i, mfirst), b = std::min(e, mend);
      if (a < b && !ops_.write_protect(*m, m->address_of(a * kPage), (b - a) * kPage, true)) protected_all = false;
    }
    const bool sent = pager_.data_return(*this, i * kPage, (e - i) * kPage, dirty, keep);
    for (uint64_t j = i; j < e; ++j) {
      if (sent && protected_all) states_.remove(j, kDirty);
      if (sent && !keep) states_.remove(j, kPrecious);
    }
    i = e;
  }
}

kern_return_t MemoryObject::lock_request(uint64_t offset, uint64_t length, memory_object_return_t should_return,
                                         bool should_flush, vm_prot_t lock_value, mach_port_name_t reply_to, mach_msg_type_name_t reply_type) {
  const uint64_t first = offset / kPage;
  const uint64_t end = std::min<uint64_t>((offset + length + kPage - 1) / kPage, pages());
  const bool no_change = lock_value == VM_PROT_NO_CHANGE || lock_value == VM_PROT_NO_CHANGE_LEGACY;
  const uint8_t locks = no_change ? 0 : lock_bits(lock_value);
  // 1) access restrictions.
  for (uint64_t i = first; i < end && !no_change; ++i) {
    i = states_.next_nonzero(i, end);  // (a page without state is not resident)
    if (i >= end) break;
    const uint8_t s = state(i);
    if (!(s & kResident)) continue;
    const uint8_t old = s & (kLockWrite | kLockRead);
    states_.set(i, uint8_t((s & ~(kLockWrite | kLockRead)) | locks));
    for (ObjectMapping* m : mappings_) {
      if (!m->covers_offset(i * kPage)) continue;
      const uint64_t addr = m->address_of(i * kPage);
      if ((locks & kLockRead) && !(old & kLockRead)) ops_.unmap_pages(*m, addr, kPage);
      if ((locks & kLockWrite) && !(old & kLockWrite) && mapping_writes(*m)) ops_.write_protect(*m, addr, kPage, true);
    }
    if ((old & ~locks) != 0) {  // a lock lifted: the threads waiting for it go on
      states_.remove(i, kUnlockAsked);
      auto [lo, hi] = waiters_.equal_range(i);
      for (auto it = lo; it != hi; ++it) {
        const Waiter& w = it->second;
        if (!w.mapping) continue;
        if (!(locks & kLockWrite) && mapping_writes(*w.mapping)) {
          states_.add(i, kDirty);
          ops_.write_protect(*w.mapping, w.addr, kPage, false);
        }
      }
      if (!(locks & kLockRead)) {
        map_everywhere(i, 1);
        wake(i, true);
      }
    }
  }
  // 2) write back.
  if (should_return == MEMORY_OBJECT_RETURN_DIRTY || should_return == MEMORY_OBJECT_RETURN_ALL ||
      should_return == MEMORY_OBJECT_RETURN_ANYTHING)
    return_pages(first, end > first ? end - first : 0, should_return != MEMORY_OBJECT_RETURN_DIRTY, !should_flush);
  // 3) flush: holes in the cache unmap the pages from every task.
  if (should_flush) {
    // (A dirty page that could not be returned when asked is kept: flushing
    // it would lose the only copy of its data.)
    const bool keep_dirty = should_return != MEMORY_OBJECT_RETURN_NONE;
    auto flushable = [&](uint64_t i) { return (state(i) & kResident) && !(keep_dirty && (state(i) & kDirty)); };
    for (uint64_t i = first; i < end;) {
      i = states_.next_nonzero(i, end);  // (a page without state is not resident)
      if (i >= end) break;
      if (!flushable(i)) {
        ++i;
        continue;
      }
      uint64_t e = i + 1;
      while (e < end && flushable(e)) ++e;
      (void)!fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(i * kPage), off_t((e - i) * kPage));
      for (uint64_t j = i; j < e; ++j) set_page(j, state(j) & kPagedOut);
      i = e;
    }
  }
  if (MACH_PORT_VALID(reply_to)) pager_.lock_completed(*this, reply_to, reply_type, offset, length);
  return KERN_SUCCESS;
}

void MemoryObject::destroy(bool pager_dead) {
  if (terminated_) return;
  alive_ = false;
  std::vector<uint64_t> idx;
  for (auto& [i, w] : waiters_) idx.push_back(i);
  for (uint64_t i : idx) wake(i, false);
  pending_.clear();
  deferred_.clear();
  states_.clear();
  resident_ = 0;
  // The memory goes now: later accesses fault (and fail) on the holes.
  (void)!fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, off_t(pages() * kPage));
  terminated_ = true;
  if (!pager_dead) pager_.terminate(*this);
}

void MemoryObject::terminate() {
  if (terminated_) return;
  if (alive_ && !internal_) return_pages(0, pages(), true, false);  // (anonymous memory dies with its object)
  alive_ = false;
  terminated_ = true;
  std::vector<uint64_t> idx;
  for (auto& [i, w] : waiters_) idx.push_back(i);
  for (uint64_t i : idx) wake(i, false);
  pager_.terminate(*this);
}

// ---- anonymous memory under a budget --------------------------------------------

bool MemoryObject::evictable(uint64_t i) const {
  const uint8_t s = state(i);
  return (s & kResident) && !(s & (kRequested | kUnlockAsked | kLockRead | kLockWrite)) && waiters_.count(i) == 0;
}

bool MemoryObject::page_out_run(uint64_t first, uint64_t end) {
  // Dirty pages travel in runs of one kind (the manager has seen them or
  // not), write-protected first so that a write from now on faults.
  for (uint64_t i = first; i < end;) {
    if (!(state(i) & kDirty)) {
      ++i;
      continue;
    }
    const bool seen = (state(i) & kPagedOut) != 0;
    uint64_t e = i + 1;
    while (e < end && (state(e) & kDirty) && ((state(e) & kPagedOut) != 0) == seen) ++e;
    for (ObjectMapping* m : mappings_) {
      if (!mapping_writes(*m)) continue;
      const uint64_t mfirst = m->offset / kPage;
      const uint64_t mend = mfirst + (m->end - m->start) / kPage;
      const uint64_t a = std::max(i, mfirst), b = std::min(e, mend);
      if (a < b && !ops_.write_protect(*m, m->address_of(a * kPage), (b - a) * kPage, true)) return false;
    }
    if (!pager_.page_out(*this, i * kPage, (e - i) * kPage, !seen)) return false;
    for (uint64_t j = i; j < e; ++j) states_.set(j, uint8_t((state(j) & ~kDirty) | kPagedOut));
    i = e;
  }
  // Every page of the run is now zero or held by the manager: the hole
  // unmaps it from every task, and the next touch faults.
  (void)!fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(first * kPage), off_t((end - first) * kPage));
  for (uint64_t j = first; j < end; ++j) set_page(j, state(j) & kPagedOut);
  return true;
}

uint64_t MemoryObject::evict(uint64_t want, bool* stalled) {
  if (!internal_ || !alive_ || resident_ == 0) return 0;
  const uint64_t n = pages();
  const uint64_t max_run = kMaxReturnBytes / kPage;
  uint64_t freed = 0;
  for (uint64_t scanned = 0; scanned < n && freed < want;) {
    const uint64_t i = hand_ % n;
    if (const uint64_t j = states_.next_nonzero(i, n); j > i) {  // pages without state are not resident
      hand_ = j;
      scanned += j - i;
      continue;
    }
    if (!evictable(i)) {
      hand_ = i + 1;
      ++scanned;
      continue;
    }
    uint64_t e = i + 1;
    while (e < n && e - i < max_run && freed + (e - i) < want && evictable(e)) ++e;
    if (!page_out_run(i, e)) {
      if (stalled) *stalled = true;
      break;
    }
    freed += e - i;
    scanned += e - i;
    hand_ = e;
  }
  return freed;
}

// Forgets requests that are all answered (so deadlines stay few).
void MemoryObject::prune_pending() {
  std::erase_if(pending_, [&](const Pending& p) {
    return !any_page_with(p.offset / kPage, (p.offset + p.length) / kPage, p.unlock ? kUnlockAsked : kRequested);
  });
}

void MemoryObject::expire(uint64_t now_ns) {
  if (ready_deadline_ && *ready_deadline_ <= now_ns) {  // never became ready: its waiters fail
    ready_deadline_.reset();
    if (!deferred_.empty())
      spdlog::warn("memory object {}: its pager did not make it ready (memory_object_ready) in {:.3g} s; the "
                   "threads waiting on it get a memory error",
                   id_, double(timeout_ns_) / 1e9);
    std::vector<uint64_t> asks;
    asks.swap(deferred_);
    for (uint64_t idx : asks) wake(idx, false);
  }
  std::vector<Pending> late;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (!any_page_with(it->offset / kPage, (it->offset + it->length) / kPage, it->unlock ? kUnlockAsked : kRequested)) {
      it = pending_.erase(it);
    } else if (it->deadline <= now_ns) {
      late.push_back(*it);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  if (!late.empty())
    spdlog::warn("memory object {}: its pager left {} request(s) unanswered for {:.3g} s (the first at offset {:#x}, "
                 "{} bytes); the threads waiting on them get a memory error",
                 id_, late.size(), double(timeout_ns_) / 1e9, late.front().offset, late.front().length);
  for (const Pending& p : late) {
    const uint8_t bit = p.unlock ? kUnlockAsked : kRequested;
    const uint64_t end = std::min((p.offset + p.length) / kPage, pages());
    for (uint64_t i = states_.next_nonzero(p.offset / kPage, end); i < end; i = states_.next_nonzero(i + 1, end))
      if (state(i) & bit) fail_range(i, 1);
  }
}

std::optional<uint64_t> MemoryObject::next_deadline() const {
  std::optional<uint64_t> d = ready_deadline_;
  for (const Pending& p : pending_)
    if (!d || p.deadline < *d) d = p.deadline;
  return d;
}

}  // namespace machd::vm
