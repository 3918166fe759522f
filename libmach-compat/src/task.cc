// libmach-compat/src/task.cc — the task traps: pid_for_task, task_for_pid,
// task_name_for_pid (XNU's Mach traps, machd_abi.h ops 35, 60, 61). The
// task routines (task_info, task_get_special_port, ...) are the MIG user
// stubs from task.defs, served by machd (machd/kern/task_server.cc).
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <mach/task.h>

#include "connection.h"

extern "C" {

kern_return_t pid_for_task(mach_port_name_t t, int* x) {
  if (x == nullptr) return KERN_INVALID_ARGUMENT;
  machcompat::CallResult r = machcompat::call(MACHD_OP_PID_FOR_TASK, {t});
  if (r.machd_gone || r.result != KERN_SUCCESS) return KERN_FAILURE;
  *x = int(r.rets[0]);
  return KERN_SUCCESS;
}

namespace {
kern_return_t port_for_pid(uint32_t op, mach_port_name_t tport, int pid, mach_port_name_t* t) {
  if (t == nullptr) return KERN_INVALID_ARGUMENT;
  *t = MACH_PORT_NULL;
  machcompat::CallResult r = machcompat::call(op, {tport, uint64_t(uint32_t(pid))});
  if (r.machd_gone || r.result != KERN_SUCCESS) return KERN_FAILURE;
  *t = mach_port_name_t(r.rets[0]);
  return KERN_SUCCESS;
}
}  // namespace

// Same user or root (macOS's posix check); any refusal is KERN_FAILURE.
kern_return_t task_for_pid(mach_port_name_t target_tport, int pid, mach_port_name_t* t) {
  return port_for_pid(MACHD_OP_TASK_FOR_PID, target_tport, pid, t);
}

kern_return_t task_name_for_pid(mach_port_name_t target_tport, int pid, mach_port_name_t* tn) {
  return port_for_pid(MACHD_OP_TASK_NAME_FOR_PID, target_tport, pid, tn);
}

mach_port_name_t thread_get_special_reply_port(void) { return mach_reply_port(); }

uint64_t mach_continuous_approximate_time(void) { return mach_continuous_time(); }

}  // extern "C"
