// pagers/dsm-pager/coherence.h — the coherence state machine of one memory
// object shared by several kernels: single writer or many readers per page.
// Pure logic, no Mach: the kernel-message server (kernel_server.h) feeds it
// what kernels ask and answer, and sends the actions it returns.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
//
// Per page the machine knows who holds it (none, some readers, or one
// writer), the revocations it sent and awaits, and the queue of requests
// not granted yet. Requests of a page are granted in arrival order; the
// head waits while any revocation of the page is outstanding.
//
//   read request by K:  a writer W != K is downgraded first (its dirty
//                        page returned, kept read-only by W); then K reads.
//   write request or    every other holder is flushed first (dirty page
//   unlock by K:         returned, page dropped); then K is the writer.
//   write-if-free by K:  a write if nobody else holds the page, else a read.
//
// A revocation unanswered at its deadline makes its kernel overdue
// (overdue()); the caller then removes that kernel (remove_kernel), which
// lets the requests that waited for it go on.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <vector>

namespace dsm {

using KernelId = uint32_t;
using Clock = std::chrono::steady_clock;

// What a kernel holds of a page, as far as the pager granted it.
enum class Hold : uint8_t { kNone, kRead, kWrite };

// What a data_request asks of a page.
enum class Want : uint8_t {
  kRead,
  kWrite,
  // Writable if no other kernel holds the page, else read-only (a writer
  // downgraded, readers left alone): for the pages of a cluster a kernel
  // asks for around one write fault, which of them faulted unknown. A write
  // to a page it got read-only then comes as data_unlock.
  kWriteIfFree,
};

// One thing the server must send to one kernel about one page.
struct Action {
  enum Kind : uint8_t {
    // memory_object_data_supply of the page's authoritative copy; lock_value
    // VM_PROT_WRITE (read-only) unless `writable` (VM_PROT_NONE).
    kSupply,
    // memory_object_lock_request(RETURN_NONE, no flush, VM_PROT_NONE): lifts
    // the write lock of a page the kernel holds read-only.
    kGrantWrite,
    // memory_object_lock_request(RETURN_DIRTY, no flush, VM_PROT_WRITE, a
    // reply port): the writer keeps the page read-only; answer: revoked().
    kDowngrade,
    // memory_object_lock_request(RETURN_DIRTY, flush, VM_PROT_WRITE, a reply
    // port): the kernel drops the page; answer: revoked().
    kFlush,
  };
  Kind kind;
  KernelId kernel;
  uint64_t page;
  bool writable = false;  // kSupply only

  bool operator==(const Action&) const = default;
};

class Coherence {
 public:
  // An object of `pages` pages; a revocation must be answered within
  // `revoke_timeout` of being sent.
  Coherence(uint64_t pages, Clock::duration revoke_timeout);

  uint64_t pages() const { return pages_.size(); }

  // A kernel's data_request for `page`. Appends what to send now to `out`.
  void request(KernelId k, uint64_t page, Want want, Clock::time_point now, std::vector<Action>* out);
  // A kernel's data_unlock for `page` (it holds the page read-only and a
  // task wrote to it). Appends what to send now.
  void unlock(KernelId k, uint64_t page, Clock::time_point now, std::vector<Action>* out);
  // A kernel's lock_completed for `page`: ends its outstanding revocation
  // there (nothing if it has none) and appends what may be sent now.
  void revoked(KernelId k, uint64_t page, Clock::time_point now, std::vector<Action>* out);
  // Whether data that kernel `k` returns for `page` is the page's new
  // contents: true only while `k` is the page's writer (also while a
  // revocation of it is outstanding). A reader's return is stale.
  bool accepts_return(KernelId k, uint64_t page) const;
  // The kernel is gone (terminated, timed out, its port died): it holds
  // nothing, its revocations count as answered, its queued requests are
  // dropped. Appends what may be sent now to the others.
  void remove_kernel(KernelId k, Clock::time_point now, std::vector<Action>* out);

  // The kernels with a revocation unanswered at `now` past its deadline
  // (each once, in no particular order).
  std::vector<KernelId> overdue(Clock::time_point now) const;
  // The earliest deadline of an outstanding revocation; Clock::time_point::max()
  // when none is outstanding.
  Clock::time_point next_deadline() const;

  // What `k` holds of `page`.
  Hold hold(KernelId k, uint64_t page) const;
  // Requests of `page` not granted yet.
  size_t queued(uint64_t page) const { return pages_.at(page).queue.size(); }
  // Revocations of `page` sent and not answered.
  size_t outstanding(uint64_t page) const { return pages_.at(page).revoking.size(); }

 private:
  struct Request {
    KernelId kernel;
    Want want;
    bool unlock;
  };
  struct Revocation {
    KernelId kernel;
    bool flush;  // else a downgrade: the kernel keeps the page read-only
    Clock::time_point deadline;
  };
  struct Page {
    static constexpr KernelId kNobody = ~KernelId(0);
    KernelId writer = kNobody;       // set: `readers` is empty
    std::vector<KernelId> readers;   // no duplicates
    std::vector<Revocation> revoking;
    std::vector<Request> queue;      // (short: a vector, not a deque, whose
                                     // empty form allocates, for every page)
  };

  void enqueue(uint64_t page, Request r, Clock::time_point now, std::vector<Action>* out);
  // Grants queued requests of `page` in order while no revocation is
  // outstanding; issues the revocations the head needs and stops there.
  void advance(uint64_t page, Clock::time_point now, std::vector<Action>* out);
  Hold hold_of(const Page& p, KernelId k) const;
  void drop(Page& p, KernelId k);

  std::vector<Page> pages_;
  Clock::duration revoke_timeout_;
  // The pages with an outstanding revocation, so that overdue() and
  // next_deadline() need not scan every page.
  std::set<uint64_t> revoking_pages_;
};

}  // namespace dsm
