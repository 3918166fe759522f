// machd/vm/memory_object.h — one memory object as machd (the kernel) holds
// it: its cache of pages, what each page's state is, which threads wait on
// which pages, and the memory_object protocol's rules (GNU Mach's external
// pager interface, doc/mach.texi "External Memory Management").
//
// The cache is a memfd machd owns. Tasks map it MAP_SHARED (copy=FALSE), so
// every mapping sees one copy of each page; their userfaultfds route faults
// on pages not mapped yet to fault() (vm/fault_router.h). Pages come from
// the pager (supply) and go back to it (data_return).
//
// This class is pure protocol and state: it reaches the pager through a
// PagerLink and the tasks' page tables through a MappingOps, both
// interfaces, so it is tested with simulated pagers and faults.
//
// Rules it keeps (each pinned by a test in tests/vm/memory_object_test.cc):
//   - one data_request per page at a time: a page is never requested while
//     it is resident or already asked for; faults on one page coalesce;
//   - a request covers a cluster: the run of absent, unrequested pages
//     around the fault, aligned to the cluster size; on sequential faults
//     the cluster starts at the fault, doubles up to kMaxClusterPages, and
//     the next cluster is asked for at once (read-ahead);
//   - supply of a resident page is ignored and reported in
//     supply_completed (KERN_MEMORY_PRESENT, its offset), as GNU Mach does;
//   - supplied pages are mapped at once in every mapping (eager), write-
//     protected where the mapping may write, so the first write is seen:
//     dirty tracking is exact per page;
//   - lock_value is the access the pager forbids; a fault needing it sends
//     data_unlock once and waits for lock_request to lift it;
//   - lock_request restricts, returns dirty (RETURN_DIRTY) or dirty and
//     precious (RETURN_ALL) pages, flushes, in that order, then answers
//     lock_completed; data_return is batched (kMaxReturnBytes per message);
//   - data_error fails the threads waiting on those pages (SIGBUS through
//     MappingOps::fail); the pages stay absent so a later access asks again;
//   - a pager that dies, never answers memory_object_init, or leaves a
//     request unanswered past the timeout fails the waiting threads the
//     same way; a dead object fails every
//     later fault and releases its memory.
#pragma once

#include <mach/kern_return.h>
#include <mach/memory_object_types.h>
#include <mach/vm_inherit.h>
#include <mach/vm_prot.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "ipc/kernel.h"
#include "vm/page_states.h"

namespace machd::vm {

class MemoryObject;

// One range of one task mapped from an object (owned by the fault router).
struct ObjectMapping {
  ipc::TaskId task = ipc::kNoTask;
  uint64_t start = 0;       // task address, page aligned
  uint64_t end = 0;
  uint64_t offset = 0;      // object offset of `start`
  vm_prot_t protection = VM_PROT_NONE;
  vm_inherit_t inheritance = VM_INHERIT_NONE;  // SHARE: a forked child maps it too
  MemoryObject* object = nullptr;

