// libmach-compat/src/mk_timer.cc — the mk_timer traps (<mach/mk_timer.h>):
// machd keeps the timers (machd/kern/timer.h); each call acts on the calling
// task's own space, as XNU's traps do.
#include <mach/mach.h>
#include <mach/mk_timer.h>

#include "connection.h"

extern "C" {

mach_port_name_t mk_timer_create(void) {
  machcompat::CallResult r = machcompat::call(MACHD_OP_MK_TIMER_CREATE, {});
  return r.machd_gone || r.result != KERN_SUCCESS ? MACH_PORT_NULL : mach_port_name_t(r.rets[0]);
}

kern_return_t mk_timer_destroy(mach_port_name_t name) {
  return machcompat::call(MACHD_OP_MK_TIMER_DESTROY, {name}).result;
}

kern_return_t mk_timer_arm(mach_port_name_t name, uint64_t expire_time) {
  return machcompat::call(MACHD_OP_MK_TIMER_ARM, {name, expire_time, 0, MK_TIMER_NORMAL}).result;
}

// The leeway only lets a timer fire later; machd fires at the deadline.
kern_return_t mk_timer_arm_leeway(mach_port_name_t name, uint64_t mk_timer_flags, uint64_t mk_timer_expire_time,
                                  uint64_t mk_timer_leeway) {
  return machcompat::call(MACHD_OP_MK_TIMER_ARM, {name, mk_timer_expire_time, mk_timer_leeway, mk_timer_flags})
      .result;
}

kern_return_t mk_timer_cancel(mach_port_name_t name, uint64_t* result_time) {
  machcompat::CallResult r = machcompat::call(MACHD_OP_MK_TIMER_CANCEL, {name});
  if (r.result == KERN_SUCCESS && result_time) *result_time = r.rets[0];
  return r.result;
}

}  // extern "C"
