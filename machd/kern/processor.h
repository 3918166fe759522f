// machd/kern/processor.h — the default processor set (XNU's pset0): its
// name port (processor_set_default, any task) and control port
// (host_processor_set_priv, host_priv), and the per-CPU information of
// host_processor_info (one entry per configured CPU; Linux's /proc/stat),
// and one processor port per configured CPU (KType::kProcessor, id = the
// CPU number: host_processors, processor_info). The processor routines are
// in processor.cc, the processor-set ones in processor_set.cc.
#pragma once

#include <mach/port.h>
#include <mach/processor_info.h>

#include <cstddef>
#include <vector>

namespace machd::kern {

class Processors {
 public:
  Processors();
  Processors(const Processors&) = delete;
  Processors& operator=(const Processors&) = delete;

  // Kernel-task names (receive + one send right).
  mach_port_name_t set_name_port() const { return name_; }
  mach_port_name_t set_control_port() const { return control_; }
  // The processor port of each configured CPU (kernel-task names, receive
  // + one send right), indexed by CPU number.
  const std::vector<mach_port_name_t>& processor_ports() const { return cpus_; }

 private:
  std::vector<mach_port_name_t> cpus_;
  mach_port_name_t name_ = MACH_PORT_NULL;
  mach_port_name_t control_ = MACH_PORT_NULL;
};

Processors& processors();

// Configured CPUs; whether CPU `cpu` is online (sysfs; CPU 0 always is);
// each CPU's ticks ("cpuN" lines of /proc/stat), indexed by CPU number.
size_t cpu_count();
bool cpu_online(size_t cpu);
std::vector<processor_cpu_load_info_data_t> cpu_ticks(size_t ncpus);

}  // namespace machd::kern