  bool covers_offset(uint64_t off) const { return off >= offset && off < offset + (end - start); }
  uint64_t address_of(uint64_t off) const { return start + (off - offset); }
};

// How the object reaches its pager (vm/pager_link.h sends the messages).
// Every call is a one-way message; the object never waits on it.
class PagerLink {
 public:
  virtual ~PagerLink() = default;
  virtual void init(MemoryObject& o) = 0;
  virtual void data_request(MemoryObject& o, uint64_t offset, uint64_t length, vm_prot_t access) = 0;
  virtual void data_unlock(MemoryObject& o, uint64_t offset, uint64_t length, vm_prot_t access) = 0;
  // The data is [offset, offset+length) of the cache (o.fd()); dirty:
  // modified since supplied; kernel_copy: the kernel keeps its copy. False
  // if it could not be sent (the pages then stay dirty and cached).
  virtual bool data_return(MemoryObject& o, uint64_t offset, uint64_t length, bool dirty, bool kernel_copy) = 0;
  virtual void lock_completed(MemoryObject& o, mach_port_name_t reply_to, mach_msg_type_name_t reply_type, uint64_t offset, uint64_t length) = 0;
  virtual void supply_completed(MemoryObject& o, mach_port_name_t reply_to, mach_msg_type_name_t reply_type, uint64_t offset, uint64_t length,
                                kern_return_t result, uint64_t error_offset) = 0;
  virtual void change_completed(MemoryObject& o, mach_port_name_t reply_to, mach_msg_type_name_t reply_type, bool may_cache,
                                memory_object_copy_strategy_t strategy) = 0;
  // The object ends: memory_object_terminate, then the link forgets it.
  virtual void terminate(MemoryObject& o) = 0;
  // Anonymous memory (an internal object, MemoryObject::internal()): pages
  // [offset, offset+length) of the cache go to the default memory manager,
  // which then keeps them: memory_object_data_initialize when it never had
  // them (initialize), else memory_object_data_return. The first page-out
  // of an object hands it to the manager (memory_object_create). False if
  // it could not be sent (no manager registered, or it died): the pages
  // stay.
  virtual bool page_out(MemoryObject&, uint64_t /*offset*/, uint64_t /*length*/, bool /*initialize*/) { return false; }
};

// What the object asks of the tasks' page tables (the fault router does it
// with each task's userfaultfd). Ranges are task addresses.
class MappingOps {
 public:
  virtual ~MappingOps() = default;
  // Maps cached pages and wakes their waiters; false if a page is not in
  // the cache any more (the object then asks the pager again).
  virtual bool map_cached(const ObjectMapping& m, uint64_t addr, uint64_t len, bool write_protect) = 0;
  // Sets (protect) or lifts write protection. Lifting always succeeds in
  // the end (retried if the task's map is changing); setting returns false
  // when it could not be done now (the caller keeps the pages dirty).
  virtual bool write_protect(const ObjectMapping& m, uint64_t addr, uint64_t len, bool protect) = 0;
  // Removes the pages from the task's page table (they fault again).
  virtual void unmap_pages(const ObjectMapping& m, uint64_t addr, uint64_t len) = 0;
  // The threads waiting on the range get SIGBUS.
  virtual void fail(const ObjectMapping& m, uint64_t addr, uint64_t len) = 0;
};

class MemoryObject {
 public:
  static constexpr uint64_t kPage = 4096;
  static constexpr uint32_t kMinClusterPages = 64;    // 256 KiB
  static constexpr uint32_t kMaxClusterPages = 512;   // 2 MiB
  static constexpr uint64_t kMaxReturnBytes = 1 << 20;

  // `fd`: the cache memfd (taken). Sends memory_object_init at once, unless
  // `internal`: anonymous memory (vm_allocate under a memory budget), which
  // has no pager until it is first paged out. Its pages start as zeroes
  // (filled by machd on first touch, never asked of a pager); pages that
  // went to the default memory manager (evict) are asked of it again.
  MemoryObject(uint64_t id, int fd, PagerLink& pager, MappingOps& ops, uint64_t timeout_ns, bool internal = false);
  ~MemoryObject();
  MemoryObject(const MemoryObject&) = delete;
  MemoryObject& operator=(const MemoryObject&) = delete;

  uint64_t id() const { return id_; }
  int fd() const { return fd_; }
  bool ready() const { return ready_; }
  bool alive() const { return alive_; }
  bool may_cache() const { return may_cache_; }
  bool internal() const { return internal_; }
  // The extent mapped or touched so far (the cache memfd is at least this
  // long); state is kept only for the pages that have some.
  uint64_t size() const { return pages() * kPage; }
  // Pages in the cache (resident), i.e. memory the object holds now.
  uint64_t resident_pages() const { return resident_; }
  memory_object_copy_strategy_t copy_strategy() const { return copy_strategy_; }
  const std::vector<ObjectMapping*>& mappings() const { return mappings_; }

  // ---- the tasks' side ----
  // A mapping appears (map_now: its pages already resident are mapped at
  // once; not for the pieces of a mapping split by an unmap) or goes away.
  void attach(ObjectMapping* m, bool map_now = true);
  void detach(ObjectMapping* m);
  // A thread of m.task faulted at `addr` (page aligned). write: a write
  // access; wp: the page was mapped write-protected.
  void fault(const ObjectMapping& m, uint64_t addr, bool write, bool wp);
  // Calls done(true) once [offset, offset+length) is all resident (asking
  // the pager as needed), done(false) if the pager fails it. (copy=TRUE
  // snapshots.) The absent pages are asked for at once; the wait holds one
  // waiter at a time (on the first page not resident yet), so its memory
  // does not follow the length. A page that leaves the cache before the
  // wait reaches it is asked for again.
  void when_resident(uint64_t offset, uint64_t length, std::function<void(bool)> done);

