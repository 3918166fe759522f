// tests/ipc/quota_test.cc — per-user bounds on ports and on messages in
// flight (Kernel::set_user_ports_limit, set_user_queued_messages_limit).
#include <mach/notify.h>

#include "harness.h"

namespace machd::ipc::test {
namespace {

struct QuotaTest : IpcTest {
  // A task of user `uid` (the harness's tasks are uid 501).
  TaskId task_of(uint32_t uid) {
    Credentials c;
    c.pid = 5000 + static_cast<uint32_t>(tasks_.size());
    c.uid = c.euid = uid;
    TaskId t = k.task_create(c);
    EXPECT_NE(t, kNoTask);
    tasks_.push_back(t);
    return t;
  }
};

TEST_F(QuotaTest, CreatingAPortBeyondTheUsersBoundIsResourceShortage) {
  k.set_user_ports_limit(3);
  TaskId a = task(), b = task();
  mach_port_name_t p1 = recv_port(a), p2 = recv_port(b), p3 = recv_port(a);
  (void)p2;
  (void)p3;
  EXPECT_EQ(k.user_ports(501), 3u) << "task ports are the kernel's, not the user's";
  const uint64_t names = k.stats().entries;
  mach_port_name_t n = MACH_PORT_NULL;
  EXPECT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_RECEIVE, &n), KERN_RESOURCE_SHORTAGE);
  EXPECT_EQ(k.port_allocate_name(b, MACH_PORT_RIGHT_RECEIVE, 0x7703), KERN_RESOURCE_SHORTAGE);
  mach_port_options_t opts{};
  EXPECT_EQ(k.port_construct(a, opts, 0, &n), KERN_RESOURCE_SHORTAGE);
  EXPECT_EQ(k.reply_port(a), MACH_PORT_NULL);
  EXPECT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_PORT_SET, &n), KERN_SUCCESS) << "sets and dead names are no ports";
  EXPECT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_DEAD_NAME, &n), KERN_SUCCESS);
  EXPECT_EQ(k.stats().entries, names + 2) << "a refused allocation takes no name";
  ASSERT_EQ(k.port_mod_refs(a, p1, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_RECEIVE, &n), KERN_SUCCESS) << "a freed port gives its place back";
}

TEST_F(QuotaTest, OtherUsersPortsAreNotBoundedByOneUsersCount) {
  k.set_user_ports_limit(2);
  TaskId a = task(), other = task_of(777);
  recv_port(a);
  recv_port(a);
  mach_port_name_t n = MACH_PORT_NULL;
  EXPECT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_RECEIVE, &n), KERN_RESOURCE_SHORTAGE);
  EXPECT_EQ(k.port_allocate(other, MACH_PORT_RIGHT_RECEIVE, &n), KERN_SUCCESS);
  EXPECT_EQ(k.user_ports(777), 1u);
}

TEST_F(QuotaTest, APortStaysChargedToItsCreatorUntilItIsFreed) {
  k.set_user_ports_limit(1);
  TaskId a = task(), other = task_of(777);
  mach_port_name_t p = recv_port(a);
  mach_port_name_t moved = move_receive(a, p, other);
  EXPECT_EQ(k.user_ports(501), 1u);
  EXPECT_EQ(k.user_ports(777), 0u);
  mach_port_name_t n = MACH_PORT_NULL;
  EXPECT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_RECEIVE, &n), KERN_RESOURCE_SHORTAGE);
  ASSERT_EQ(k.port_mod_refs(other, moved, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(k.user_ports(501), 0u);
  EXPECT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_RECEIVE, &n), KERN_SUCCESS);
}

TEST_F(QuotaTest, SendingBeyondTheUsersMessageBoundIsNoBufferAndTakesNothing) {
  k.set_user_queued_messages_limit(4);
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b), q = recv_port(b);
  mach_port_name_t s = give_send(b, p, a), t = give_send(b, q, a);
  for (int i = 0; i < 3; i++) ASSERT_EQ(send(a, simple(s, i)), MACH_MSG_SUCCESS);
  ASSERT_EQ(send(a, simple(t, 3)), MACH_MSG_SUCCESS);
  EXPECT_EQ(k.user_queued_messages(501), 4u);
  mach_port_name_t reply = recv_port(a);
  Msg m = simple(t, 4);
  m.local = reply;
  m.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  EXPECT_EQ(send(a, m), MACH_SEND_NO_BUFFER) << "one bound over all its ports";
  EXPECT_EQ(type_of(a, reply), MACH_PORT_TYPE_RECEIVE) << "nothing was taken";
  EXPECT_EQ(refs(a, s, MACH_PORT_RIGHT_SEND), 1u);
  ASSERT_EQ(receive(b, p).hdr.msgh_id, 0);
  EXPECT_EQ(send(a, simple(t, 5)), MACH_MSG_SUCCESS) << "a received message gives its place back";
}

TEST_F(QuotaTest, SendOnceMessagesPassingTheQueueLimitStillCountAgainstTheUsersBound) {
  k.set_user_queued_messages_limit(8);
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);  // qlimit 5
  std::vector<mach_port_name_t> once;
  for (int i = 0; i < 9; i++) once.push_back(give_send_once(b, p, a));
  for (int i = 0; i < 8; i++)
    ASSERT_EQ(send(a, simple(once[size_t(i)], i, MACH_MSG_TYPE_MOVE_SEND_ONCE)), MACH_MSG_SUCCESS) << i;
  EXPECT_EQ(status(b, p).mps_msgcount, 8u) << "past the queue limit of 5";
  EXPECT_EQ(send(a, simple(once[8], 8, MACH_MSG_TYPE_MOVE_SEND_ONCE)), MACH_SEND_NO_BUFFER);
  EXPECT_EQ(type_of(a, once[8]), MACH_PORT_TYPE_SEND_ONCE) << "the sender keeps its right";
}

TEST_F(QuotaTest, NotificationsMachdSendsAreNotCountedToAnyUser) {
  k.set_user_queued_messages_limit(1);
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t inbox = recv_port(a);
  mach_port_name_t prev = 0;
  ASSERT_EQ(k.port_request_notification(a, s, MACH_NOTIFY_DEAD_NAME, 0, inbox, MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev),
            KERN_SUCCESS);
  mach_port_name_t other = port_with_send(a);
  ASSERT_EQ(send(a, simple(other, 1)), MACH_MSG_SUCCESS);  // the user's one message
  ASSERT_EQ(k.port_destroy(b, p), KERN_SUCCESS);
  EXPECT_EQ(receive(a, inbox).hdr.msgh_id, MACH_NOTIFY_DEAD_NAME);
  EXPECT_EQ(k.user_queued_messages(501), 1u);
}

}  // namespace
}  // namespace machd::ipc::test
