// machd/kern/host_statistics.cc — host_statistics and host_statistics64
// (XNU osfmk/kern/host.c) from Linux's counters:
//   HOST_LOAD_INFO     /proc/loadavg, scaled by LOAD_SCALE (1000); the mach
//                      factor is the CPUs left over, max(0, cpus - load)
//   HOST_CPU_LOAD_INFO /proc/stat "cpu": ticks (USER_HZ, XNU's hz is 100 too);
//                      system = system + irq + softirq, idle = idle + iowait
//   HOST_VM_INFO       /proc/meminfo (pages) and /proc/vmstat (events);
//                      counters Linux has no match for are 0
//   HOST_VM_INFO64     the same, 64-bit, plus revision 1: swapins/swapouts
//                      (pswpin/pswpout), file-backed and anonymous pages
//                      (Active+Inactive(file), (anon)); no compressor: 0
//   HOST_EXTMOD_INFO64 all 0 (machd does not count task_for_pid or remote
//                      thread creation / set-state yet)
// Counts as XNU: below the flavor's (first revision's) count KERN_FAILURE;
// HOST_VM_INFO(64) fills the revisions the count has room for. Unknown
// flavors KERN_INVALID_ARGUMENT, and so are the 64-bit flavors asked of
// host_statistics.
#include <mach/host_info.h>
#include <mach/machine.h>
#include <mach/vm_statistics.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>

#include "translate.h"

extern "C" {
#include "mach_hostServer.h"
}

