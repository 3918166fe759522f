// tests/ipc/pset_test.cc — port sets: membership, receiving, fairness.
#include <algorithm>
#include <chrono>
#include <cstdio>

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


// ---- the ready list (XNU's prepost queue) ----------------------------------

struct ReadyList : PsetTest {
  std::vector<mach_msg_id_t> ids_from(TaskId a, mach_port_name_t set, int n) {
    std::vector<mach_msg_id_t> ids;
    for (int i = 0; i < n; i++) {
      Received r = receive(a, set);
      EXPECT_EQ(r.mr, MACH_MSG_SUCCESS) << "receive " << i;
      ids.push_back(r.hdr.msgh_id);
    }
    return ids;
  }
  TaskId a = 0;
  mach_port_name_t set = MACH_PORT_NULL;
  std::vector<mach_port_name_t> p;
  void SetUp() override {
    a = task();
    set = new_set(k, a);
    for (int i = 0; i < 3; i++) {
      p.push_back(recv_port(a));
      EXPECT_EQ(k.port_insert_member(a, p.back(), set), KERN_SUCCESS);
    }
  }
  void post(int member, mach_msg_id_t id) {
    ASSERT_EQ(send(a, simple(p[member], id, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  }
};

TEST_F(ReadyList, MembersAreServedInTheOrderTheirFirstMessageArrivedNotInsertionOrder) {
  post(2, 30);
  post(0, 10);
  post(1, 20);
  EXPECT_EQ(ids_from(a, set, 3), (std::vector<mach_msg_id_t>{30, 10, 20}));
  EXPECT_EQ(receive(a, set).mr, MACH_RCV_TIMED_OUT);
}

TEST_F(ReadyList, ServedMemberRotatesBehindEveryOtherReadyMember) {
  post(0, 10);
  post(0, 11);
  post(0, 12);
  post(1, 20);
  post(2, 30);
  post(2, 31);
  EXPECT_EQ(ids_from(a, set, 6), (std::vector<mach_msg_id_t>{10, 20, 30, 11, 31, 12}));
}

TEST_F(ReadyList, MoreMessagesOnAReadyMemberDoNotMoveIt) {
  post(0, 10);
  post(1, 20);
  post(0, 11);  // member 0 is ready already: it stays first
  EXPECT_EQ(ids_from(a, set, 3), (std::vector<mach_msg_id_t>{10, 20, 11}));
}

// XNU clears a member's prepost lazily: one emptied by a direct receive and
// refilled before the set is looked at keeps its place.
TEST_F(ReadyList, MemberEmptiedAndRefilledBeforeTheSetLooksKeepsItsPlace) {
  post(0, 10);
  post(1, 20);
  ASSERT_EQ(receive(a, p[0]).hdr.msgh_id, 10);
  post(0, 11);
  EXPECT_EQ(ids_from(a, set, 2), (std::vector<mach_msg_id_t>{11, 20}));
}

TEST_F(ReadyList, MemberFoundEmptyByTheSetIsReadyAgainOnlyAtTheTail) {
  post(0, 10);
  post(1, 20);
  post(2, 30);
  ASSERT_EQ(receive(a, p[0]).hdr.msgh_id, 10);
  ASSERT_EQ(ids_from(a, set, 1), (std::vector<mach_msg_id_t>{20}))
      << "the emptied member is skipped (and leaves the ready list)";
  post(0, 11);
  post(1, 21);
  // Member 1 went to the tail when served and stays in the ready list while
  // empty (cleared lazily), so it is ahead of member 0, which came back later.
  EXPECT_EQ(ids_from(a, set, 3), (std::vector<mach_msg_id_t>{30, 21, 11}));
}

TEST_F(ReadyList, MemberJoiningWithQueuedMessagesIsReadyAtTheTail) {
  mach_port_name_t late = recv_port(a);
  ASSERT_EQ(send(a, simple(late, 40, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  post(0, 10);
  ASSERT_EQ(k.port_insert_member(a, late, set), KERN_SUCCESS);
  post(1, 20);
  EXPECT_EQ(ids_from(a, set, 3), (std::vector<mach_msg_id_t>{10, 40, 20}));
}

TEST_F(ReadyList, MemberThatLeavesIsNotServedAndRejoinsAtTheTail) {
  post(0, 10);
  post(1, 20);
  post(2, 30);
  ASSERT_EQ(k.port_extract_member(a, p[0], set), KERN_SUCCESS);
  ASSERT_EQ(k.port_move_member(a, p[1], MACH_PORT_NULL), KERN_SUCCESS);
  ASSERT_EQ(ids_from(a, set, 1), (std::vector<mach_msg_id_t>{30}));
  EXPECT_EQ(receive(a, set).mr, MACH_RCV_TIMED_OUT);
  ASSERT_EQ(k.port_move_member(a, p[1], set), KERN_SUCCESS);
  ASSERT_EQ(k.port_insert_member(a, p[0], set), KERN_SUCCESS);
  EXPECT_EQ(ids_from(a, set, 2), (std::vector<mach_msg_id_t>{20, 10}));
}

TEST_F(ReadyList, DestroyedMemberLeavesTheReadyList) {
  post(0, 10);
  post(1, 20);
  ASSERT_EQ(k.port_mod_refs(a, p[0], MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(ids_from(a, set, 1), (std::vector<mach_msg_id_t>{20}));
  EXPECT_EQ(receive(a, set).mr, MACH_RCV_TIMED_OUT);
}

TEST_F(ReadyList, MemberEmptiedThroughAnotherSetIsSkipped) {
  mach_port_name_t other = new_set(k, a);
  ASSERT_EQ(k.port_insert_member(a, p[0], other), KERN_SUCCESS);
  post(0, 10);
  ASSERT_EQ(ids_from(a, other, 1), (std::vector<mach_msg_id_t>{10}));
  EXPECT_EQ(receive(a, set).mr, MACH_RCV_TIMED_OUT);
  post(0, 11);
  EXPECT_EQ(ids_from(a, set, 1), (std::vector<mach_msg_id_t>{11}));
}

TEST_F(ReadyList, GetSetStatusListsIdleMembersThenReadyOnes) {
  post(0, 10);
  std::vector<mach_port_name_t> m;
  ASSERT_EQ(k.port_get_set_status(a, set, &m), KERN_SUCCESS);
  EXPECT_EQ(m, (std::vector<mach_port_name_t>{p[1], p[2], p[0]}));
}

// Building a set is linear and receiving from it does not depend on its
// size: the figures are printed, not asserted (timing on a shared machine).
TEST_F(PsetTest, ReceiveCostDoesNotGrowWithTheNumberOfMembers) {
  TaskId a = task();
  for (int members : {10, 100000}) {
    mach_port_name_t set = new_set(k, a);
    std::vector<mach_port_name_t> ports;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < members; i++) {
      ports.push_back(recv_port(a));
      ASSERT_EQ(k.port_insert_member(a, ports.back(), set), KERN_SUCCESS);
    }
    auto t1 = std::chrono::steady_clock::now();
    // Rounds of one message to each of 10 distinct members (queue limits
    // stay far), then 10 receives from the set.
    constexpr int kRounds = 200, kPerRound = 10;
    std::chrono::steady_clock::duration sending{}, receiving{};
    for (int r = 0; r < kRounds; r++) {
      auto s0 = std::chrono::steady_clock::now();
      for (int i = 0; i < kPerRound; i++) {
        mach_port_name_t dest = ports[(size_t(i) * 7919 + size_t(r) * 10007) % size_t(members)];
        ASSERT_EQ(send(a, simple(dest, i, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
      }
      auto s1 = std::chrono::steady_clock::now();
      std::vector<mach_msg_id_t> ids;
      for (int i = 0; i < kPerRound; i++) ids.push_back(receive(a, set).hdr.msgh_id);
      std::sort(ids.begin(), ids.end());  // (members still ready keep their places)
      ASSERT_EQ(ids, (std::vector<mach_msg_id_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
      receiving += std::chrono::steady_clock::now() - s1;
      sending += s1 - s0;
    }
    EXPECT_EQ(receive(a, set).mr, MACH_RCV_TIMED_OUT);
    auto us = [](auto d) { return std::chrono::duration<double, std::micro>(d).count(); };
    std::printf("[ figure ] set of %d members: build %.0f us (%.3f us/member), "
                "receive %.3f us/message (send %.3f us)\n",
                members, us(t1 - t0), us(t1 - t0) / members, us(receiving) / (kRounds * kPerRound),
                us(sending) / (kRounds * kPerRound));
    ASSERT_EQ(k.port_destroy(a, set), KERN_SUCCESS);
    for (mach_port_name_t n : ports) ASSERT_EQ(k.port_mod_refs(a, n, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  }
}

}  // namespace
}  // namespace machd::ipc::test
