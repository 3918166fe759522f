// libmach-compat/src/time.cc — the time traps (XNU's mach_timebase_info_trap,
// mach_get_times, mach_boottime_usec, clock_sleep_trap) served in-process.
//
// Mach absolute time is CLOCK_MONOTONIC in nanoseconds (timebase 1/1),
// continuous time CLOCK_BOOTTIME; the calendar is CLOCK_REALTIME.
// clock_sleep sleeps in the calling thread (as XNU's trap blocks the caller's
// thread): machd only says which clock a port is, so it never waits for us.
#include <mach/clock_types.h>
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <mach/mach_time_private.h>
#include <mach/mach_traps.h>
#include <time.h>

#include <cerrno>

#include "connection.h"

namespace {

uint64_t ns(const timespec& ts) { return uint64_t(ts.tv_sec) * NSEC_PER_SEC + uint64_t(ts.tv_nsec); }

mach_timespec_t system_clock_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return mach_timespec_t{unsigned(ts.tv_sec), clock_res_t(ts.tv_nsec)};
}

}  // namespace

extern "C" {

kern_return_t mach_timebase_info_trap(struct mach_timebase_info* info) { return mach_timebase_info(info); }

kern_return_t mach_get_times(uint64_t* absolute_time, uint64_t* continuous_time, struct timespec* tp) {
  // Read the three clocks close together; the continuous time is the
  // absolute time plus the sleep offset (BOOTTIME - MONOTONIC) seen around it.
  timespec m1{}, b{}, m2{}, r{};
  clock_gettime(CLOCK_MONOTONIC, &m1);
  clock_gettime(CLOCK_BOOTTIME, &b);
  if (tp) clock_gettime(CLOCK_REALTIME, &r);
  clock_gettime(CLOCK_MONOTONIC, &m2);
  const uint64_t abs = ns(m1) + (ns(m2) - ns(m1)) / 2;
  const uint64_t offset = ns(b) > abs ? ns(b) - abs : 0;
  if (absolute_time) *absolute_time = abs;
  if (continuous_time) *continuous_time = abs + offset;
  if (tp) *tp = r;
  return KERN_SUCCESS;
}

uint64_t mach_boottime_usec(void) {
  timespec r{}, b{};
  clock_gettime(CLOCK_REALTIME, &r);
  clock_gettime(CLOCK_BOOTTIME, &b);
  return (ns(r) - ns(b)) / NSEC_PER_USEC;
}

// XNU clock_sleep_trap: MACH_PORT_NULL is the system clock; a port that is no
// clock is KERN_INVALID_ARGUMENT, another clock than the system clock
// KERN_FAILURE; a bad type or time KERN_INVALID_VALUE; a time already
// reached returns at once. *wakeup_time: the system clock when it woke.
kern_return_t clock_sleep_trap(mach_port_name_t clock_name, sleep_type_t sleep_type, int sleep_sec, int sleep_nsec,
                               mach_timespec_t* wakeup_time) {
  if (clock_name != MACH_PORT_NULL) {
    machcompat::CallResult c = machcompat::call(MACHD_OP_CLOCK_OF, {clock_name});
    if (c.machd_gone || c.result != KERN_SUCCESS) return KERN_INVALID_ARGUMENT;
    if (clock_id_t(c.rets[0]) != SYSTEM_CLOCK) return KERN_FAILURE;
  }
  const mach_timespec_t now = system_clock_now();
  if ((sleep_type & ~TIME_RELATIVE) != 0 || sleep_nsec < 0 || sleep_nsec >= int(NSEC_PER_SEC))
    return KERN_INVALID_VALUE;
  uint64_t deadline = uint64_t(unsigned(sleep_sec)) * NSEC_PER_SEC + uint64_t(sleep_nsec);
  const uint64_t now_ns = uint64_t(now.tv_sec) * NSEC_PER_SEC + uint64_t(now.tv_nsec);
  if ((sleep_type & ALRMTYPE) == TIME_RELATIVE) deadline += now_ns;
  kern_return_t kr = KERN_SUCCESS;
  if (deadline > now_ns) {
    timespec until{time_t(deadline / NSEC_PER_SEC), long(deadline % NSEC_PER_SEC)};
    if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) kr = KERN_ABORTED;
  }
  if (wakeup_time) *wakeup_time = system_clock_now();
  return kr;
}

kern_return_t clock_sleep(mach_port_t clock_serv, int sleep_type, mach_timespec_t sleep_time,
                          mach_timespec_t* wake_time) {
  return clock_sleep_trap(clock_serv, sleep_type, int(sleep_time.tv_sec), int(sleep_time.tv_nsec), wake_time);
}

}  // extern "C"
