// tests/system/host_notify_test.cc — host_request_notification
// (machd/kern/host_notify.cc): XNU's refusals, registrations that die with
// their port, and the one-shot calendar messages.
#include <gtest/gtest.h>
#include <mach/host_notify.h>
#include <mach/mach.h>
#include <mach/mach_host.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

using namespace systest;

namespace {

struct Receiver {
  mach_port_t port = MACH_PORT_NULL;
  Receiver() { mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port); }
  ~Receiver() {
    if (port) mach_port_destruct(mach_task_self(), port, 0, 0);
  }
  // The id of the next message within timeout_ms (0: none).
  mach_msg_id_t receive(unsigned timeout_ms) {
    struct {
      mach_msg_header_t h;
      mach_msg_max_trailer_t t;
    } m{};
    if (mach_msg(&m.h, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, port, timeout_ms, MACH_PORT_NULL) !=
        MACH_MSG_SUCCESS)
      return 0;
    EXPECT_EQ(m.h.msgh_size, sizeof(mach_msg_header_t)) << "a bare header";
    EXPECT_EQ(MACH_MSGH_BITS_REMOTE(m.h.msgh_bits), 0u);
    EXPECT_EQ(MACH_MSGH_BITS_LOCAL(m.h.msgh_bits), MACH_MSG_TYPE_PORT_SEND_ONCE);
    return m.h.msgh_id;
  }
};

}  // namespace

TEST(HostNotify, RefusesNoPortAnUnknownTypeAndANonHostPort) {
  mach_port_t host = mach_host_self();
  Receiver r;
  Holdings before = holdings();
  EXPECT_EQ(host_request_notification(host, HOST_NOTIFY_CALENDAR_CHANGE, MACH_PORT_NULL), KERN_INVALID_CAPABILITY);
  EXPECT_EQ(host_request_notification(host, HOST_NOTIFY_TYPE_MAX + 1, r.port), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(host_request_notification(host, -1, r.port), KERN_INVALID_ARGUMENT);
  processor_set_name_t set = MACH_PORT_NULL;
  ASSERT_EQ(processor_set_default(host, &set), KERN_SUCCESS);
  EXPECT_EQ(host_request_notification(set, HOST_NOTIFY_CALENDAR_SET, r.port), KERN_INVALID_ARGUMENT)
      << "another kernel object is no host";
  mach_port_deallocate(mach_task_self(), set);
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports) << "refusals destroy the send-once right made for them";
  mach_port_deallocate(mach_task_self(), host);
}

TEST(HostNotify, RegistrationOfADeadPortIsDroppedWithNoLeak) {
  mach_port_t host = mach_host_self();
  Holdings before = holdings();
  {
    Receiver r;
    ASSERT_EQ(host_request_notification(host, HOST_NOTIFY_CALENDAR_CHANGE, r.port), KERN_SUCCESS);
    ASSERT_EQ(host_request_notification(host, HOST_NOTIFY_CALENDAR_SET, r.port), KERN_SUCCESS);
  }  // the port dies; machd's send-once rights become dead names
  // Any later request drops dead registrations.
  EXPECT_EQ(host_request_notification(host, HOST_NOTIFY_CALENDAR_CHANGE, MACH_PORT_NULL), KERN_INVALID_CAPABILITY);
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
  mach_port_deallocate(mach_task_self(), host);
}

// Delivery needs the calendar clock set. Setting CLOCK_REALTIME needs root
// and would disturb the machine, so the test sets it to the time it reads
// (a no-op for the time, off by the microseconds in between) — which still
// cancels TFD_TIMER_CANCEL_ON_SET timerfds — and only when running as root.
TEST(HostNotify, CalendarSetToNowAsRootSendsEachRegistrationOnce) {
  if (geteuid() != 0) GTEST_SKIP() << "clock_settime needs root";
  // Ask first, before registering anything a skip would leave behind.
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  if (clock_settime(CLOCK_REALTIME, &now) != 0) GTEST_SKIP() << "clock_settime refused (no CAP_SYS_TIME)";
  mach_port_t host = mach_host_self();
  Receiver r;
  Holdings before = holdings();
  ASSERT_EQ(host_request_notification(host, HOST_NOTIFY_CALENDAR_CHANGE, r.port), KERN_SUCCESS);
  ASSERT_EQ(host_request_notification(host, HOST_NOTIFY_CALENDAR_SET, r.port), KERN_SUCCESS);
  EXPECT_EQ(r.receive(50), 0) << "nothing before the clock is set";
  clock_gettime(CLOCK_REALTIME, &now);
  ASSERT_EQ(clock_settime(CLOCK_REALTIME, &now), 0);
  mach_msg_id_t a = r.receive(2000), b = r.receive(2000);
  EXPECT_EQ(a + b, HOST_CALENDAR_CHANGED_REPLYID + HOST_CALENDAR_SET_REPLYID);
  EXPECT_NE(a, b);
  // One-shot: another set sends nothing more.
  clock_gettime(CLOCK_REALTIME, &now);
  clock_settime(CLOCK_REALTIME, &now);
  EXPECT_EQ(r.receive(200), 0);
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
  mach_port_deallocate(mach_task_self(), host);
}

// machd keeps at most HostNotify::kMaxRegistrations (1024); dead ones do
// not count once a later request swept them.
TEST(HostNotify, RegistrationsAreBoundedAndDeadOnesFreeTheirPlace) {
  mach_port_t host = mach_host_self();
  Holdings before = holdings();
  {
    Receiver r;
    kern_return_t kr = KERN_SUCCESS;
    int n = 0;
    while (n < 5000 && (kr = host_request_notification(host, HOST_NOTIFY_CALENDAR_CHANGE, r.port)) == KERN_SUCCESS) ++n;
    EXPECT_EQ(kr, KERN_RESOURCE_SHORTAGE);
    EXPECT_EQ(n, 1024);
  }
  Receiver r2;
  EXPECT_EQ(host_request_notification(host, HOST_NOTIFY_CALENDAR_SET, r2.port), KERN_SUCCESS);
  mach_port_destruct(mach_task_self(), r2.port, 0, 0);
  r2.port = MACH_PORT_NULL;
  EXPECT_EQ(host_request_notification(host, HOST_NOTIFY_CALENDAR_SET, MACH_PORT_NULL), KERN_INVALID_CAPABILITY);
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  mach_port_deallocate(mach_task_self(), host);
}
