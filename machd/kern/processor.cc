// machd/kern/processor.cc — see processor.h. processor_set_default,
// host_processor_set_priv, host_processor_info, host_processors, and the
// processor routines (processor.defs) as XNU answers user space on x86:
// processor_info (BASIC, CPU_LOAD; other flavors KERN_FAILURE, cpu_info),
// processor_control KERN_FAILURE (cpu_control), processor_start/exit
// KERN_NOT_SUPPORTED (enable_processor_exit is off but on some devices),
// processor_get_assignment (the default set's name port; an offline CPU
// KERN_FAILURE). processor_assign answers KERN_NOT_SUPPORTED (generated).
#include "processor.h"

#include <mach/machine.h>
#include <mach/processor_info.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "daemon/kernel_servers.h"
#include "host.h"
#include "runtime.h"
#include "translate.h"

extern "C" {
#include "host_privServer.h"
#include "mach_hostServer.h"
#include "processorServer.h"
}

namespace machd::kern {

namespace {
Processors* g_processors = nullptr;

mach_port_name_t make_object(KType type, uint64_t id) {
  Runtime& rt = runtime();
  mach_port_name_t name = rt.create_port(type, id);
  rt.make_send(rt.kt(), name);  // replies COPY_SEND it
  return name;
}

}  // namespace

std::vector<processor_cpu_load_info_data_t> cpu_ticks(size_t ncpus) {
  std::vector<processor_cpu_load_info_data_t> out(ncpus);
  FILE* f = fopen("/proc/stat", "r");
  if (!f) return out;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    unsigned n = 0;
    unsigned long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
    if (sscanf(line, "cpu%u %lu %lu %lu %lu %lu %lu %lu", &n, &user, &nice, &sys, &idle, &iowait, &irq, &softirq) <
            5 ||
        n >= ncpus)
      continue;
    out[n].cpu_ticks[CPU_STATE_USER] = unsigned(user);
    out[n].cpu_ticks[CPU_STATE_SYSTEM] = unsigned(sys + irq + softirq);
    out[n].cpu_ticks[CPU_STATE_IDLE] = unsigned(idle + iowait);
    out[n].cpu_ticks[CPU_STATE_NICE] = unsigned(nice);
  }
  fclose(f);
  return out;
}

size_t cpu_count() { return size_t(sysconf(_SC_NPROCESSORS_CONF)); }

bool cpu_online(size_t cpu) {
  if (cpu == 0) return true;
  char path[64];
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%zu/online", cpu);
  FILE* f = fopen(path, "r");
  if (!f) return true;
  int c = fgetc(f);
  fclose(f);
  return c != '0';
}

Processors& processors() { return *g_processors; }

Processors::Processors() {
  name_ = make_object(KType::kProcessorSetName, 0);
  control_ = make_object(KType::kProcessorSet, 0);
  for (size_t i = 0; i < cpu_count(); ++i) cpus_.push_back(make_object(KType::kProcessor, i));
  g_processors = this;
}

}  // namespace machd::kern

using machd::kern::KType;
using machd::kern::processors;
using machd::kern::translate;

extern "C" {

kern_return_t processor_set_default(host_t host, processor_set_name_t* default_set) {
  if (!translate(host, {KType::kHost, KType::kHostPriv})) return KERN_INVALID_ARGUMENT;
  *default_set = processors().set_name_port();
  return KERN_SUCCESS;
}

kern_return_t host_processor_set_priv(host_priv_t host_priv, processor_set_name_t set_name, processor_set_t* set) {
  if (!translate(host_priv, {KType::kHostPriv})) return KERN_INVALID_ARGUMENT;
  if (!translate(set_name, {KType::kProcessorSetName, KType::kProcessorSet})) return KERN_INVALID_ARGUMENT;
  machd::kern::runtime().release_send(set_name);
  *set = processors().set_control_port();
  return KERN_SUCCESS;
}

// XNU host_processor_info: one entry of the flavor's count per processor,
// out of line; an unknown flavor is KERN_FAILURE (cpu_info_count on x86).
kern_return_t host_processor_info(host_t host, processor_flavor_t flavor, natural_t* out_processor_count,
                                  processor_info_array_t* out_processor_info,
                                  mach_msg_type_number_t* out_processor_infoCnt) {
  if (!translate(host, {KType::kHost, KType::kHostPriv})) return KERN_INVALID_ARGUMENT;
  mach_msg_type_number_t icount = 0;
  switch (flavor) {
    case PROCESSOR_BASIC_INFO: icount = PROCESSOR_BASIC_INFO_COUNT; break;
    case PROCESSOR_CPU_LOAD_INFO: icount = PROCESSOR_CPU_LOAD_INFO_COUNT; break;
    default: return KERN_FAILURE;
  }
  const size_t ncpus = size_t(sysconf(_SC_NPROCESSORS_CONF));
  auto* out = static_cast<integer_t*>(machd::reply_alloc(ncpus * icount * sizeof(integer_t)));
  if (!out) return KERN_RESOURCE_SHORTAGE;
  if (flavor == PROCESSOR_BASIC_INFO) {
    for (size_t i = 0; i < ncpus; ++i) {
      processor_basic_info_data_t b{};
      b.cpu_type = CPU_TYPE_X86_64;
      b.cpu_subtype = CPU_SUBTYPE_X86_64_ALL;
      b.running = machd::kern::cpu_online(i);
      b.slot_num = int(i);
      b.is_master = i == 0;
      memcpy(out + i * icount, &b, sizeof b);
    }
  } else {
    auto ticks = machd::kern::cpu_ticks(ncpus);
    memcpy(out, ticks.data(), ncpus * sizeof(processor_cpu_load_info_data_t));
  }
  *out_processor_count = natural_t(ncpus);
  *out_processor_info = out;
  *out_processor_infoCnt = mach_msg_type_number_t(ncpus * icount);
  return KERN_SUCCESS;
}

}  // extern "C"

