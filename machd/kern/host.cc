// machd/kern/host.cc — see host.h. host_info (BASIC, SCHED, PRIORITY),
// host_kernel_version, _host_page_size; host_statistics(64) are in
// host_statistics.cc, the clocks in clock.cc. Of mach_host.defs and
// host_priv.defs, the others answer KERN_NOT_SUPPORTED
// (generated, mach_host_unimplemented.c / host_priv_unimplemented.c).
#include "host.h"

#include <mach/host_info.h>
#include <mach/machine.h>
#include <mach/task_special_ports.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "runtime.h"
#include "translate.h"

extern "C" {
#include "mach_hostServer.h"
}

namespace machd::kern {

namespace {
Host* g_host = nullptr;

bool is_host(mach_port_t port) { return translate(port, {KType::kHost, KType::kHostPriv}).has_value(); }
}  // namespace

Host& host() { return *g_host; }
HostNotify& host_notify() { return g_host->notify(); }

Host::Host() {
  Runtime& rt = runtime();
  host_ = rt.create_port(KType::kHost, 0);
  host_priv_ = rt.create_port(KType::kHostPriv, 0);
  rt.make_send(rt.kt(), host_);  // the kernel task's send rights: replies COPY_SEND them
  rt.make_send(rt.kt(), host_priv_);
  rt.add_observer(this);
  g_host = this;
}

Host::~Host() { runtime().remove_observer(this); }

// XNU itk_host: the task's TASK_HOST_PORT (what task_get_special_port gives).
void Host::task_created(ipc::TaskId task) {
  Runtime& rt = runtime();
  rt.kernel().task_set_special_port(rt.kt(), task, TASK_HOST_PORT, privileged(task) ? host_priv_ : host_);
}

bool Host::privileged(ipc::TaskId task) {
  const ipc::Credentials* c = runtime().kernel().credentials(task);
  return c && c->euid == 0;
}

mach_port_name_t Host::host_self(ipc::TaskId task) {
  return runtime().make_send(task, privileged(task) ? host_priv_ : host_);
}

void Host::set_special(int which, mach_port_name_t kernel_name) {
  mach_port_name_t& slot = special_[size_t(which)];
  runtime().release_send(slot);
  slot = kernel_name;
}

}  // namespace machd::kern

using machd::kern::is_host;

extern "C" {

// XNU host_info (osfmk/kern/host.c): a count below the flavor's old count
// is KERN_FAILURE; HOST_BASIC_INFO fills the fields the count has room for.
kern_return_t host_info(host_t host, host_flavor_t flavor, host_info_t info, mach_msg_type_number_t* count) {
  if (!is_host(host)) return KERN_INVALID_ARGUMENT;
  switch (flavor) {
    case HOST_BASIC_INFO: {
      constexpr mach_msg_type_number_t kOldCount = 5;  // up to cpu_subtype
      if (*count < kOldCount) return KERN_FAILURE;
      host_basic_info_data_t b{};
      const long cpus = sysconf(_SC_NPROCESSORS_CONF);
      const long online = sysconf(_SC_NPROCESSORS_ONLN);
      struct sysinfo si{};
      sysinfo(&si);
      const uint64_t mem = uint64_t(si.totalram) * si.mem_unit;
      b.max_cpus = integer_t(cpus);
      b.avail_cpus = integer_t(online);
      b.memory_size = natural_t(std::min<uint64_t>(mem, 0x80000000ull));
      b.cpu_type = CPU_TYPE_X86_64;
      b.cpu_subtype = CPU_SUBTYPE_X86_64_ALL;
      b.cpu_threadtype = 0;  // CPU_THREADTYPE_NONE
      b.physical_cpu = integer_t(online);
      b.physical_cpu_max = integer_t(cpus);
      b.logical_cpu = integer_t(online);
      b.logical_cpu_max = integer_t(cpus);
      b.max_mem = mem;
      const mach_msg_type_number_t n = *count >= HOST_BASIC_INFO_COUNT ? HOST_BASIC_INFO_COUNT : kOldCount;
      memcpy(info, &b, n * sizeof(integer_t));
      *count = n;
      return KERN_SUCCESS;
    }
    case HOST_SCHED_INFO: {
      if (*count < HOST_SCHED_INFO_COUNT) return KERN_FAILURE;
      auto* si = reinterpret_cast<host_sched_info_t>(info);
      si->min_timeout = si->min_quantum = 10;  // ms: XNU's default quantum (Linux has no fixed one)
      *count = HOST_SCHED_INFO_COUNT;
      return KERN_SUCCESS;
    }
    case HOST_PRIORITY_INFO: {
      // XNU's Mach priority bands (osfmk/kern/sched.h).
      if (*count < HOST_PRIORITY_INFO_COUNT) return KERN_FAILURE;
      auto* p = reinterpret_cast<host_priority_info_t>(info);
      p->kernel_priority = 80;   // MINPRI_KERNEL
      p->system_priority = 80;   // MINPRI_KERNEL
      p->server_priority = 64;   // MINPRI_RESERVED
      p->user_priority = 31;     // BASEPRI_DEFAULT
      p->depress_priority = 0;   // DEPRESSPRI
      p->idle_priority = 0;      // IDLEPRI
      p->minimum_priority = 0;   // MINPRI_USER
      p->maximum_priority = 79;  // MAXPRI_RESERVED
      *count = HOST_PRIORITY_INFO_COUNT;
      return KERN_SUCCESS;
    }
    default:
      return KERN_INVALID_ARGUMENT;
  }
}

// XNU copies its version string; ours names machd and the Linux kernel.
kern_return_t host_kernel_version(host_t host, kernel_version_t kernel_version) {
  if (!is_host(host)) return KERN_INVALID_ARGUMENT;
  struct utsname u{};
  uname(&u);
  snprintf(kernel_version, sizeof(kernel_version_t), "machd (Mach emulation) on %s %s %s %s", u.sysname, u.release,
           u.version, u.machine);
  return KERN_SUCCESS;
}

kern_return_t _host_page_size(host_t host, vm_size_t* out_page_size) {
  if (!is_host(host)) return KERN_INVALID_ARGUMENT;
  *out_page_size = vm_size_t(sysconf(_SC_PAGESIZE));
  return KERN_SUCCESS;
}

}  // extern "C"