  // machd reading or writing a task's memory for it (vm_read, vm_write,
  // vm_copy of a range mapped from this object): through the cache, never
  // through the task's page tables, where a fault would wait for machd
  // itself. Resident pages are copied (a write marks them dirty); an
  // internal object's pages that were never paged out are zeroes (a write
  // fills them first). Any other page (with its pager, or locked) makes
  // the call answer KERN_MEMORY_ERROR without copying. With `missing`, it
  // then sets *missing if a page is not resident, and asks nothing (the
  // caller waits: when_resident asks); without, the pages are asked for
  // now, so a later call finds them.
  kern_return_t read_cache(uint64_t offset, void* buf, uint64_t n, bool* missing = nullptr);
  kern_return_t write_cache(uint64_t offset, const void* buf, uint64_t n, bool* missing = nullptr);

  // ---- the pager's calls on the control port (GNU Mach's mach.defs) ----
  // reply_to (with the type it was received as) takes the *_completed
  // answer; MACH_PORT_NULL for none. The object consumes it.
  kern_return_t set_attributes(bool ready, bool may_cache, memory_object_copy_strategy_t strategy);
  kern_return_t change_attributes(bool may_cache, memory_object_copy_strategy_t strategy, mach_port_name_t reply_to, mach_msg_type_name_t reply_type);
  // lock_request: lock_value VM_PROT_NO_CHANGE keeps each page's lock.
  // Whole pages of data (partial tail ignored), lock_value: forbidden access.
  // src_fd >= 0: the same bytes are at src_off in that file (copied from
  // there inside the kernel, not through `data`).
  kern_return_t data_supply(uint64_t offset, const uint8_t* data, uint64_t length, vm_prot_t lock_value,
                            bool precious, mach_port_name_t reply_to, mach_msg_type_name_t reply_type,
                            int src_fd = -1, uint64_t src_off = 0);
  kern_return_t data_unavailable(uint64_t offset, uint64_t length);
  kern_return_t data_error(uint64_t offset, uint64_t length, kern_return_t error);
  kern_return_t lock_request(uint64_t offset, uint64_t length, memory_object_return_t should_return,
                             bool should_flush, vm_prot_t lock_value, mach_port_name_t reply_to, mach_msg_type_name_t reply_type);
  // memory_object_destroy / the pager died: every waiter and later fault
  // fails, the memory is released, terminate is sent (not when dead).
  void destroy(bool pager_dead);
  // Ends the object once nothing maps it (returns dirty and precious pages
  // first). The owner deletes it after.
  void terminate();

  // An internal object gives back up to `want` resident pages, taken in
  // address order from where the last call stopped (a clock hand): dirty
  // ones go to the default memory manager first (page_out, after write
  // protection, so a later write faults and is seen), clean ones it holds
  // or that are still zero are dropped. Pages locked, asked for or waited
  // on stay. Returns the pages freed; 0 for an external object. *stalled
  // (if given) is set when a page-out could not be sent.
  uint64_t evict(uint64_t want, bool* stalled = nullptr);

  // Requests whose deadline passed fail their waiters.
  void expire(uint64_t now_ns);
  std::optional<uint64_t> next_deadline() const;

  // A page's state bits (tests).
  uint8_t page_state(uint64_t offset) const;
  // Waiters held: a faulting thread's per page, one per when_resident (tests).
  size_t waiter_count() const { return waiters_.size(); }

  enum PageBits : uint8_t {
    kResident = 1,
    kRequested = 2,
    kDirty = 4,
    kPrecious = 8,
    kLockWrite = 16,   // the pager forbids writing
    kLockRead = 32,    // the pager forbids reading (and executing)
    kUnlockAsked = 64,
    kPagedOut = 128,   // internal: the default memory manager holds the page's data
  };