extern "C" {

// XNU host_processors: host_priv only; a send right to every processor.
kern_return_t host_processors(host_priv_t host_priv, processor_array_t* out_processor_list,
                              mach_msg_type_number_t* out_processor_listCnt) {
  if (!translate(host_priv, {KType::kHostPriv})) return KERN_INVALID_ARGUMENT;
  const auto& ports = processors().processor_ports();
  auto* out = static_cast<mach_port_t*>(machd::reply_alloc(ports.size() * sizeof(mach_port_t)));
  if (!out) return KERN_RESOURCE_SHORTAGE;
  for (size_t i = 0; i < ports.size(); ++i) out[i] = ports[i];
  *out_processor_list = out;
  *out_processor_listCnt = mach_msg_type_number_t(ports.size());
  return KERN_SUCCESS;
}

kern_return_t processor_info(processor_t processor, processor_flavor_t flavor, host_t* host,
                             processor_info_t processor_info_out, mach_msg_type_number_t* processor_info_outCnt) {
  auto cpu = translate(processor, {KType::kProcessor});
  if (!cpu) return KERN_INVALID_ARGUMENT;
  switch (flavor) {
    case PROCESSOR_BASIC_INFO: {
      if (*processor_info_outCnt < PROCESSOR_BASIC_INFO_COUNT) return KERN_FAILURE;
      processor_basic_info_data_t b{};
      b.cpu_type = CPU_TYPE_X86_64;
      b.cpu_subtype = CPU_SUBTYPE_X86_64_ALL;
      b.running = machd::kern::cpu_online(*cpu);
      b.slot_num = int(*cpu);
      b.is_master = *cpu == 0;
      memcpy(processor_info_out, &b, sizeof b);
      *processor_info_outCnt = PROCESSOR_BASIC_INFO_COUNT;
      break;
    }
    case PROCESSOR_CPU_LOAD_INFO: {
      if (*processor_info_outCnt < PROCESSOR_CPU_LOAD_INFO_COUNT) return KERN_FAILURE;
      auto ticks = machd::kern::cpu_ticks(machd::kern::cpu_count());
      memcpy(processor_info_out, &ticks[*cpu], sizeof ticks[*cpu]);
      *processor_info_outCnt = PROCESSOR_CPU_LOAD_INFO_COUNT;
      break;
    }
    default: return KERN_FAILURE;  // x86 cpu_info: no machine-dependent flavors
  }
  *host = machd::kern::host().host_port();
  return KERN_SUCCESS;
}

kern_return_t processor_start(processor_t processor) {
  return translate(processor, {KType::kProcessor}) ? KERN_NOT_SUPPORTED : KERN_INVALID_ARGUMENT;
}

kern_return_t processor_exit(processor_t processor) {
  return translate(processor, {KType::kProcessor}) ? KERN_NOT_SUPPORTED : KERN_INVALID_ARGUMENT;
}

kern_return_t processor_control(processor_t processor, processor_info_t, mach_msg_type_number_t) {
  return translate(processor, {KType::kProcessor}) ? KERN_FAILURE : KERN_INVALID_ARGUMENT;
}

kern_return_t processor_get_assignment(processor_t processor, processor_set_name_t* assigned_set) {
  auto cpu = translate(processor, {KType::kProcessor});
  if (!cpu) return KERN_INVALID_ARGUMENT;
  if (!machd::kern::cpu_online(*cpu)) return KERN_FAILURE;
  *assigned_set = processors().set_name_port();
  return KERN_SUCCESS;
}

}  // extern "C"
