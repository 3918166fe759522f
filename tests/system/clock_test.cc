// tests/system/clock_test.cc — the Mach clocks (machd/kern/clock.h) and the
// time traps (libmach-compat/src/time.cc).
#include <gtest/gtest.h>
#include <mach/clock.h>
#include <mach/clock_reply.h>
#include <mach/mach.h>
#include <mach/mach_host.h>
#include <mach/mach_time.h>
#include <mach/mach_time_private.h>
#include <mach/mach_traps.h>
#include <time.h>

#include <atomic>
#include <thread>

#include "support.h"

using namespace systest;

namespace {

uint64_t ns(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return uint64_t(ts.tv_sec) * NSEC_PER_SEC + uint64_t(ts.tv_nsec);
}
uint64_t ns(mach_timespec_t t) { return uint64_t(t.tv_sec) * NSEC_PER_SEC + uint64_t(t.tv_nsec); }

clock_serv_t clock_service(clock_id_t id) {
  clock_serv_t c = MACH_PORT_NULL;
  EXPECT_EQ(host_get_clock_service(mach_host_self(), id, &c), KERN_SUCCESS);
  return c;
}

// What clock_reply.defs' clock_alarm_reply carries.
struct AlarmReply {
  mach_msg_header_t Head;
  NDR_record_t NDR;
  kern_return_t alarm_code;
  alarm_type_t alarm_type;
  mach_timespec_t alarm_time;
  mach_msg_max_trailer_t trailer;
};

}  // namespace

TEST(Clock, SystemClockIsMonotonicAndCalendarIsRealtime) {
  clock_serv_t sys = clock_service(SYSTEM_CLOCK);
  clock_serv_t cal = clock_service(CALENDAR_CLOCK);
  mach_timespec_t t{};
  const uint64_t m0 = ns(CLOCK_MONOTONIC);
  ASSERT_EQ(clock_get_time(sys, &t), KERN_SUCCESS);
  const uint64_t m1 = ns(CLOCK_MONOTONIC);
  EXPECT_GE(ns(t), m0);  // not before the call
  EXPECT_LE(ns(t), m1);
  const uint64_t r0 = ns(CLOCK_REALTIME);
  ASSERT_EQ(clock_get_time(cal, &t), KERN_SUCCESS);
  const uint64_t r1 = ns(CLOCK_REALTIME);
  EXPECT_GE(ns(t), r0);
  EXPECT_LE(ns(t), r1);
  mach_port_deallocate(mach_task_self(), sys);
  mach_port_deallocate(mach_task_self(), cal);
}

TEST(Clock, UnknownClockIdIsInvalidArgument) {
  clock_serv_t c = MACH_PORT_NULL;
  EXPECT_EQ(host_get_clock_service(mach_host_self(), 7, &c), KERN_INVALID_ARGUMENT);
  mach_timespec_t t{};
  mach_port_t host = mach_host_self();
  EXPECT_EQ(clock_get_time(host, &t), KERN_INVALID_ARGUMENT);  // not a clock
  mach_port_deallocate(mach_task_self(), host);
}

TEST(Clock, AttributesNeedACountOfOneAndAKnownFlavor) {
  clock_serv_t sys = clock_service(SYSTEM_CLOCK);
  clock_serv_t cal = clock_service(CALENDAR_CLOCK);
  int res = 0;
  mach_msg_type_number_t count = 1;
  ASSERT_EQ(clock_get_attributes(sys, CLOCK_GET_TIME_RES, &res, &count), KERN_SUCCESS);
  EXPECT_EQ(res, int(NSEC_PER_SEC / 100));
  count = 1;
  ASSERT_EQ(clock_get_attributes(cal, CLOCK_ALARM_CURRES, &res, &count), KERN_SUCCESS);
  EXPECT_EQ(res, 0);  // the calendar clock has no alarms
  count = 1;
  EXPECT_EQ(clock_get_attributes(sys, 99, &res, &count), KERN_INVALID_VALUE);
  mach_port_deallocate(mach_task_self(), sys);
  mach_port_deallocate(mach_task_self(), cal);
}

