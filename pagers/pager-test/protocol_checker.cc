// pagers/pager-test/protocol_checker.cc — see protocol_checker.h.
#include "protocol_checker.h"

#include "text.h"

#include <cinttypes>
#include <cstdio>

namespace pagerkit {

namespace {

std::string seconds(uint64_t ns) {
  char b[32];
  snprintf(b, sizeof b, "%.3g s", double(ns) / 1e9);
  return b;
}

}  // namespace

ProtocolChecker::ProtocolChecker(Findings& findings, uint64_t page_size, uint64_t timeout_ns)
    : findings_(findings), page_(page_size), timeout_ns_(timeout_ns) {}

std::string ProtocolChecker::range_text(uint64_t offset, uint64_t length) const {
  std::string s = "[" + hex(offset) + ", " + hex(offset + length) + ")";
  if (aligned(offset) && aligned(length)) s += " (" + std::to_string(length / page_) + " pages)";
  return s;
}

void ProtocolChecker::forget_pages(uint64_t first, uint64_t count, uint8_t bits) {
  for (uint64_t i = first; i < first + count; ++i) {
    auto it = pages_.find(i);
    if (it == pages_.end()) continue;
    it->second &= uint8_t(~bits);
    if (it->second == 0) pages_.erase(it);
  }
}

// ---- the kernel's messages ------------------------------------------------------

void ProtocolChecker::init(uint64_t now, uint64_t page_size) {
  ++stats_.inits;
  if (initialized_)
    findings_.violation(Party::kKernel, "init-twice", "memory_object_init came again before memory_object_terminate");
  if (page_size != page_)
    findings_.violation(Party::kKernel, "init-page-size",
                        "memory_object_init gave page size " + std::to_string(page_size) + ", not " +
                            std::to_string(page_));
  initialized_ = true;
  stats_.ready = false;
  // A little before machd's own deadline (--pager-timeout), which fails the
  // faults held for the object and so may end the workload.
  ready_deadline_ = now + timeout_ns_ / 10 * 9;
}

void ProtocolChecker::data_request(uint64_t now, uint64_t offset, uint64_t length, vm_prot_t access) {
  ++stats_.requests;
  if (!aligned(offset) || !aligned(length) || length == 0) {
    findings_.violation(Party::kKernel, "request-unaligned", "data_request " + range_text(offset, length));
    return;
  }
  if (!stats_.ready)
    findings_.violation(Party::kKernel, "request-before-ready",
                        "data_request " + range_text(offset, length) + " before the pager said the object is ready");
  const uint64_t first = offset / page_, count = length / page_;
  stats_.pages_requested += count;
  ++stats_.request_pages[count];
  const uint64_t id = next_id_++;
  Pending p{first, count, 0, now, now + timeout_ns_, false, access};
  uint64_t duplicate = 0, resident = 0;
  for (uint64_t i = first; i < first + count; ++i) {
    uint8_t& s = pages_[i];
    if (s & kAsked) {
      ++duplicate;
      continue;  // the open request keeps it
    }
    if ((s & kResident) && !(s & kFlushing)) ++resident;
    s |= kAsked;
    asked_by_[i] = id;
    ++p.left;
  }
  if (duplicate)
    findings_.violation(Party::kKernel, "request-duplicate",
                        "data_request " + range_text(offset, length) + " asks again for " + std::to_string(duplicate) +
                            " pages an open request already asks for");
  if (resident)
    findings_.violation(Party::kKernel, "request-resident",
                        "data_request " + range_text(offset, length) + " asks for " + std::to_string(resident) +
                            " pages the kernel already holds");
  if (p.left) pending_[id] = p;
}

void ProtocolChecker::data_unlock(uint64_t now, uint64_t offset, uint64_t length, vm_prot_t access) {
  ++stats_.unlocks;
  if (!aligned(offset) || !aligned(length) || length == 0) {
    findings_.violation(Party::kKernel, "request-unaligned", "data_unlock " + range_text(offset, length));
    return;
  }
  const uint64_t id = next_id_++;
  Pending p{offset / page_, length / page_, 0, now, now + timeout_ns_, true, access};
  for (uint64_t i = p.first; i < p.first + p.count; ++i) {
    uint8_t& s = pages_[i];
    if (s & kUnlockAsked) continue;
    s |= kUnlockAsked;
    unlock_by_[i] = id;
    ++p.left;
  }
  if (p.left) pending_[id] = p;
}

void ProtocolChecker::data_return(uint64_t, uint64_t offset, uint64_t length, bool, bool kernel_copy) {
  ++stats_.returns;
  const uint64_t first = offset / page_, count = (length + page_ - 1) / page_;
  stats_.pages_returned += count;
  uint64_t absent = 0;
  for (uint64_t i = first; i < first + count; ++i) {
    auto it = pages_.find(i);
    if (it == pages_.end() || !(it->second & kResident)) ++absent;
  }
  if (absent)
    findings_.violation(Party::kKernel, "return-not-resident",
                        "data_return " + range_text(offset, length) + " carries " + std::to_string(absent) +
                            " pages the pager never supplied (or that were flushed)");
  if (!kernel_copy) forget_pages(first, count, kResident | kFlushing);
}

void ProtocolChecker::terminate(uint64_t now) {
  ++stats_.terminates;
  // The kernel gave up on a pager that never said ready (machd fails the
  // faults held for it at its --pager-timeout): the pager's fault.
  if (ready_deadline_ && now >= ready_deadline_) report_ready_missing();
  initialized_ = false;
  ready_deadline_ = 0;
  stats_.ready = false;
  // Requests still open end with the object: nobody waits for them now.
  std::vector<uint64_t> open;
  for (auto& [id, p] : pending_) open.push_back(id);
  for (uint64_t id : open) close_late(now, id);
  pending_.clear();
  pages_.clear();
  asked_by_.clear();
  unlock_by_.clear();
}

// ---- the pager's calls --------------------------------------------------------------

void ProtocolChecker::ready(uint64_t, bool ready, bool may_cache) {
  stats_.may_cache = may_cache;
  if (ready) {
    stats_.ready = true;
    ready_deadline_ = 0;
  }
}

bool ProtocolChecker::answer_page(uint64_t now, uint64_t index, uint8_t bit) {
  auto& owners = bit == kAsked ? asked_by_ : unlock_by_;
  auto ps = pages_.find(index);
  if (ps == pages_.end() || !(ps->second & bit)) return false;
  ps->second &= uint8_t(~bit);
  auto ow = owners.find(index);
  if (ow == owners.end()) return true;
  auto pe = pending_.find(ow->second);
  owners.erase(ow);
  if (pe != pending_.end() && --pe->second.left == 0) {
    if (!pe->second.unlock) stats_.answer_ns.push_back(now - pe->second.sent_ns);
    pending_.erase(pe);
  }
  return true;
}

PageRange ProtocolChecker::answer(uint64_t now, const char* call, uint64_t offset, uint64_t length, bool resident) {
  if (!aligned(offset)) {
    findings_.violation(Party::kPager, "supply-unaligned",
                        std::string(call) + " " + range_text(offset, length) +
                            ": the offset is not a multiple of the page size (" + std::to_string(page_) +
                            "); the kernel takes none of it");
    return {};
  }
  if (!aligned(length))
    findings_.violation(Party::kPager, "supply-unaligned",
                        std::string(call) + " " + range_text(offset, length) +
                            ": the length is not whole pages; the kernel drops the partial last page");
  PageRange r{offset / page_, length / page_};
  uint64_t unsolicited = 0, again = 0;
  uint64_t first_unsolicited = 0;
  for (uint64_t i = r.first; i < r.first + r.count; ++i) {
    const bool was_resident = pages_.count(i) && (pages_[i] & kResident);
    if (!answer_page(now, i, kAsked)) {
      if (was_resident) {
        ++again;
      } else if (unsolicited++ == 0) {
        first_unsolicited = i;
      }
    }
    // (a page supplied again is no longer the one a pending flush drops)
    if (resident) {
      pages_[i] |= kResident;
      pages_[i] &= uint8_t(~kFlushing);
    } else {
      forget_pages(i, 1, kResident | kFlushing);
    }
  }
  if (unsolicited && resident) {
    stats_.unsolicited_pages += unsolicited;
    findings_.note(Party::kPager, "supply-unsolicited",
                   std::string(call) + " " + range_text(offset, length) + " gives " + std::to_string(unsolicited) +
                       " pages nobody asked for (the first at " + hex(first_unsolicited * page_) +
                       "); allowed, as read-ahead");
  }
  if (again && resident) {
    stats_.resident_supplied_pages += again;
    findings_.note(Party::kPager, "supply-resident",
                   std::string(call) + " " + range_text(offset, length) + " gives " + std::to_string(again) +
                       " pages the kernel already holds; it keeps its own copy");
  }
  return r;
}

PageRange ProtocolChecker::supply(uint64_t now, uint64_t offset, uint64_t length) {
  ++stats_.supplies;
  PageRange r = answer(now, "data_supply", offset, length, true);
  stats_.pages_supplied += r.count;
  return r;
}

PageRange ProtocolChecker::unavailable(uint64_t now, uint64_t offset, uint64_t length) {
  // The kernel rounds a data_unavailable out to whole pages.
  PageRange r = answer(now, "data_unavailable", offset, length, true);
  stats_.pages_unavailable += r.count;
  return r;
}

void ProtocolChecker::error(uint64_t now, uint64_t offset, uint64_t length, kern_return_t error) {
  const uint64_t first = offset / page_;
  const uint64_t end = (offset + length + page_ - 1) / page_;
  for (uint64_t i = first; i < end; ++i) {
    answer_page(now, i, kAsked);
    answer_page(now, i, kUnlockAsked);
  }
  forget_pages(first, end - first, kResident | kFlushing);
  stats_.pages_failed += end - first;
  char code[96];
  snprintf(code, sizeof code, "0x%x, %s", unsigned(error), mach_error_string(error));
  findings_.violation(Party::kPager, "data-error",
                      "data_error(" + std::string(code) + ") for " + range_text(offset, length) +
                          ": the tasks waiting for those pages get SIGBUS");
}

bool ProtocolChecker::lock_request(uint64_t now, uint64_t offset, uint64_t length,
                                   memory_object_return_t should_return, bool should_flush, vm_prot_t lock_value,
                                   bool by_kit) {
  if (!by_kit) ++stats_.lock_requests;
  if (!by_kit && should_flush) ++stats_.pager_flushes;
  const bool no_change = lock_value == VM_PROT_NO_CHANGE || lock_value == VM_PROT_NO_CHANGE_LEGACY;
  if (should_return > MEMORY_OBJECT_RETURN_ANYTHING || (!no_change && (lock_value & ~VM_PROT_ALL) != 0)) {
    findings_.violation(Party::kPager, "lock-request-invalid",
                        "lock_request " + range_text(offset, length) + " with should_return " +
                            std::to_string(should_return) + ", lock_value " + hex(uint64_t(lock_value)) +
                            ": the kernel refuses it (and drops its reply port)");
    return false;
  }
  const uint64_t first = offset / page_;
  const uint64_t end = (offset + length + page_ - 1) / page_;
  if (!by_kit && !no_change) {
    // Lifting a lock answers the data_unlocks it covers.
    for (uint64_t i = first; i < end; ++i) {
      auto ow = unlock_by_.find(i);
      if (ow == unlock_by_.end()) continue;
      auto pe = pending_.find(ow->second);
      if (pe == pending_.end() || (pe->second.access & lock_value) == 0) answer_page(now, i, kUnlockAsked);
    }
  }
  if (should_flush)
    for (uint64_t i = first; i < end; ++i)
      if (auto it = pages_.find(i); it != pages_.end() && (it->second & kResident)) it->second |= kFlushing;
  return true;
}

void ProtocolChecker::lock_completed(uint64_t offset, uint64_t length, bool should_flush, bool done) {
  if (!should_flush) return;
  const uint64_t first = offset / page_;
  const uint64_t end = (offset + length + page_ - 1) / page_;
  for (uint64_t i = first; i < end; ++i) {
    auto it = pages_.find(i);
    if (it == pages_.end() || !(it->second & kFlushing)) continue;
    forget_pages(i, 1, done ? uint8_t(kResident | kFlushing) : uint8_t(kFlushing));
  }
}

void ProtocolChecker::destroy(uint64_t, kern_return_t reason) {
  findings_.note(Party::kPager, "pager-destroyed",
                 "memory_object_destroy (reason " + std::string(mach_error_string(reason)) +
                     "): the kernel stops paging the object; later faults on it fail");
}

// ---- time and death -----------------------------------------------------------------------

void ProtocolChecker::report_ready_missing() {
  findings_.violation(Party::kPager, "ready-missing",
                      "no memory_object_ready within " + seconds(timeout_ns_) +
                          " of memory_object_init: every fault on the object waited, then failed");
  ready_deadline_ = 0;
}

void ProtocolChecker::tick(uint64_t now) {
  if (ready_deadline_ && now >= ready_deadline_) report_ready_missing();
  std::vector<uint64_t> late;
  for (auto& [id, p] : pending_)
    if (now >= p.deadline) late.push_back(id);
  for (uint64_t id : late) close_late(now, id);
}

void ProtocolChecker::close_late(uint64_t now, uint64_t id) {
  const Pending p = pending_[id];
  pending_.erase(id);
  const uint8_t bit = p.unlock ? kUnlockAsked : kAsked;
  auto& owners = p.unlock ? unlock_by_ : asked_by_;
  uint64_t open = 0, first_open = 0;
  for (uint64_t i = p.first; i < p.first + p.count; ++i) {
    auto ow = owners.find(i);
    if (ow == owners.end() || ow->second != id) continue;
    if (open++ == 0) first_open = i;
    owners.erase(ow);
    forget_pages(i, 1, bit);
  }
  const std::string what = std::string(p.unlock ? "data_unlock " : "data_request ") +
                           range_text(p.first * page_, p.count * page_) + ": " + std::to_string(open) +
                           " pages (the first at " + hex(first_open * page_) + ") ";
  // The kernel's clock started a moment before the kit's: a task it failed
  // at its timeout may end the object just before the kit's deadline.
  if (now + kDeadlineSlackNs >= p.deadline)
    findings_.violation(Party::kPager, p.unlock ? "unlock-unanswered" : "request-unanswered",
                        what + "not answered within " + seconds(timeout_ns_));
  else
    findings_.note(Party::kPager, "request-abandoned",
                   what + "still unanswered after " + seconds(now - p.sent_ns) + " when the kernel ended the object");
}

void ProtocolChecker::pager_died(uint64_t, const std::string& how, bool expected) {
  std::string open;
  for (auto& [id, p] : pending_) {
    if (!open.empty()) open += ", ";
    open += std::string(p.unlock ? "data_unlock " : "data_request ") + range_text(p.first * page_, p.count * page_);
  }
  const std::string text = "the pager died (" + how + ")" + (open.empty() ? "" : " with " + open + " unanswered");
  if (expected)
    findings_.note(Party::kPager, "pager-killed", text + ", killed by the kit");
  else
    findings_.violation(Party::kPager, "pager-died", text);
  pending_.clear();
  pages_.clear();
  asked_by_.clear();
  unlock_by_.clear();
  ready_deadline_ = 0;
  initialized_ = false;  // the object ends with its pager
}

}  // namespace pagerkit
