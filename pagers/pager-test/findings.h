// pagers/pager-test/findings.h — what mach-pager-test found wrong (or worth
// saying) about a pager or about the kernel while it ran.
//
// A finding names a rule (a short stable id, listed in README.md, that a
// script can look for), whose fault it is, and what happened, in words.
// Violations fail the run; notes are reported and do not.
#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace pagerkit {

enum class Party {
  kPager,   // the pager under test broke a rule
  kKernel,  // machd did something the protocol (or its own rules) does not allow
};

enum class Severity { kViolation, kNote };

struct Finding {
  Party party = Party::kPager;
  Severity severity = Severity::kViolation;
  std::string rule;      // e.g. "request-unanswered"
  std::string workload;  // the workload running when it was found ("" for none)
  std::string text;
};

// The findings of one run, in the order found. Thread-safe: the proxy
// thread and the workloads add to it.
class Findings {
 public:
  // The workload findings are attributed to from now on.
  void set_workload(const std::string& name);
  void add(Party party, Severity severity, const std::string& rule, const std::string& text);
  void violation(Party party, const std::string& rule, const std::string& text) {
    add(party, Severity::kViolation, rule, text);
  }
  void note(Party party, const std::string& rule, const std::string& text) { add(party, Severity::kNote, rule, text); }
  std::vector<Finding> all() const;
  // Violations found while `workload` ran.
  size_t violations_in(const std::string& workload) const;

 private:
  mutable std::mutex mu_;
  std::string workload_;
  std::vector<Finding> list_;
};

}  // namespace pagerkit