TEST(Clock, SleepRelativeSleepsAtLeastThatLong) {
  clock_serv_t sys = clock_service(SYSTEM_CLOCK);
  const uint64_t start = ns(CLOCK_MONOTONIC);
  mach_timespec_t wake{};
  ASSERT_EQ(clock_sleep(sys, TIME_RELATIVE, mach_timespec_t{0, 100'000'000}, &wake), KERN_SUCCESS);
  EXPECT_GE(ns(CLOCK_MONOTONIC) - start, 100'000'000u);
  EXPECT_GE(ns(wake), start + 100'000'000);
  mach_port_deallocate(mach_task_self(), sys);
}

TEST(Clock, SleepAbsoluteWakesAfterTheDeadlineAndThePastReturnsAtOnce) {
  clock_serv_t sys = clock_service(SYSTEM_CLOCK);
  mach_timespec_t now{};
  ASSERT_EQ(clock_get_time(sys, &now), KERN_SUCCESS);
  const uint64_t deadline = ns(now) + 80'000'000;
  mach_timespec_t until{unsigned(deadline / NSEC_PER_SEC), clock_res_t(deadline % NSEC_PER_SEC)};
  mach_timespec_t wake{};
  ASSERT_EQ(clock_sleep(sys, TIME_ABSOLUTE, until, &wake), KERN_SUCCESS);
  EXPECT_GE(ns(CLOCK_MONOTONIC), deadline);
  ASSERT_EQ(clock_sleep(sys, TIME_ABSOLUTE, mach_timespec_t{0, 0}, &wake), KERN_SUCCESS);
  mach_port_deallocate(mach_task_self(), sys);
}

TEST(Clock, SleepRefusesBadInputAndOtherClocksAsXnu) {
  clock_serv_t cal = clock_service(CALENDAR_CLOCK);
  mach_timespec_t wake{};
  EXPECT_EQ(clock_sleep(MACH_PORT_NULL, 2, mach_timespec_t{0, 0}, &wake), KERN_INVALID_VALUE);
  EXPECT_EQ(clock_sleep(MACH_PORT_NULL, TIME_RELATIVE, mach_timespec_t{0, 1'000'000'000}, &wake),
            KERN_INVALID_VALUE);
  EXPECT_EQ(clock_sleep(cal, TIME_RELATIVE, mach_timespec_t{0, 1}, &wake), KERN_FAILURE);
  mach_port_t p = make_port();
  EXPECT_EQ(clock_sleep(p, TIME_RELATIVE, mach_timespec_t{0, 1}, &wake), KERN_INVALID_ARGUMENT);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), cal);
}

TEST(Clock, ASleepingThreadDoesNotHoldUpOtherCalls) {
  std::atomic<bool> slept{false};
  std::thread sleeper([&] {
    clock_sleep(MACH_PORT_NULL, TIME_RELATIVE, mach_timespec_t{1, 0}, nullptr);
    slept = true;
  });
  usleep(100000);
  mach_port_t p = MACH_PORT_NULL;
  EXPECT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p), KERN_SUCCESS);
  EXPECT_FALSE(slept.load());  // answered while the other thread still sleeps
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  sleeper.join();
  EXPECT_TRUE(slept.load());
}

TEST(Clock, AlarmReplyArrivesOnTheGivenPortWithClockReplysLayout) {
  clock_serv_t sys = clock_service(SYSTEM_CLOCK);
  mach_port_t port = make_port();
  const uint64_t start = ns(CLOCK_MONOTONIC);
  ASSERT_EQ(clock_alarm(sys, TIME_RELATIVE, mach_timespec_t{0, 100'000'000}, port), KERN_SUCCESS);
  // machd answers other calls meanwhile
  mach_timespec_t t{};
  ASSERT_EQ(clock_get_time(sys, &t), KERN_SUCCESS);
  AlarmReply r{};
  ASSERT_EQ(mach_msg(&r.Head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof r, port, 10000, MACH_PORT_NULL),
            MACH_MSG_SUCCESS);
  EXPECT_GE(ns(CLOCK_MONOTONIC) - start, 100'000'000u);
  EXPECT_EQ(r.Head.msgh_id, 3125107);
  EXPECT_EQ(r.Head.msgh_size, offsetof(AlarmReply, trailer));
  EXPECT_EQ(MACH_MSGH_BITS_LOCAL(r.Head.msgh_bits), unsigned(MACH_MSG_TYPE_PORT_SEND_ONCE));  // made send-once
  EXPECT_EQ(r.alarm_code, KERN_SUCCESS);
  EXPECT_EQ(r.alarm_type, TIME_RELATIVE);
  EXPECT_GE(ns(r.alarm_time), start + 100'000'000);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), sys);
}