namespace machd::kern {
namespace {

// "name value" lines (/proc/vmstat) or "Name: value kB" lines (/proc/meminfo).
std::unordered_map<std::string, uint64_t> read_table(const char* path) {
  std::unordered_map<std::string, uint64_t> t;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string key;
    uint64_t v = 0;
    if (in >> key >> v) {
      if (!key.empty() && key.back() == ':') key.pop_back();
      t[key] = v;
    }
  }
  return t;
}

natural_t clamp32(uint64_t v) { return natural_t(std::min<uint64_t>(v, 0xFFFFFFFFu)); }

bool is_host(mach_port_t port) { return translate(port, {KType::kHost, KType::kHostPriv}).has_value(); }

kern_return_t load_info(host_info_t info, mach_msg_type_number_t* count) {
  if (*count < HOST_LOAD_INFO_COUNT) return KERN_FAILURE;
  double avg[3] = {};
  if (FILE* f = fopen("/proc/loadavg", "r")) {
    if (fscanf(f, "%lf %lf %lf", &avg[0], &avg[1], &avg[2]) != 3) avg[0] = avg[1] = avg[2] = 0;
    fclose(f);
  }
  const double cpus = double(sysconf(_SC_NPROCESSORS_ONLN));
  auto* l = reinterpret_cast<host_load_info_t>(info);
  for (int i = 0; i < 3; ++i) {
    l->avenrun[i] = integer_t(avg[i] * LOAD_SCALE);
    l->mach_factor[i] = integer_t(std::max(0.0, cpus - avg[i]) * LOAD_SCALE);
  }
  *count = HOST_LOAD_INFO_COUNT;
  return KERN_SUCCESS;
}

kern_return_t cpu_load_info(host_info_t info, mach_msg_type_number_t* count) {
  if (*count < HOST_CPU_LOAD_INFO_COUNT) return KERN_FAILURE;
  uint64_t user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  if (FILE* f = fopen("/proc/stat", "r")) {
    if (fscanf(f, "cpu %lu %lu %lu %lu %lu %lu %lu", &user, &nice, &sys, &idle, &iowait, &irq, &softirq) < 4)
      user = nice = sys = idle = iowait = irq = softirq = 0;
    fclose(f);
  }
  auto* c = reinterpret_cast<host_cpu_load_info_t>(info);
  c->cpu_ticks[CPU_STATE_USER] = natural_t(user);  // XNU's counters wrap at 32 bits too
  c->cpu_ticks[CPU_STATE_SYSTEM] = natural_t(sys + irq + softirq);
  c->cpu_ticks[CPU_STATE_IDLE] = natural_t(idle + iowait);
  c->cpu_ticks[CPU_STATE_NICE] = natural_t(nice);
  *count = HOST_CPU_LOAD_INFO_COUNT;
  return KERN_SUCCESS;
}

kern_return_t vm_info(host_info_t info, mach_msg_type_number_t* count) {
  if (*count < HOST_VM_INFO_REV0_COUNT) return KERN_FAILURE;
  auto mem = read_table("/proc/meminfo");
  auto vm = read_table("/proc/vmstat");
  const uint64_t page_kb = uint64_t(sysconf(_SC_PAGESIZE)) / 1024;
  auto pages = [&](const char* k) { return clamp32(mem[k] / page_kb); };
  vm_statistics_data_t s{};
  s.free_count = pages("MemFree");
  s.active_count = pages("Active");
  s.inactive_count = pages("Inactive");
  s.wire_count = clamp32((mem["Unevictable"] + mem["KernelStack"] + mem["PageTables"]) / page_kb);
  s.zero_fill_count = 0;
  s.reactivations = clamp32(vm["pgactivate"]);
  s.pageins = clamp32(vm["pgmajfault"]);
  s.pageouts = clamp32(vm["pswpout"]);
  s.faults = clamp32(vm["pgfault"]);
  s.cow_faults = 0;
  s.lookups = 0;
  s.hits = 0;
  mach_msg_type_number_t n = HOST_VM_INFO_REV0_COUNT;
  if (*count >= HOST_VM_INFO_REV1_COUNT) n = HOST_VM_INFO_REV1_COUNT;  // purgeable_count, purges: 0
  if (*count >= HOST_VM_INFO_REV2_COUNT) n = HOST_VM_INFO_REV2_COUNT;  // speculative_count: 0
  memcpy(info, &s, n * sizeof(integer_t));
  *count = n;
  return KERN_SUCCESS;
}

kern_return_t vm_info64(host_info64_t info, mach_msg_type_number_t* count) {
  if (*count < HOST_VM_INFO64_REV0_COUNT) return KERN_FAILURE;
  auto mem = read_table("/proc/meminfo");
  auto vm = read_table("/proc/vmstat");
  const uint64_t page_kb = uint64_t(sysconf(_SC_PAGESIZE)) / 1024;
  auto pages = [&](const char* k) { return clamp32(mem[k] / page_kb); };
  vm_statistics64_data_t s{};
  s.free_count = pages("MemFree");
  s.active_count = pages("Active");
  s.inactive_count = pages("Inactive");
  s.wire_count = clamp32((mem["Unevictable"] + mem["KernelStack"] + mem["PageTables"]) / page_kb);
  s.reactivations = vm["pgactivate"];
  s.pageins = vm["pgmajfault"];
  s.pageouts = vm["pswpout"];
  s.faults = vm["pgfault"];
  s.swapins = vm["pswpin"];
  s.swapouts = vm["pswpout"];
  s.external_page_count = clamp32((mem["Active(file)"] + mem["Inactive(file)"]) / page_kb);
  s.internal_page_count = clamp32((mem["Active(anon)"] + mem["Inactive(anon)"]) / page_kb);
  const mach_msg_type_number_t n =
      *count >= HOST_VM_INFO64_REV1_COUNT ? HOST_VM_INFO64_REV1_COUNT : HOST_VM_INFO64_REV0_COUNT;
  memcpy(info, &s, n * sizeof(integer_t));
  *count = n;
  return KERN_SUCCESS;
}

kern_return_t extmod_info64(host_info64_t info, mach_msg_type_number_t* count) {
  if (*count < HOST_EXTMOD_INFO64_COUNT) return KERN_FAILURE;
  vm_extmod_statistics_data_t e{};
  memcpy(info, &e, sizeof e);
  *count = HOST_EXTMOD_INFO64_COUNT;
  return KERN_SUCCESS;
}

}  // namespace
}  // namespace machd::kern

extern "C" {

kern_return_t host_statistics(host_t host_priv, host_flavor_t flavor, host_info_t host_info_out,
                              mach_msg_type_number_t* host_info_outCnt) {
  using namespace machd::kern;
  if (!is_host(host_priv)) return KERN_INVALID_HOST;
  switch (flavor) {
    case HOST_LOAD_INFO: return load_info(host_info_out, host_info_outCnt);
    case HOST_VM_INFO: return vm_info(host_info_out, host_info_outCnt);
    case HOST_CPU_LOAD_INFO: return cpu_load_info(host_info_out, host_info_outCnt);
    default: return KERN_INVALID_ARGUMENT;
  }
}

kern_return_t host_statistics64(host_t host_priv, host_flavor_t flavor, host_info64_t host_info64_out,
                                mach_msg_type_number_t* host_info64_outCnt) {
  if (!machd::kern::is_host(host_priv)) return KERN_INVALID_HOST;
  switch (flavor) {
    case HOST_VM_INFO64: return machd::kern::vm_info64(host_info64_out, host_info64_outCnt);
    case HOST_EXTMOD_INFO64: return machd::kern::extmod_info64(host_info64_out, host_info64_outCnt);
    default:  // as XNU: the other flavors are host_statistics' (counted in integer_t)
      return host_statistics(host_priv, flavor, reinterpret_cast<host_info_t>(host_info64_out), host_info64_outCnt);
  }
}

}  // extern "C"
