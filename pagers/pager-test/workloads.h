// pagers/pager-test/workloads.h — the scripted workloads the kit runs on a
// pager's object, each in a window of its own (fresh pages), in real
// client tasks (client_task.h), with every byte the tasks read checked
// against what the pager supplied and what the tasks wrote.
//
//   sequential-read  one task touches every page of its window in order
//   random-read      one task touches every page in a random order
//   shared           several tasks map one window: each touches a share,
//                    writes into another's share, then all read all
//   write-clean      a task writes; the kit cleans (lock_request
//                    RETURN_DIRTY) and checks exactly the written pages
//                    came back, flushes, and the task reads them again from
//                    the pager
//   clean-redirty    write, clean, write again, clean: the second clean
//                    returns exactly the pages written since the first,
//                    and no page is asked for again (a clean keeps them)
//   unmap-writeback  a task writes and exits: the dirty pages reach the
//                    pager (with memory_object_terminate, or the kit's
//                    clean if the pager lets the kernel cache); a new task
//                    reads them back
//   fork             a task maps its window twice (VM_INHERIT_SHARE and
//                    VM_INHERIT_COPY), writes, forks, writes after the fork;
//                    its child reads its copy (the task's range as at the
//                    fork) and the shared mapping (with the task's later
//                    writes), writes through both; the task reads all; a
//                    clean returns exactly the writes to the object (never
//                    the child's private ones)
//   kill-pager       the kit holds back the pager's answer to a fault and
//                    kills the pager: the faulting task must die of SIGBUS
//                    promptly, not hang (run last; the pager is gone after)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "findings.h"
#include "kit_options.h"
#include "pager_process.h"
#include "proxy.h"

namespace pagerkit {

struct WorkloadResult {
  enum class Verdict { kPass, kFail, kSkip, kNotRun };
  std::string name;
  Verdict verdict = Verdict::kPass;
  std::vector<std::string> reasons;  // why it failed, was skipped or not run
  std::vector<uint64_t> latency_ns;  // the first touches of its tasks
  uint64_t requests = 0, pages_requested = 0;
  void fail(const std::string& why) {
    verdict = Verdict::kFail;
    reasons.push_back(why);
  }
};

// What the workloads use.
struct Kit {
  const Options& options;
  Findings& findings;
  Proxy& proxy;
  PagerProcess& pager;
  std::string service;  // the proxy object's bootstrap name
  uint64_t page = 4096;
  uint64_t next_window = 0;
  bool kernel_timeout_known = false;  // machd runs with --pager-timeout = options.timeout_s

  uint64_t window_bytes() const { return options.window_pages * page; }
  uint64_t take_window() { return window_bytes() * next_window++; }
  int timeout_ms() const { return int(options.timeout_s * 1000); }
  // How long a phase may take: every request of the window answered just
  // within the timeout, and some.
  int phase_timeout_ms() const { return timeout_ms() * int(options.window_pages / 64 + 2) + 2000; }
};

struct WorkloadInfo {
  const char* name;
  const char* description;
  void (*run)(Kit& kit, WorkloadResult& result);
};

// Every workload, in the order they run.
const std::vector<WorkloadInfo>& workload_catalog();

// Runs `w` (findings made meanwhile are the workload's); a workload found
// to have a violation attributed to it fails.
WorkloadResult run_workload(Kit& kit, const WorkloadInfo& w);

}  // namespace pagerkit
