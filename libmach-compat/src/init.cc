// libmach-compat/src/init.cc — the task's globals and the library's start.
//
// When the library loads (preloaded by mach-run, or linked), the process
// connects to machd and becomes a task before main(): mach_task_self_ and
// bootstrap_port are set as on macOS. If no machd answers, they stay
// MACH_PORT_NULL and every call fails with an error (nothing hangs); a later
// call tries to connect again.
#include <mach/mach.h>
#include <pthread.h>
#include <servers/bootstrap.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>

#include "connection.h"
#include "emulation.h"
#include "object_fork.h"
#include "semaphore_cache.h"
#include "vm_regions.h"

extern "C" {
mach_port_t mach_task_self_ = MACH_PORT_NULL;
mach_port_t bootstrap_port = MACH_PORT_NULL;
vm_size_t vm_page_size = 4096;
vm_size_t vm_page_mask = 4095;
int vm_page_shift = 12;
vm_size_t vm_kernel_page_size = 4096;
vm_size_t vm_kernel_page_mask = 4095;
int vm_kernel_page_shift = 12;
int (*vprintf_stderr_func)(const char* format, va_list ap) = nullptr;
}

namespace {

void publish() {
  mach_task_self_ = machcompat::task_self_name();
  bootstrap_port = machcompat::bootstrap_name();
}

// The copies of object mappings first: a pager thread of this process
// may need the locks the other handlers take.
void before_fork() {
  machcompat::objects_before_fork();
  machcompat::vm_before_fork();
}

void parent_after_fork() {
  machcompat::vm_after_fork_parent();
  machcompat::objects_after_fork_parent();
}

void child_after_fork() {
  machcompat::objects_reserve_in_child();  // (before anything here maps memory)
  machcompat::semaphores_after_fork_child();
  machcompat::vm_after_fork_child();
  machcompat::after_fork_child();
  publish();
  machcompat::emulation_after_fork_child();
}

__attribute__((constructor)) void mach_compat_init() {
  long ps = sysconf(_SC_PAGESIZE);
  vm_page_size = vm_kernel_page_size = vm_size_t(ps);
  vm_page_mask = vm_kernel_page_mask = vm_size_t(ps - 1);
  vm_page_shift = vm_kernel_page_shift = __builtin_ctzl(static_cast<unsigned long>(ps));
  pthread_atfork(before_fork, parent_after_fork, child_after_fork);
  machcompat::connect_now(false);
  publish();
  machcompat::emulation_at_start();
}

}  // namespace

namespace machcompat {
// Called when a lazy connect succeeds after start-up.
void republish() { publish(); }
}  // namespace machcompat

extern "C" {

boolean_t mach_task_is_self(task_name_t task) { return task == mach_task_self_ && task != MACH_PORT_NULL; }

mach_port_name_t task_self_trap(void) { return mach_task_self_; }

// As XNU's thread_self_trap: a send right to the calling thread's port (a
// user reference more on each call); machd knows the thread by its tid.
mach_port_name_t thread_self_trap(void) {
  machcompat::CallResult r = machcompat::call(MACHD_OP_THREAD_SELF, {uint64_t(gettid())});
  return r.machd_gone || r.result != KERN_SUCCESS ? MACH_PORT_NULL : mach_port_name_t(r.rets[0]);
}
mach_port_t mach_thread_self(void) { return thread_self_trap(); }

// As XNU's host_self_trap: a send right to the host port (a user reference
// more on each call).
mach_port_name_t host_self_trap(void) {
  machcompat::CallResult r = machcompat::call(MACHD_OP_HOST_SELF, {});
  return r.machd_gone || r.result != KERN_SUCCESS ? MACH_PORT_NULL : mach_port_name_t(r.rets[0]);
}
mach_port_t mach_host_self(void) { return host_self_trap(); }

kern_return_t host_page_size(host_t host, vm_size_t* page_size) {
  (void)host;
  if (page_size == nullptr) return KERN_INVALID_ARGUMENT;
  *page_size = vm_page_size;
  return KERN_SUCCESS;
}

}  // extern "C"
