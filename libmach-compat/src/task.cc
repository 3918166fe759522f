// libmach-compat/src/task.cc — task_info and pid/task conversions.
//
// task_info answers for the calling task itself from what Linux reports about
// this process; other tasks' information is not available yet.
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <mach/task.h>
#include <mach/task_info.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "connection.h"

namespace {

bool memory_of_self(mach_vm_size_t* virt, mach_vm_size_t* res) {
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f) return false;
  unsigned long size = 0, rss = 0;
  int n = fscanf(f, "%lu %lu", &size, &rss);
  fclose(f);
  if (n != 2) return false;
  long page = sysconf(_SC_PAGESIZE);
  *virt = mach_vm_size_t(size) * mach_vm_size_t(page);
  *res = mach_vm_size_t(rss) * mach_vm_size_t(page);
  return true;
}

void times_of_self(time_value_t* user, time_value_t* sys, long* max_rss_kb) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  user->seconds = integer_t(ru.ru_utime.tv_sec);
  user->microseconds = integer_t(ru.ru_utime.tv_usec);
  sys->seconds = integer_t(ru.ru_stime.tv_sec);
  sys->microseconds = integer_t(ru.ru_stime.tv_usec);
  if (max_rss_kb) *max_rss_kb = ru.ru_maxrss;
}

// The identity machd writes into trailers (from kernel-verified credentials)
// is what XNU's task_info(TASK_SECURITY_TOKEN / TASK_AUDIT_TOKEN) reports for
// the task: read it back from a message this task sends itself.
bool own_identity(mach_msg_audit_trailer_t* out) {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return false;
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MAKE_SEND_ONCE, 0);
  h.msgh_size = sizeof h;
  h.msgh_remote_port = p;
  bool ok = mach_msg(&h, MACH_SEND_MSG, sizeof h, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL) == MACH_MSG_SUCCESS;
  struct {
    mach_msg_header_t h;
    mach_msg_audit_trailer_t t;
  } r{};
  const mach_msg_option_t opts = MACH_RCV_MSG | MACH_RCV_TIMEOUT | MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
                                 MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT);
  if (ok) ok = mach_msg(&r.h, opts, 0, sizeof r, p, 0, MACH_PORT_NULL) == MACH_MSG_SUCCESS;
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  if (ok) *out = r.t;
  return ok;
}

}  // namespace

extern "C" {

kern_return_t task_info(task_name_t target_task, task_flavor_t flavor, task_info_t task_info_out,
                        mach_msg_type_number_t* task_info_outCnt) {
  if (task_info_out == nullptr || task_info_outCnt == nullptr) return KERN_INVALID_ARGUMENT;
  if (target_task != mach_task_self()) return KERN_NOT_SUPPORTED;  // other tasks: not yet
  switch (flavor) {
    case MACH_TASK_BASIC_INFO: {
      if (*task_info_outCnt < MACH_TASK_BASIC_INFO_COUNT) return KERN_INVALID_ARGUMENT;
      mach_task_basic_info_data_t i{};
      long max_kb = 0;
      if (!memory_of_self(&i.virtual_size, &i.resident_size)) return KERN_FAILURE;
      times_of_self(&i.user_time, &i.system_time, &max_kb);
      i.resident_size_max = mach_vm_size_t(max_kb) * 1024;
      i.policy = POLICY_TIMESHARE;
      memcpy(task_info_out, &i, sizeof i);
      *task_info_outCnt = MACH_TASK_BASIC_INFO_COUNT;
      return KERN_SUCCESS;
    }
    case TASK_BASIC_INFO_64: {
      if (*task_info_outCnt < TASK_BASIC_INFO_64_COUNT) return KERN_INVALID_ARGUMENT;
      task_basic_info_64_data_t i{};
      if (!memory_of_self(&i.virtual_size, &i.resident_size)) return KERN_FAILURE;
      times_of_self(&i.user_time, &i.system_time, nullptr);
      i.policy = POLICY_TIMESHARE;
      memcpy(task_info_out, &i, sizeof i);
      *task_info_outCnt = TASK_BASIC_INFO_64_COUNT;
      return KERN_SUCCESS;
    }
    case TASK_THREAD_TIMES_INFO: {
      if (*task_info_outCnt < TASK_THREAD_TIMES_INFO_COUNT) return KERN_INVALID_ARGUMENT;
      task_thread_times_info_data_t i{};
      times_of_self(&i.user_time, &i.system_time, nullptr);
      memcpy(task_info_out, &i, sizeof i);
      *task_info_outCnt = TASK_THREAD_TIMES_INFO_COUNT;
      return KERN_SUCCESS;
    }
    case TASK_SECURITY_TOKEN:
    case TASK_AUDIT_TOKEN: {
      const bool sec = flavor == TASK_SECURITY_TOKEN;
      const mach_msg_type_number_t need = sec ? TASK_SECURITY_TOKEN_COUNT : TASK_AUDIT_TOKEN_COUNT;
      if (*task_info_outCnt < need) return KERN_INVALID_ARGUMENT;
      mach_msg_audit_trailer_t t{};
      if (!own_identity(&t)) return KERN_FAILURE;
      if (sec)
        memcpy(task_info_out, &t.msgh_sender, sizeof t.msgh_sender);
      else
        memcpy(task_info_out, &t.msgh_audit, sizeof t.msgh_audit);
      *task_info_outCnt = need;
      return KERN_SUCCESS;
    }
    default:
      return KERN_INVALID_ARGUMENT;  // flavors XNU has that are not provided here
  }
}

kern_return_t pid_for_task(mach_port_name_t t, int* x) {
  if (x == nullptr) return KERN_INVALID_ARGUMENT;
  machcompat::CallResult r = machcompat::call(MACHD_OP_PID_FOR_TASK, {t});
  if (r.machd_gone || r.result != KERN_SUCCESS) return KERN_FAILURE;
  *x = int(r.rets[0]);
  return KERN_SUCCESS;
}

// As on macOS for a process without the entitlement: no task port by pid.
kern_return_t task_for_pid(mach_port_name_t, int, mach_port_name_t* t) {
  if (t) *t = MACH_PORT_NULL;
  return KERN_FAILURE;
}

kern_return_t task_name_for_pid(mach_port_name_t, int, mach_port_name_t* t) {
  if (t) *t = MACH_PORT_NULL;
  return KERN_FAILURE;
}

mach_port_name_t thread_get_special_reply_port(void) { return mach_reply_port(); }

uint64_t mach_continuous_approximate_time(void) { return mach_continuous_time(); }

}  // extern "C"
