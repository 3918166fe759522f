// tests/system/timer_test.cc — mk_timer (machd/kern/timer.h): a timer is a
// receive right in its creator's space; machd sends it one
// mk_timer_expire_msg_t per arming; cancel, destroy and task death end what
// is pending, and XNU's kobject rules hold for the port.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <mach/mk_timer.h>

#include "support.h"

using namespace systest;

namespace {

// Receives one timer message within `timeout_ms`; its result.
mach_msg_return_t receive_expiry(mach_port_t timer, mk_timer_expire_msg_t* out, int timeout_ms) {
  struct {
    mk_timer_expire_msg_t m;
    mach_msg_max_trailer_t trailer;
  } buf{};
  mach_msg_return_t mr = mach_msg(&buf.m.header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof buf, timer,
                                  mach_msg_timeout_t(timeout_ms), MACH_PORT_NULL);
  if (out) *out = buf.m;
  return mr;
}

}  // namespace

TEST(MkTimer, CreateGivesAReceiveRightInTheCallersSpace) {
  mach_port_t t = mk_timer_create();
  ASSERT_TRUE(MACH_PORT_VALID(t));
  mach_port_type_t type = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), t, &type), KERN_SUCCESS);
  EXPECT_TRUE(type & MACH_PORT_TYPE_RECEIVE);
  EXPECT_EQ(mk_timer_destroy(t), KERN_SUCCESS);
  EXPECT_EQ(mach_port_type(mach_task_self(), t, &type), KERN_INVALID_NAME);
}

TEST(MkTimer, ArmFiresOneMessageAtTheDeadline) {
  mach_port_t t = mk_timer_create();
  ASSERT_TRUE(MACH_PORT_VALID(t));
  const uint64_t start = mach_absolute_time();
  const uint64_t deadline = start + 50'000'000;  // 50 ms (timebase 1/1)
  ASSERT_EQ(mk_timer_arm(t, deadline), KERN_SUCCESS);
  mk_timer_expire_msg_t m{};
  ASSERT_EQ(receive_expiry(t, &m, 10000), MACH_MSG_SUCCESS);
  EXPECT_GE(mach_absolute_time(), deadline);
  EXPECT_EQ(m.header.msgh_id, 0);
  EXPECT_EQ(m.header.msgh_size, sizeof(mk_timer_expire_msg_t));
  EXPECT_EQ(m.header.msgh_local_port, t);
  EXPECT_EQ(receive_expiry(t, nullptr, 200), MACH_RCV_TIMED_OUT);  // one message per arming
  EXPECT_EQ(mk_timer_destroy(t), KERN_SUCCESS);
}

TEST(MkTimer, APastDeadlineFiresAtOnce) {
  mach_port_t t = mk_timer_create();
  ASSERT_EQ(mk_timer_arm(t, 0), KERN_SUCCESS);
  EXPECT_EQ(receive_expiry(t, nullptr, 10000), MACH_MSG_SUCCESS);
  EXPECT_EQ(mk_timer_destroy(t), KERN_SUCCESS);
}

TEST(MkTimer, CancelPreventsTheMessageAndReturnsTheArmedTime) {
  mach_port_t t = mk_timer_create();
  const uint64_t deadline = mach_absolute_time() + 300'000'000;
  ASSERT_EQ(mk_timer_arm(t, deadline), KERN_SUCCESS);
  uint64_t armed = 0;
  ASSERT_EQ(mk_timer_cancel(t, &armed), KERN_SUCCESS);
  EXPECT_EQ(armed, deadline);
  EXPECT_EQ(receive_expiry(t, nullptr, 600), MACH_RCV_TIMED_OUT);
  armed = 1;
  ASSERT_EQ(mk_timer_cancel(t, &armed), KERN_SUCCESS);  // not armed: 0
  EXPECT_EQ(armed, 0u);
  EXPECT_EQ(mk_timer_destroy(t), KERN_SUCCESS);
}

