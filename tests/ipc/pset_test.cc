// tests/ipc/pset_test.cc — port sets: membership, receiving, fairness.
#include "harness.h"

namespace machd::ipc::test {
namespace {

using PsetTest = IpcTest;

mach_port_name_t new_set(Kernel& k, TaskId t) {
  mach_port_name_t n = MACH_PORT_NULL;
  EXPECT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_PORT_SET, &n), KERN_SUCCESS);
  return n;
}

TEST_F(PsetTest, ReceiveFromSetGetsAMembersMessageAndMemberStillReceivesDirectly) {
  TaskId a = task();
  mach_port_name_t set = new_set(k, a);
  mach_port_name_t p1 = recv_port(a), p2 = recv_port(a);
  ASSERT_EQ(k.port_insert_member(a, p1, set), KERN_SUCCESS);
  ASSERT_EQ(k.port_insert_member(a, p2, set), KERN_SUCCESS);
  ASSERT_EQ(send(a, simple(p2, 2, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  Received r = receive(a, set);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_id, 2);
  EXPECT_EQ(r.hdr.msgh_local_port, p2) << "the member's name identifies the port";
  ASSERT_EQ(send(a, simple(p1, 1, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  EXPECT_EQ(receive(a, p1).hdr.msgh_id, 1) << "receiving on a member is allowed (no MACH_RCV_IN_SET)";
  EXPECT_EQ(receive(a, set).mr, MACH_RCV_TIMED_OUT);
}

TEST_F(PsetTest, SetReceiveServesMembersRoundRobin) {
  TaskId a = task();
  mach_port_name_t set = new_set(k, a);
  mach_port_name_t p1 = recv_port(a), p2 = recv_port(a);
  ASSERT_EQ(k.port_insert_member(a, p1, set), KERN_SUCCESS);
  ASSERT_EQ(k.port_insert_member(a, p2, set), KERN_SUCCESS);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(send(a, simple(p1, 10 + i, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
    ASSERT_EQ(send(a, simple(p2, 20 + i, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  }
  std::vector<mach_msg_id_t> ids;
  for (int i = 0; i < 6; i++) ids.push_back(receive(a, set).hdr.msgh_id);
  EXPECT_EQ(ids, (std::vector<mach_msg_id_t>{10, 20, 11, 21, 12, 22}));
}

TEST_F(PsetTest, BlockedSetReceiverGetsMessageSentToAMember) {
  TaskId a = task(), b = task();
  mach_port_name_t set = new_set(k, a);
  mach_port_name_t p = recv_port(a);
  ASSERT_EQ(k.port_insert_member(a, p, set), KERN_SUCCESS);
  mach_port_name_t s = give_send(a, p, b);
  WaiterId w = next_waiter();
  ASSERT_TRUE(receive(a, set, 0, 4096, true, w).blocked);
  ASSERT_EQ(send(b, simple(s, 5)), MACH_MSG_SUCCESS);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->hdr.msgh_id, 5);
  EXPECT_EQ(c->hdr.msgh_local_port, p);
}

TEST_F(PsetTest, DirectReceiverIsServedBeforeSetReceivers) {
  TaskId a = task(), b = task();
  mach_port_name_t set = new_set(k, a);
  mach_port_name_t p = recv_port(a);
  ASSERT_EQ(k.port_insert_member(a, p, set), KERN_SUCCESS);
  mach_port_name_t s = give_send(a, p, b);
  WaiterId on_set = next_waiter(), on_port = next_waiter();
  ASSERT_TRUE(receive(a, set, 0, 4096, true, on_set).blocked);
  ASSERT_TRUE(receive(a, p, 0, 4096, true, on_port).blocked);
  ASSERT_EQ(send(b, simple(s, 1)), MACH_MSG_SUCCESS);
  EXPECT_TRUE(completion(on_port));
  EXPECT_FALSE(completion(on_set));
  ASSERT_EQ(send(b, simple(s, 2)), MACH_MSG_SUCCESS);
  EXPECT_TRUE(completion(on_set));
}

TEST_F(PsetTest, InsertingAPortWithQueuedMessagesWakesSetReceivers) {
  TaskId a = task();
  mach_port_name_t set = new_set(k, a);
  mach_port_name_t p = recv_port(a);
  ASSERT_EQ(send(a, simple(p, 8, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  WaiterId w = next_waiter();
  ASSERT_TRUE(receive(a, set, 0, 4096, true, w).blocked);
  ASSERT_EQ(k.port_insert_member(a, p, set), KERN_SUCCESS);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->hdr.msgh_id, 8);
}

TEST_F(PsetTest, MembershipErrors) {
  TaskId a = task();
  mach_port_name_t set = new_set(k, a), set2 = new_set(k, a);
  mach_port_name_t p = recv_port(a);
  EXPECT_EQ(k.port_insert_member(a, p, set), KERN_SUCCESS);
  EXPECT_EQ(k.port_insert_member(a, p, set), KERN_ALREADY_IN_SET);
  EXPECT_EQ(k.port_insert_member(a, p, set2), KERN_SUCCESS) << "a port may be in several sets";
  EXPECT_EQ(status(a, p).mps_pset, 2u);
  EXPECT_EQ(k.port_insert_member(a, set, set2), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_insert_member(a, p, p), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_insert_member(a, 0x9903, set), KERN_INVALID_NAME);
  EXPECT_EQ(k.port_insert_member(a, MACH_PORT_NULL, set), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_extract_member(a, p, set), KERN_SUCCESS);
  EXPECT_EQ(k.port_extract_member(a, p, set), KERN_NOT_IN_SET);
  // move_member leaves every set, then joins `after`.
  EXPECT_EQ(k.port_move_member(a, p, set), KERN_SUCCESS);
  std::vector<mach_port_name_t> m1, m2;
  EXPECT_EQ(k.port_get_set_status(a, set, &m1), KERN_SUCCESS);
  EXPECT_EQ(k.port_get_set_status(a, set2, &m2), KERN_SUCCESS);
  EXPECT_EQ(m1, std::vector<mach_port_name_t>{p});
  EXPECT_TRUE(m2.empty());
  EXPECT_EQ(k.port_move_member(a, p, MACH_PORT_NULL), KERN_SUCCESS);
  EXPECT_EQ(k.port_get_set_status(a, set, &m1), KERN_SUCCESS);
  EXPECT_TRUE(m1.empty());
  EXPECT_EQ(k.port_move_member(a, p, MACH_PORT_DEAD), KERN_INVALID_RIGHT);
  EXPECT_EQ(k.port_get_set_status(a, p, &m1), KERN_INVALID_RIGHT);
}

// XNU mach_port_move_member: leaving "every set" (after = MACH_PORT_NULL) is
// KERN_NOT_IN_SET for a port in none.
TEST_F(PsetTest, MoveMemberToNullOnPortInNoSetIsNotInSet) {
  TaskId a = task();
  mach_port_name_t set = new_set(k, a);
  mach_port_name_t p = recv_port(a);
  EXPECT_EQ(k.port_move_member(a, p, MACH_PORT_NULL), KERN_NOT_IN_SET);
  ASSERT_EQ(k.port_insert_member(a, p, set), KERN_SUCCESS);
  EXPECT_EQ(k.port_move_member(a, p, MACH_PORT_NULL), KERN_SUCCESS);
  EXPECT_EQ(status(a, p).mps_pset, 0u);
  EXPECT_EQ(k.port_move_member(a, p, MACH_PORT_NULL), KERN_NOT_IN_SET) << "it left its last set";
}

TEST_F(PsetTest, DestroyingTheSetWakesItsReceiversWithPortChanged) {
  TaskId a = task();
  mach_port_name_t set = new_set(k, a);
  mach_port_name_t p = recv_port(a);
  ASSERT_EQ(k.port_insert_member(a, p, set), KERN_SUCCESS);
  WaiterId w = next_waiter();
  ASSERT_TRUE(receive(a, set, 0, 4096, true, w).blocked);
  ASSERT_EQ(k.port_destroy(a, set), KERN_SUCCESS);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mr, MACH_RCV_PORT_CHANGED);
  EXPECT_EQ(status(a, p).mps_pset, 0u);
}

TEST_F(PsetTest, MovingAMemberOutOfTheSpaceRemovesItFromTheSet) {
  TaskId a = task(), b = task();
  mach_port_name_t set = new_set(k, a);
  mach_port_name_t p = recv_port(a);
  ASSERT_EQ(k.port_insert_member(a, p, set), KERN_SUCCESS);
  mach_port_name_t moved = move_receive(a, p, b);
  std::vector<mach_port_name_t> m;
  EXPECT_EQ(k.port_get_set_status(a, set, &m), KERN_SUCCESS);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(status(b, moved).mps_pset, 0u);
}

}  // namespace
}  // namespace machd::ipc::test
