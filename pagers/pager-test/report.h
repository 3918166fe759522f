// pagers/pager-test/report.h — the report of a run: workloads, findings,
// fault latencies and request sizes (the format is in README.md).
//
// print_report() writes it to `out` and returns the exit status: 0 if every
// workload passed (or was skipped) and nothing broke a rule, else 1.
// percentile(): the p-th percentile (0..100, nearest rank) of v; 0 if empty.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "findings.h"
#include "protocol_checker.h"
#include "workloads.h"

namespace pagerkit {

struct ReportInput {
  std::string pager;           // the command
  std::string machd;           // how machd was had
  std::string content;         // "pattern, seed 0x..." or "any"
  uint64_t object_bytes = 0;
  uint64_t window_pages = 0;
  std::vector<WorkloadResult> workloads;
  std::vector<Finding> findings;
  ProtocolChecker::Stats stats;
  std::string pager_end;       // how the pager ended
  std::string setup_error;     // non-empty: the run could not start
};

uint64_t percentile(std::vector<uint64_t> v, double p);

int print_report(FILE* out, const ReportInput& in);

}  // namespace pagerkit