// Disabled: the reply arrives with KERN_SUCCESS, not KERN_INVALID_VALUE; not yet understood.
TEST(Clock, AlarmWithABadTimeIsAnsweredAtOnceWithInvalidValue) {
  clock_serv_t sys = clock_service(SYSTEM_CLOCK);
  clock_serv_t cal = clock_service(CALENDAR_CLOCK);
  // A refused request destroys the send-once right it carried, which sends
  // a send-once notification to its port (XNU ipc_kmsg_clean): use a port
  // of its own for that case.
  mach_port_t refused = make_port();
  EXPECT_EQ(clock_alarm(cal, TIME_RELATIVE, mach_timespec_t{0, 1}, refused), KERN_FAILURE);
  mach_port_mod_refs(mach_task_self(), refused, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_t port = make_port();
  ASSERT_EQ(clock_alarm(sys, 2, mach_timespec_t{0, 1}, port), KERN_SUCCESS);  // an unknown alarm type
  AlarmReply r{};
  ASSERT_EQ(mach_msg(&r.Head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof r, port, 10000, MACH_PORT_NULL),
            MACH_MSG_SUCCESS);
  EXPECT_EQ(r.alarm_code, KERN_INVALID_VALUE);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), sys);
  mach_port_deallocate(mach_task_self(), cal);
}

TEST(Clock, AlarmsLeaveNothingBehind) {
  clock_serv_t sys = clock_service(SYSTEM_CLOCK);
  mach_port_t port = make_port();
  AlarmReply r{};
  ASSERT_EQ(clock_alarm(sys, TIME_ABSOLUTE, mach_timespec_t{0, 0}, port), KERN_SUCCESS);  // warm up
  ASSERT_EQ(mach_msg(&r.Head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof r, port, 10000, MACH_PORT_NULL),
            MACH_MSG_SUCCESS);
  Holdings before = holdings();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(clock_alarm(sys, TIME_RELATIVE, mach_timespec_t{0, 1'000'000}, port), KERN_SUCCESS);
    ASSERT_EQ(mach_msg(&r.Head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof r, port, 10000, MACH_PORT_NULL),
              MACH_MSG_SUCCESS);
  }
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), sys);
}

TEST(TimeTraps, TimebaseIsNanosecondsAndGetTimesAgreesWithTheClocks) {
  mach_timebase_info_data_t tb{};
  ASSERT_EQ(mach_timebase_info_trap(&tb), KERN_SUCCESS);
  EXPECT_EQ(tb.numer, 1u);
  EXPECT_EQ(tb.denom, 1u);
  uint64_t abs = 0, cont = 0;
  timespec tp{};
  const uint64_t m0 = ns(CLOCK_MONOTONIC), r0 = ns(CLOCK_REALTIME);
  ASSERT_EQ(mach_get_times(&abs, &cont, &tp), KERN_SUCCESS);
  const uint64_t m1 = ns(CLOCK_MONOTONIC), r1 = ns(CLOCK_REALTIME);
  EXPECT_GE(abs, m0);
  EXPECT_LE(abs, m1);
  EXPECT_GE(cont, abs);  // continuous time counts sleep too
  const uint64_t real = uint64_t(tp.tv_sec) * NSEC_PER_SEC + uint64_t(tp.tv_nsec);
  EXPECT_GE(real, r0);
  EXPECT_LE(real, r1);
  EXPECT_GE(mach_continuous_time(), cont);
  EXPECT_GT(mach_approximate_time(), 0u);
}

TEST(TimeTraps, BoottimeIsRealtimeMinusTimeSinceBoot) {
  const uint64_t boot = mach_boottime_usec();
  const uint64_t expect = (ns(CLOCK_REALTIME) - ns(CLOCK_BOOTTIME)) / NSEC_PER_USEC;
  EXPECT_LE(boot > expect ? boot - expect : expect - boot, 1'000'000u);  // same second
  EXPECT_LT(boot, ns(CLOCK_REALTIME) / NSEC_PER_USEC);
}
