// pagers/pager-test/report.cc — see report.h.
#include "report.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <map>

namespace pagerkit {

namespace {

std::string duration(uint64_t ns) {
  char b[32];
  if (ns < 10'000)
    snprintf(b, sizeof b, "%.2f us", double(ns) / 1e3);
  else if (ns < 10'000'000)
    snprintf(b, sizeof b, "%.1f us", double(ns) / 1e3);
  else
    snprintf(b, sizeof b, "%.1f ms", double(ns) / 1e6);
  return b;
}

std::string spread(const std::vector<uint64_t>& v) {
  if (v.empty()) return "none";
  return "p50 " + duration(percentile(v, 50)) + "  p90 " + duration(percentile(v, 90)) + "  p99 " +
         duration(percentile(v, 99)) + "  max " + duration(percentile(v, 100));
}

const char* verdict_text(WorkloadResult::Verdict v) {
  switch (v) {
    case WorkloadResult::Verdict::kPass: return "PASS";
    case WorkloadResult::Verdict::kFail: return "FAIL";
    case WorkloadResult::Verdict::kSkip: return "SKIP";
    case WorkloadResult::Verdict::kNotRun: return "NOT RUN";
  }
  return "?";
}

const char* party_text(Party p) { return p == Party::kPager ? "pager" : "kernel"; }

// Findings of one severity, at most kPerRule of each rule (and workload).
void print_findings(FILE* out, const std::vector<Finding>& all, Severity severity) {
  constexpr size_t kPerRule = 4;
  std::map<std::string, size_t> shown, more;
  for (const Finding& f : all) {
    if (f.severity != severity) continue;
    const std::string key = std::string(party_text(f.party)) + " " + f.rule + " " + f.workload;
    if (shown[key]++ >= kPerRule) {
      ++more[key];
      continue;
    }
    fprintf(out, "  [%s] %s%s%s: %s\n", party_text(f.party), f.rule.c_str(), f.workload.empty() ? "" : " in ",
            f.workload.c_str(), f.text.c_str());
  }
  for (const auto& [key, n] : more) fprintf(out, "  (%zu more like [%s])\n", n, key.c_str());
}

}  // namespace

uint64_t percentile(std::vector<uint64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = size_t(std::ceil(p / 100.0 * double(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

int print_report(FILE* out, const ReportInput& in) {
  fprintf(out, "mach-pager-test report\n");
  fprintf(out, "  pager:   %s\n", in.pager.c_str());
  fprintf(out, "  machd:   %s\n", in.machd.c_str());
  if (!in.setup_error.empty()) {
    fprintf(out, "\nSETUP FAILED: %s\n\nRESULT: FAIL\n", in.setup_error.c_str());
    return 1;
  }
  fprintf(out, "  object:  %" PRIu64 " KiB, windows of %" PRIu64 " pages; content: %s\n", in.object_bytes / 1024,
           in.window_pages, in.content.c_str());

  fprintf(out, "\nworkloads\n");
  size_t passed = 0, failed = 0, skipped = 0;
  std::vector<uint64_t> latencies;
  for (const WorkloadResult& w : in.workloads) {
    if (w.verdict == WorkloadResult::Verdict::kPass) ++passed;
    if (w.verdict == WorkloadResult::Verdict::kSkip) ++skipped;
    if (w.verdict == WorkloadResult::Verdict::kFail || w.verdict == WorkloadResult::Verdict::kNotRun) ++failed;
    fprintf(out, "  %-7s %-16s %zu first touches, %" PRIu64 " requests (%" PRIu64 " pages)\n", verdict_text(w.verdict),
            w.name.c_str(), w.latency_ns.size(), w.requests, w.pages_requested);
    for (const std::string& why : w.reasons) fprintf(out, "          %s\n", why.c_str());
    latencies.insert(latencies.end(), w.latency_ns.begin(), w.latency_ns.end());
  }

  size_t pager_v = 0, kernel_v = 0, notes = 0;
  for (const Finding& f : in.findings) {
    if (f.severity == Severity::kNote)
      ++notes;
    else if (f.party == Party::kPager)
      ++pager_v;
    else
      ++kernel_v;
  }
  fprintf(out, "\nprotocol violations: pager %zu, kernel %zu\n", pager_v, kernel_v);
  print_findings(out, in.findings, Severity::kViolation);
  if (notes) {
    fprintf(out, "notes\n");
    print_findings(out, in.findings, Severity::kNote);
  }

  const ProtocolChecker::Stats& s = in.stats;
  fprintf(out, "\nfault latency (first touch in the tasks, %zu touches): %s\n", latencies.size(),
          spread(latencies).c_str());
  fprintf(out, "pager answer time (data_request to its last page answered, %zu requests): %s\n", s.answer_ns.size(),
          spread(s.answer_ns).c_str());
  fprintf(out, "requests: %" PRIu64 " data_request for %" PRIu64 " pages; sizes:", s.requests, s.pages_requested);
  for (const auto& [pages, n] : s.request_pages) fprintf(out, " %" PRIu64 " pages x%" PRIu64 ",", pages, n);
  fprintf(out, "%s\n", s.request_pages.empty() ? " none" : "");
  fprintf(out,
          "answers: %" PRIu64 " data_supply (%" PRIu64 " pages, %" PRIu64 " unsolicited), %" PRIu64
          " pages unavailable, %" PRIu64 " pages failed; %" PRIu64 " data_unlock, %" PRIu64
          " lock_request by the pager\n",
          s.supplies, s.pages_supplied, s.unsolicited_pages, s.pages_unavailable, s.pages_failed, s.unlocks,
          s.lock_requests);
  fprintf(out, "kernel: %" PRIu64 " init, %" PRIu64 " terminate, %" PRIu64 " data_return (%" PRIu64 " pages)\n",
          s.inits, s.terminates, s.returns, s.pages_returned);
  fprintf(out, "pager:   %s\n", in.pager_end.c_str());

  const bool pass = failed == 0 && pager_v == 0 && kernel_v == 0;
  fprintf(out, "\nRESULT: %s (%zu workloads: %zu passed, %zu failed, %zu skipped; %zu violations)\n",
          pass ? "PASS" : "FAIL", in.workloads.size(), passed, failed, skipped, pager_v + kernel_v);
  return pass ? 0 : 1;
}

}  // namespace pagerkit
