// pagers/pager-test/protocol_checker.h — the rules of GNU Mach's external
// pager protocol, checked on the messages the kit carries between the
// kernel (machd) and the pager. Pure bookkeeping: the proxy tells it each
// message with the time it passed; it adds findings and counts.
//
// Rules checked (rule ids, as in README.md):
//   of the pager
//     ready-missing       memory_object_ready (or set_attributes with ready)
//                         within the timeout of memory_object_init
//     request-unanswered  every page of a data_request supplied, declared
//                         unavailable or failed within the timeout
//     unlock-unanswered   every data_unlock answered (lock_request lifting
//                         the lock, or data_error) within the timeout
//     supply-unaligned    data_supply / data_unavailable / data_error at an
//                         offset, or of a length, that is not whole pages
//     data-error          a page the kit's tasks needed was failed
//     lock-request-invalid  should_return or lock_value out of range
//                         (VM_PROT_NO_CHANGE is in range)
//     pager-died          the pager's object port died while the kit used it
//     (notes) supply-unsolicited  pages supplied nobody asked for (allowed:
//                         read-ahead); supply-resident  pages supplied again
//                         while the kernel held them (ignored by it);
//                         pager-destroyed  memory_object_destroy;
//                         request-abandoned  a request still open, not yet
//                         late, when the kernel ended the object; pager-killed
//   of the kernel
//     init-page-size      memory_object_init's page size is the kernel's
//     init-twice          a second init before terminate
//     request-unaligned   data_request / data_unlock of whole pages
//     request-before-ready  no data_request before the object is ready
//     request-duplicate   no page requested while a request for it is open
//     request-resident    no page requested while the kernel holds it
//     return-not-resident a data_return only of pages the kernel held
//
// Page residency as the kit sees it: a page is resident from a supply or
// data_unavailable until a flush (a lock_request with should_flush, from
// its lock_completed on; in between the kernel may both return the page
// and ask for it again), a data_return without kernel_copy, a data_error,
// terminate, or the pager's death.
#pragma once

#include <mach/mach.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "findings.h"

namespace pagerkit {

// Whole pages [first, first + count).
struct PageRange {
  uint64_t first = 0;
  uint64_t count = 0;
};

class ProtocolChecker {
 public:
  ProtocolChecker(Findings& findings, uint64_t page_size, uint64_t timeout_ns);

  // ---- the kernel's messages to the pager ----
  void init(uint64_t now, uint64_t page_size);
  void data_request(uint64_t now, uint64_t offset, uint64_t length, vm_prot_t access);
  void data_unlock(uint64_t now, uint64_t offset, uint64_t length, vm_prot_t access);
  void data_return(uint64_t now, uint64_t offset, uint64_t length, bool dirty, bool kernel_copy);
  void terminate(uint64_t now);

  // ---- the pager's calls on the control port ----
  void ready(uint64_t now, bool ready, bool may_cache);
  // The pages the kernel takes from a supply (whole pages from an aligned
  // offset; none if the offset is not aligned).
  PageRange supply(uint64_t now, uint64_t offset, uint64_t length);
  PageRange unavailable(uint64_t now, uint64_t offset, uint64_t length);
  void error(uint64_t now, uint64_t offset, uint64_t length, kern_return_t error);
  // False (after a finding) if the kernel would refuse it: the proxy then
  // does not forward it. by_kit: the kit's own request (clean, flush).
  bool lock_request(uint64_t now, uint64_t offset, uint64_t length, memory_object_return_t should_return,
                    bool should_flush, vm_prot_t lock_value, bool by_kit);
  // The kernel's lock_completed for a lock_request (done), or the request
  // dropped without one (!done): a flush it asked for is over.
  void lock_completed(uint64_t offset, uint64_t length, bool should_flush, bool done);
  void destroy(uint64_t now, kern_return_t reason);

  // ---- time and death ----
  // Requests and inits whose deadline passed become findings (once); their
  // pages are forgotten, as the kernel fails them.
  void tick(uint64_t now);
  // The pager's port died. expected: the kit killed it.
  void pager_died(uint64_t now, const std::string& how, bool expected);

  struct Stats {
    uint64_t inits = 0, terminates = 0, requests = 0, pages_requested = 0, unlocks = 0, supplies = 0,
             pages_supplied = 0, pages_unavailable = 0, pages_failed = 0, unsolicited_pages = 0,
             resident_supplied_pages = 0, returns = 0, pages_returned = 0, lock_requests = 0, pager_flushes = 0;
    std::map<uint64_t, uint64_t> request_pages;  // request size in pages -> how many
    std::vector<uint64_t> answer_ns;             // data_request -> last page answered
    bool ready = false;
    bool may_cache = false;
  };
  const Stats& stats() const { return stats_; }
  // Open data_requests (tests of the kit, and the report at the end).
  size_t open_requests() const { return pending_.size(); }

 private:
  struct Pending {
    uint64_t first = 0, count = 0, left = 0;
    uint64_t sent_ns = 0, deadline = 0;
    bool unlock = false;
    vm_prot_t access = VM_PROT_NONE;
  };
  // kFlushing: resident, with a flush asked for whose lock_completed has
  // not come yet (the kernel may ask for the page again meanwhile).
  enum : uint8_t { kAsked = 1, kUnlockAsked = 2, kResident = 4, kFlushing = 8 };

  static constexpr uint64_t kDeadlineSlackNs = 250'000'000;

  bool aligned(uint64_t v) const { return v % page_ == 0; }
  // Request `id` is over unanswered: a finding (request-unanswered if its
  // deadline passed, within a slack, else request-abandoned); its pages
  // are forgotten.
  void report_ready_missing();
  void close_late(uint64_t now, uint64_t id);
  std::string range_text(uint64_t offset, uint64_t length) const;
  // The page is answered (data, zeroes or error); true if it was asked for.
  bool answer_page(uint64_t now, uint64_t index, uint8_t bit);
  // A supply-like answer: checks alignment, answers pages; the pages taken.
  PageRange answer(uint64_t now, const char* call, uint64_t offset, uint64_t length, bool resident);
  void forget_pages(uint64_t first, uint64_t count, uint8_t bits);

  Findings& findings_;
  uint64_t page_;
  uint64_t timeout_ns_;
  bool initialized_ = false;
  uint64_t ready_deadline_ = 0;  // 0: no ready awaited
  uint64_t next_id_ = 1;
  std::map<uint64_t, Pending> pending_;                 // by id
  std::unordered_map<uint64_t, uint8_t> pages_;         // page index -> bits
  std::unordered_map<uint64_t, uint64_t> asked_by_;     // page index -> pending id (data_request)
  std::unordered_map<uint64_t, uint64_t> unlock_by_;    // page index -> pending id (data_unlock)
  Stats stats_;
};

}  // namespace pagerkit