 private:
  struct Waiter {
    const ObjectMapping* mapping = nullptr;  // a faulting thread's mapping, or
    uint64_t addr = 0;
    std::function<void(bool)> done;          // a when_resident callback
  };
  struct ResidentWait {  // a when_resident
    uint64_t next, end;   // pages [next, end) still to see resident
    std::function<void(bool)> done;
    bool over = false;
  };
  struct Pending {  // a data_request (or data_unlock) not answered yet
    uint64_t offset, length, deadline;
    bool unlock;
  };

  uint8_t state(uint64_t index) const { return states_.get(index); }
  uint64_t pages() const { return pages_; }
  // The object reaches end_offset at least: pages() grows to cover it and
  // the cache memfd is lengthened to match (no state is allocated).
  void ensure(uint64_t end_offset);
  // Whether a page of [first, end) has one of `bits` (pages past pages()
  // have none); skips the pages without state.
  bool any_page_with(uint64_t first, uint64_t end, uint8_t bits) const;
  void request_around(uint64_t index, vm_prot_t access);
  void request_range(uint64_t first, uint64_t count, vm_prot_t access);
  // Asks for the pages of [first, end) neither resident nor asked for (only
  // the first of them, deferred, while the pager is not ready).
  void ask_absent(uint64_t first, uint64_t end);
  // Steps w over resident pages and waits on the next one; done at the end.
  void await_resident(const std::shared_ptr<ResidentWait>& w);
  // The wait is over: forgotten, then told (once).
  void end_wait(const std::shared_ptr<ResidentWait>& w, bool ok);
  // Page `index`, asked for, failed: so does every wait still to see it.
  void fail_waits_at(uint64_t index);
  void map_in(ObjectMapping& m, uint64_t first, uint64_t count);
  void map_everywhere(uint64_t first, uint64_t count);
  void wake(uint64_t index, bool ok);
  void fail_range(uint64_t first, uint64_t count);
  void prune_pending();
  // Sets page i's bits, keeping the resident count.
  void set_page(uint64_t i, uint8_t bits);
  // Pages [first, first+count) become resident zeroes, mapped where mapped,
  // their waiters woken (data_unavailable, and an internal object's first
  // touch). False if the cache could not grow.
  bool fill_zero(uint64_t first, uint64_t count);
  bool evictable(uint64_t i) const;
  // Whether machd can copy page i from (or, write, into) the cache now,
  // filling an internal object's zero page for a write.
  bool cache_ready(uint64_t i, bool write);
  // Whether a page of [first, end) is not cache_ready: then *missing says
  // whether one is not resident (a wait would bring it; a locked page is
  // not waited for), or (without `missing`) the range is asked for.
  bool copy_stops(uint64_t first, uint64_t end, bool write, bool* missing);
  // Sends the dirty pages of [first, end) to the default memory manager
  // and drops the run from the cache. False if a page-out failed.
  bool page_out_run(uint64_t first, uint64_t end);
  void return_pages(uint64_t first, uint64_t count, bool all, bool keep);
  bool mapping_writes(const ObjectMapping& m) const { return (m.protection & VM_PROT_WRITE) != 0; }

  uint64_t id_;
  int fd_;
  bool internal_ = false;
  uint64_t resident_ = 0;
  uint64_t hand_ = 0;                                  // evict's clock hand (page index)
  PagerLink& pager_;
  MappingOps& ops_;
  uint64_t timeout_ns_;
  bool ready_ = false;
  bool alive_ = true;
  bool terminated_ = false;
  bool may_cache_ = false;
  memory_object_copy_strategy_t copy_strategy_ = MEMORY_OBJECT_COPY_DELAY;
  uint64_t pages_ = 0;                                 // size() in pages
  PageStates states_;                                  // PageBits per page (sparse: 0 where nothing is known)
  std::multimap<uint64_t, Waiter> waiters_;            // by page index
  std::vector<std::shared_ptr<ResidentWait>> waits_;   // when_resident waits not over (each has one waiter)
  std::vector<uint64_t> deferred_;                     // faulted before ready: page indexes to ask for
  std::optional<uint64_t> ready_deadline_;             // they fail if the pager is not ready by then
  std::vector<Pending> pending_;                       // data_requests in flight
  std::vector<ObjectMapping*> mappings_;
  uint64_t last_request_end_ = UINT64_MAX;             // read-ahead
  uint32_t cluster_pages_ = kMinClusterPages;
};

// machd's clock for pager deadlines.
uint64_t object_now_ns();

}  // namespace machd::vm
