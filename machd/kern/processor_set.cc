// machd/kern/processor_set.cc — the processor-set routines
// (processor_set.defs) on the default set, as XNU (osfmk/kern/processor.c):
//   processor_set_info        name or control port; BASIC_INFO (online CPUs,
//                             POLICY_TIMESHARE), ENABLED_POLICIES and the
//                             policy defaults/limits; returns the host port;
//                             unknown flavor KERN_INVALID_ARGUMENT
//   processor_set_statistics  LOAD_INFO: connected tasks, threads 0 (machd
//                             has no thread objects yet), 1-minute load and
//                             mach factor scaled by LOAD_SCALE; a non-set
//                             port KERN_INVALID_PROCESSOR_SET
//   processor_set_tasks       control port only (host_processor_set_priv):
//                             a send right to the control port of every
//                             connected task
// Too small a count is KERN_FAILURE. processor_set_threads (every thread's
// control port) is in thread_server.cc, beside task_threads.
#include <mach/kern_return.h>
#include <mach/policy.h>
#include <mach/processor_info.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "daemon/kernel_servers.h"
#include "host.h"
#include "processor.h"
#include "runtime.h"
#include "translate.h"

extern "C" {
#include "processor_setServer.h"
}

namespace machd::kern {
namespace {

// XNU's private flavors (mach/processor_info.h, PRIVATE) and priorities.
constexpr int kEnabledPolicies = 3;
constexpr int kTimeshareDefault = 10, kTimeshareLimits = 11;
constexpr int kRrDefault = 20, kRrLimits = 21;
constexpr int kFifoDefault = 30, kFifoLimits = 31;
constexpr integer_t kBasePriDefault = 31;  // BASEPRI_DEFAULT
constexpr integer_t kMaxPriKernel = 95;    // MAXPRI_KERNEL

bool is_set(mach_port_t port) {
  return translate(port, {KType::kProcessorSetName, KType::kProcessorSet}).has_value();
}

size_t online_cpus() {
  size_t n = 0;
  for (size_t i = 0; i < cpu_count(); ++i) n += cpu_online(i);
  return n;
}

// The words a flavor answers ({} for an unknown flavor).
std::vector<integer_t> set_info(int flavor) {
  switch (flavor) {
    case PROCESSOR_SET_BASIC_INFO: return {integer_t(online_cpus()), POLICY_TIMESHARE};
    case kEnabledPolicies: return {POLICY_TIMESHARE | POLICY_RR | POLICY_FIFO};
    case kTimeshareDefault:
    case kFifoDefault: return {kBasePriDefault};
    case kRrDefault: return {kBasePriDefault, 1};  // base_priority, quantum
    case kTimeshareLimits:
    case kRrLimits:
    case kFifoLimits: return {kMaxPriKernel};
    default: return {};
  }
}

}  // namespace
}  // namespace machd::kern

using namespace machd::kern;

extern "C" {

kern_return_t processor_set_info(processor_set_name_t set_name, int flavor, host_t* host,
                                 processor_set_info_t info_out, mach_msg_type_number_t* info_outCnt) {
  if (!is_set(set_name)) return KERN_INVALID_ARGUMENT;
  std::vector<integer_t> words = set_info(flavor);
  if (words.empty()) return KERN_INVALID_ARGUMENT;
  if (*info_outCnt < words.size()) return KERN_FAILURE;
  memcpy(info_out, words.data(), words.size() * sizeof(integer_t));
  *info_outCnt = mach_msg_type_number_t(words.size());
  *host = machd::kern::host().host_port();
  return KERN_SUCCESS;
}

kern_return_t processor_set_statistics(processor_set_name_t pset, processor_set_flavor_t flavor,
                                       processor_set_info_t info_out, mach_msg_type_number_t* info_outCnt) {
  if (!is_set(pset)) return KERN_INVALID_PROCESSOR_SET;
  if (flavor != PROCESSOR_SET_LOAD_INFO) return KERN_INVALID_ARGUMENT;
  if (*info_outCnt < PROCESSOR_SET_LOAD_INFO_COUNT) return KERN_FAILURE;
  double avg = 0;
  if (FILE* f = fopen("/proc/loadavg", "r")) {
    if (fscanf(f, "%lf", &avg) != 1) avg = 0;
    fclose(f);
  }
  processor_set_load_info_data_t l{};
  l.task_count = int(runtime().host().tasks().size());
  l.thread_count = 0;
  l.load_average = integer_t(avg * LOAD_SCALE);
  l.mach_factor = integer_t(std::max(0.0, double(online_cpus()) - avg) * LOAD_SCALE);
  memcpy(info_out, &l, sizeof l);
  *info_outCnt = PROCESSOR_SET_LOAD_INFO_COUNT;
  return KERN_SUCCESS;
}

// The reply COPY_SENDs each name: the kernel task makes a send right to
// every task port for it and drops them once the reply is out (the timer
// queue runs after the loop sent it).
kern_return_t processor_set_tasks(processor_set_t processor_set, task_array_t* task_list,
                                  mach_msg_type_number_t* task_listCnt) {
  if (!translate(processor_set, {KType::kProcessorSet})) return KERN_INVALID_ARGUMENT;
  Runtime& rt = runtime();
  std::vector<mach_port_name_t> names;
  for (machd::ipc::TaskId t : rt.host().tasks()) {
    mach_port_name_t n = rt.kernel().task_port_kernel_name(t);
    if (MACH_PORT_VALID(n) && MACH_PORT_VALID(rt.make_send(rt.kt(), n))) names.push_back(n);
  }
  const size_t bytes = std::max<size_t>(names.size(), 1) * sizeof(mach_port_t);
  auto* out = static_cast<mach_port_t*>(machd::reply_alloc(bytes));
  if (!out) {
    for (mach_port_name_t n : names) rt.release_send(n);
    return KERN_RESOURCE_SHORTAGE;
  }
  std::copy(names.begin(), names.end(), out);
  rt.timers().add(0, [names] {
    for (mach_port_name_t n : names) runtime().release_send(n);
  });
  *task_list = out;
  *task_listCnt = mach_msg_type_number_t(names.size());
  return KERN_SUCCESS;
}

}  // extern "C"
