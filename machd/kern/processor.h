// machd/kern/processor.h — the default processor set (XNU's pset0): its
// name port (processor_set_default, any task) and control port
// (host_processor_set_priv, host_priv), and the per-CPU information of
// host_processor_info (one entry per configured CPU; Linux's /proc/stat).
// Per-CPU processor ports (host_processors, processor_info) are not
// provided yet: those routines answer KERN_NOT_SUPPORTED.
#pragma once

#include <mach/port.h>

namespace machd::kern {

class Processors {
 public:
  Processors();
  Processors(const Processors&) = delete;
  Processors& operator=(const Processors&) = delete;

  // Kernel-task names (receive + one send right).
  mach_port_name_t set_name_port() const { return name_; }
  mach_port_name_t set_control_port() const { return control_; }

 private:
  mach_port_name_t name_ = MACH_PORT_NULL;
  mach_port_name_t control_ = MACH_PORT_NULL;
};

Processors& processors();

}  // namespace machd::kern
