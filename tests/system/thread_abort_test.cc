// tests/system/thread_abort_test.cc — thread_abort / thread_abort_safely on
// a worker task's threads blocked in mach_msg (a fork of this binary).
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "support.h"

using namespace systest;

namespace {

pid_t gettid_() { return pid_t(syscall(SYS_gettid)); }

int32_t receive_value(mach_port_t inbox, int timeout_ms = 5000) {
  SimpleRcv r{};
  if (receive_simple(inbox, r, timeout_ms) != MACH_MSG_SUCCESS) return INT32_MIN;
  return r.msg.value;
}

// Receives on a fresh port of its own (nothing ever arrives); reports what
// mach_msg returned.
mach_msg_return_t wait_on_empty_port(mach_msg_option_t extra, mach_msg_timeout_t timeout) {
  mach_port_t p = make_port();
  struct {
    mach_msg_header_t head;
    mach_msg_max_trailer_t trailer;
  } m{};
  mach_msg_return_t mr = mach_msg(&m.head, MACH_RCV_MSG | extra, 0, sizeof m, p, timeout, MACH_PORT_NULL);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  return mr;
}

// The thread may not be blocked yet: aborts until it reports (up to 5 s).
int32_t abort_until_answered(mach_port_t thread, mach_port_t inbox) {
  int32_t got = INT32_MIN;
  for (int i = 0; i < 50 && got == INT32_MIN; ++i) {
    if (thread_abort(thread) != KERN_SUCCESS) return INT32_MIN;
    got = receive_value(inbox, 100);
  }
  return got;
}

void expect_nothing_left(const Holdings& before) {
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  const Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
  EXPECT_EQ(after.waiters, before.waiters);
}

}  // namespace

// XNU: thread_abort ends the target's mach_msg wait with MACH_RCV_INTERRUPTED;
// mach_msg (libsyscall) reports it only with MACH_RCV_INTERRUPT and otherwise
// receives again.
TEST(ThreadAbort, AbortEndsABlockedReceiveWithRcvInterruptedOnlyWithTheInterruptOption) {
  const Holdings before = holdings();
  mach_port_t inbox = MACH_PORT_NULL;
  std::string name = check_in_unique("org.machd.test.abort", &inbox);
  pid_t pid = spawn_task([name] {
    mach_port_t dest = look_up(name);
    std::atomic<pid_t> a_tid{0}, b_tid{0};
    std::thread a([&] {
      a_tid = gettid_();
      send_simple(dest, int32_t(wait_on_empty_port(MACH_RCV_INTERRUPT, MACH_MSG_TIMEOUT_NONE)), "interruptible");
    });
    std::thread b([&] {
      b_tid = gettid_();
      send_simple(dest, int32_t(wait_on_empty_port(MACH_RCV_TIMEOUT, 2500)), "plain");
    });
    while (a_tid == 0 || b_tid == 0) usleep(1000);
    send_right(dest, mach_task_self(), MACH_MSG_TYPE_COPY_SEND);
    send_simple(dest, a_tid, "tid");
    send_simple(dest, b_tid, "tid");
    a.join();
    b.join();
    return 0;
  });
  mach_port_t task = receive_right(inbox);
  ASSERT_NE(task, MACH_PORT_NULL);
  const pid_t a_tid = receive_value(inbox), b_tid = receive_value(inbox);
  mach_port_t a = thread_of_tid(task, a_tid), b = thread_of_tid(task, b_tid);
  ASSERT_NE(a, MACH_PORT_NULL);
  ASSERT_NE(b, MACH_PORT_NULL);

  EXPECT_EQ(abort_until_answered(a, inbox), MACH_RCV_INTERRUPTED);

  // Without MACH_RCV_INTERRUPT the receive goes on until its timeout.
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(thread_abort_safely(b), KERN_SUCCESS);
    EXPECT_EQ(receive_value(inbox, 50), INT32_MIN);
  }
  EXPECT_EQ(receive_value(inbox, 10000), MACH_RCV_TIMED_OUT);

  EXPECT_EQ(wait_exit(pid), 0);
  mach_port_deallocate(mach_task_self(), a);
  mach_port_deallocate(mach_task_self(), b);
  mach_port_deallocate(mach_task_self(), task);
  mach_port_mod_refs(mach_task_self(), inbox, MACH_PORT_RIGHT_RECEIVE, -1);
  expect_nothing_left(before);
}

// XNU: a send blocked on a full queue ends with MACH_SEND_INTERRUPTED (with
// MACH_SEND_INTERRUPT; the message stays the sender's).
TEST(ThreadAbort, AbortEndsABlockedSendWithSendInterrupted) {
  const Holdings before = holdings();
  mach_port_t inbox = MACH_PORT_NULL;
  std::string name = check_in_unique("org.machd.test.abort-send", &inbox);
  pid_t pid = spawn_task([name] {
    mach_port_t dest = look_up(name);
    mach_port_t full = make_port();
    set_qlimit(full, 1);
    if (send_simple(full, 1, "fills the queue") != MACH_MSG_SUCCESS) return 3;
    std::atomic<pid_t> tid{0};
    std::thread t([&] {
      tid = gettid_();
      struct {
        mach_msg_header_t head;
      } m{};
      m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MAKE_SEND, 0);
      m.head.msgh_size = sizeof m;
      m.head.msgh_remote_port = full;
      m.head.msgh_id = 7;
      send_simple(dest, int32_t(mach_msg(&m.head, MACH_SEND_MSG | MACH_SEND_INTERRUPT, sizeof m, 0, MACH_PORT_NULL,
                                         MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL)),
                  "send");
    });
    while (tid == 0) usleep(1000);
    send_right(dest, mach_task_self(), MACH_MSG_TYPE_COPY_SEND);
    send_simple(dest, tid, "tid");
    t.join();
    return queued(full) == 1 ? 0 : 4;  // the interrupted message was not queued
  });
  mach_port_t task = receive_right(inbox);
  ASSERT_NE(task, MACH_PORT_NULL);
  mach_port_t th = thread_of_tid(task, receive_value(inbox));
  ASSERT_NE(th, MACH_PORT_NULL);
  EXPECT_EQ(abort_until_answered(th, inbox), MACH_SEND_INTERRUPTED);
  EXPECT_EQ(wait_exit(pid), 0);
  mach_port_deallocate(mach_task_self(), th);
  mach_port_deallocate(mach_task_self(), task);
  mach_port_mod_refs(mach_task_self(), inbox, MACH_PORT_RIGHT_RECEIVE, -1);
  expect_nothing_left(before);
}

TEST(ThreadAbort, AbortOfAThreadNotInMachMsgSucceedsAndRejectsANonThread) {
  mach_port_t self = mach_thread_self();
  EXPECT_EQ(thread_abort(self), KERN_SUCCESS);  // not waiting: nothing to end
  EXPECT_EQ(thread_abort_safely(self), KERN_SUCCESS);
  EXPECT_NE(thread_abort(mach_task_self()), KERN_SUCCESS);  // a task port is no thread
  mach_port_deallocate(mach_task_self(), self);
}
