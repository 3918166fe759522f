// pagers/pager-test/main.cc — mach-pager-test: runs a pager against the
// kit's workloads with the kit in the middle of its protocol, then prints
// the report (README.md).
//
//   machd (private, or --socket) <- this process: a task, the proxy thread
//   PAGER (a child, own process group) publishes its object port under
//     MACH_PAGER_NAME; the kit publishes its proxy object port under
//     <name>.kit, which the client tasks (forked children) map.
#include <mach/mach.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "content_model.h"
#include "findings.h"
#include "kit_options.h"
#include "machd_instance.h"
#include "pager_process.h"
#include "protocol_checker.h"
#include "proxy.h"
#include "report.h"
#include "workloads.h"

using namespace pagerkit;

namespace {

std::string command_text(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

uint64_t clock_seed() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t(ts.tv_sec) * 1000000007ull) ^ uint64_t(ts.tv_nsec) ^ (uint64_t(getpid()) << 40);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (int rc = parse_options(argc, argv, &opt); rc != 0) return rc == 1 ? 0 : 2;
  if (opt.seed == 0) opt.seed = clock_seed();
  signal(SIGPIPE, SIG_IGN);

  std::vector<const WorkloadInfo*> chosen;
  for (const WorkloadInfo& w : workload_catalog())
    if (opt.workloads.empty() || std::find(opt.workloads.begin(), opt.workloads.end(), w.name) != opt.workloads.end())
      chosen.push_back(&w);

  ReportInput report;
  report.pager = command_text(opt.pager);
  report.window_pages = opt.window_pages;
  char content[64];
  snprintf(content, sizeof content, "pattern, seed 0x%" PRIx64, opt.seed);
  report.content = opt.content == ContentMode::kPattern ? content : "any (consistency only)";
  const uint64_t page = uint64_t(vm_page_size);
  report.object_bytes = opt.window_pages * page * chosen.size();

  MachdInstance machd;
  const std::string machd_path = locate_machd(opt.machd);
  if (std::string why = machd.start(opt.socket, machd_path, opt.timeout_s, opt.verbose ? "info" : "warn");
      !why.empty()) {
    fprintf(stderr, "mach-pager-test: %s\n", why.c_str());
    return 2;
  }
  char machd_text[512];
  if (machd.started_here())
    snprintf(machd_text, sizeof machd_text, "%s, private, --pager-timeout %g", machd_path.c_str(), opt.timeout_s);
  else
    snprintf(machd_text, sizeof machd_text, "the one at %s (its own --pager-timeout)", machd.socket().c_str());
  report.machd = machd_text;

  const std::string name = "org.machd.pager-test." + std::to_string(getpid()) + "." + std::to_string(opt.seed % 100000);
  Findings findings;
  ContentModel model(opt.content, opt.seed, page);
  ProtocolChecker checker(findings, page, uint64_t(opt.timeout_s * 1e9));
  Proxy proxy(findings, model, checker, uint64_t(opt.timeout_s * 1e9));
  PagerProcess pager;
  if (opt.trace) proxy.set_trace(stderr);

  std::string why;
  mach_port_t pager_object = MACH_PORT_NULL;
  if (!pager.start(opt.pager, name, opt.seed, report.object_bytes, &why) ||
      !MACH_PORT_VALID(pager_object = pager.wait_published(opt.start_timeout_s, &why))) {
    report.setup_error = why;
  } else if (kern_return_t kr = proxy.start(name + ".kit", pager_object); kr != KERN_SUCCESS) {
    report.setup_error = std::string("the kit's proxy could not start: ") + mach_error_string(kr);
  }

  if (report.setup_error.empty()) {
    Kit kit{opt, findings, proxy, pager, name + ".kit", page, 0, machd.started_here()};
    for (const WorkloadInfo* w : chosen) {
      if (opt.verbose) fprintf(stderr, "mach-pager-test: %s\n", w->name);
      report.workloads.push_back(run_workload(kit, *w));
    }
  }
  findings.set_workload("");
  proxy.stop();  // (before the pager goes: its end now is no finding)
  pager.stop();
  report.pager_end = pager.exit_text();
  report.stats = proxy.with_state([](ProtocolChecker& c, ContentModel&) { return c.stats(); });
  const bool own_machd = machd.started_here();
  const int status = machd.stop();
  if (own_machd && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    findings.violation(Party::kKernel, "machd-exit", "machd did not exit cleanly on SIGTERM");
  report.findings = findings.all();
  return print_report(stdout, report);
}
