// pagers/pager-test/findings.cc — see findings.h.
#include "findings.h"

namespace pagerkit {

void Findings::set_workload(const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  workload_ = name;
}

void Findings::add(Party party, Severity severity, const std::string& rule, const std::string& text) {
  std::lock_guard<std::mutex> g(mu_);
  list_.push_back(Finding{party, severity, rule, workload_, text});
}

std::vector<Finding> Findings::all() const {
  std::lock_guard<std::mutex> g(mu_);
  return list_;
}

size_t Findings::violations_in(const std::string& workload) const {
  std::lock_guard<std::mutex> g(mu_);
  size_t n = 0;
  for (const Finding& f : list_)
    if (f.severity == Severity::kViolation && f.workload == workload) ++n;
  return n;
}

}  // namespace pagerkit