TEST(MkTimer, RearmingReplacesTheDeadline) {
  mach_port_t t = mk_timer_create();
  ASSERT_EQ(mk_timer_arm(t, mach_absolute_time() + 60'000'000'000ull), KERN_SUCCESS);
  ASSERT_EQ(mk_timer_arm(t, mach_absolute_time() + 10'000'000), KERN_SUCCESS);
  EXPECT_EQ(receive_expiry(t, nullptr, 10000), MACH_MSG_SUCCESS);
  EXPECT_EQ(mk_timer_destroy(t), KERN_SUCCESS);
}

TEST(MkTimer, CallsOnWhatIsNoTimerFailAsXnu) {
  uint64_t armed = 0;
  EXPECT_EQ(mk_timer_arm(0x12345678, 0), KERN_INVALID_NAME);
  EXPECT_EQ(mk_timer_cancel(0x12345678, &armed), KERN_INVALID_NAME);
  EXPECT_EQ(mk_timer_destroy(0x12345678), KERN_INVALID_NAME);
  mach_port_t p = make_port();
  EXPECT_EQ(mk_timer_arm(p, 0), KERN_INVALID_ARGUMENT);  // a receive right, but no timer
  EXPECT_EQ(mk_timer_destroy(p), KERN_INVALID_ARGUMENT);
  mach_port_t host = mach_host_self();
  EXPECT_EQ(mk_timer_arm(host, 0), KERN_INVALID_RIGHT);  // a send right
  EXPECT_EQ(mk_timer_destroy(host), KERN_INVALID_RIGHT);
  mach_port_deallocate(mach_task_self(), host);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(MkTimer, PortDestroyedRequestOnATimerIsInvalidRight) {
  mach_port_t t = mk_timer_create();
  mach_port_t n = make_port();
  mach_port_t previous = MACH_PORT_NULL;
  EXPECT_EQ(mach_port_request_notification(mach_task_self(), t, MACH_NOTIFY_PORT_DESTROYED, 0, n,
                                           MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous),
            KERN_INVALID_RIGHT);
  EXPECT_EQ(mk_timer_destroy(t), KERN_SUCCESS);
  mach_port_mod_refs(mach_task_self(), n, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(MkTimer, DestroyingThePortEndsTheTimer) {
  Holdings before = holdings();
  mach_port_t t = mk_timer_create();
  ASSERT_EQ(mk_timer_arm(t, mach_absolute_time() + 20'000'000), KERN_SUCCESS);
  ASSERT_EQ(mach_port_mod_refs(mach_task_self(), t, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  usleep(300000);  // the expiry finds the port dead and drops the timer
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
}

TEST(MkTimer, TaskDeathCleansItsTimers) {
  Holdings before = holdings();
  pid_t pid = spawn_task([] {
    for (int i = 0; i < 8; ++i) {
      mach_port_t t = mk_timer_create();
      if (!MACH_PORT_VALID(t)) return 1;
      if (mk_timer_arm(t, mach_absolute_time() + 3'600'000'000'000ull) != KERN_SUCCESS) return 2;
    }
    mach_port_t fired = mk_timer_create();
    mk_timer_arm(fired, 0);  // one message left queued at death
    usleep(100000);
    return 0;
  });
  ASSERT_EQ(wait_exit(pid), 0);
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
}

TEST(MkTimer, ManyTimersLeaveNothingBehind) {
  mach_port_t warm = mk_timer_create();
  mk_timer_destroy(warm);
  Holdings before = holdings();
  for (int i = 0; i < 100; ++i) {
    mach_port_t t = mk_timer_create();
    ASSERT_TRUE(MACH_PORT_VALID(t));
    ASSERT_EQ(mk_timer_arm(t, 0), KERN_SUCCESS);
    ASSERT_EQ(receive_expiry(t, nullptr, 10000), MACH_MSG_SUCCESS);
    ASSERT_EQ(mk_timer_destroy(t), KERN_SUCCESS);
  }
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
}
