// tests/ipc/lane_test.cc — receive lanes: messages lent to a receiver's
// ring, settled when consumed, taken back when the lane closes. A Mach
// program must see exactly the queue, seqnos and notifications XNU gives.
#include <utility>

#include "fake_hooks.h"

namespace machd::ipc::test {
namespace {

constexpr LaneId kLane = 77;

class LaneFixture : public LaneTest {
 protected:
  // b holds a receive right `p`; a holds a send right `s` to it; a has sent
  // `n` simple messages with ids 0..n-1.
  void fill(uint32_t n) {
    connect();
    for (uint32_t i = 0; i < n; i++) {
      Msg m = simple(s, static_cast<mach_msg_id_t>(i));
      m.data = {9, 8, 7, 6};
      ASSERT_EQ(send(a, m, MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
    }
  }
  // Lends every queued message (`expect` of them) and scripts how many the
  // receiver will have consumed at the next reclaim.
  void lend_all(size_t expect, uint32_t consumed) {
    ASSERT_EQ(lend(b, p, kLane).size(), expect);
    hooks.consumed[kLane] = consumed;
  }
  // The next receive on `name` gets message `id` with sequence number `seqno`.
  void expect_next(mach_port_name_t name, mach_msg_id_t id, mach_port_seqno_t seqno) {
    Received r = receive(b, name, kSeqno);
    ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
    EXPECT_EQ(r.hdr.msgh_id, id);
    EXPECT_EQ(r.trailer.msgh_seqno, seqno);
  }
  bool reclaimed(bool close) const {
    for (const auto& [lane, c] : hooks.reclaims)
      if (lane == kLane && c == close) return true;
    return false;
  }
};

TEST_F(LaneFixture, Lend_ImagesAreWhatAReceiveWritesWithAFullTrailer) {
  fill(3);
  ASSERT_EQ(k.port_set_context(b, p, 0xC0FFEE), KERN_SUCCESS);
  auto images = lend(b, p, kLane);
  ASSERT_EQ(images.size(), 3u);
  EXPECT_EQ(k.stats().lanes, 1u);
  EXPECT_EQ(status(b, p).mps_msgcount, 3u) << "status closes the lane: all 3 still queued";
  EXPECT_EQ(k.stats().lanes, 0u);
  for (uint32_t i = 0; i < 3; i++) {
    mach_msg_header_t h = header_of(images[i]);
    EXPECT_EQ(h.msgh_id, static_cast<mach_msg_id_t>(i));
    EXPECT_EQ(h.msgh_bits, MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND));
    EXPECT_EQ(h.msgh_local_port, p);
    EXPECT_EQ(h.msgh_remote_port, MACH_PORT_NULL);
    mach_msg_max_trailer_t t = trailer_of(images[i]);
    EXPECT_EQ(t.msgh_trailer_size, sizeof(mach_msg_max_trailer_t));
    EXPECT_EQ(t.msgh_seqno, i);
    EXPECT_EQ(uint64_t(t.msgh_context), 0xC0FFEEu);
    // Byte for byte what mach_msg returns with the largest trailer.
    Received r = receive(b, p, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AV));
    ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
    EXPECT_EQ(r.raw, images[i]) << "message " << i;
  }
}

TEST_F(LaneFixture, LentMessages_KeepSeqnosAcrossClose) {
  fill(3);
  auto images = lend(b, p, kLane);
  ASSERT_EQ(images.size(), 3u);
  k.lane_settle(kLane, 1, false);  // the receiver took message 0
  EXPECT_EQ(k.stats().lanes, 1u);
  k.lane_settle(kLane, 0, true);
  EXPECT_EQ(k.stats().lanes, 0u);
  EXPECT_TRUE(hooks.reclaims.empty()) << "settling is the daemon's call: no hook";
  expect_next(p, 1, 1);
  expect_next(p, 2, 2);
  EXPECT_EQ(receive(b, p).mr, MACH_RCV_TIMED_OUT);
}

TEST_F(LaneFixture, Settle_ClampsToTheLentCountAndUnknownLanesAreIgnored) {
  fill(4);
  ASSERT_EQ(lend(b, p, kLane, 2).size(), 2u);
  k.lane_settle(kLane + 1, 5, true);  // no such lane
  k.lane_settle(kLane, 1000, false);  // an untrusted count
  EXPECT_EQ(status(b, p).mps_msgcount, 2u) << "only the 2 lent messages were settled";
  EXPECT_EQ(status(b, p).mps_seqno, 2u);
  EXPECT_EQ(receive(b, p).hdr.msgh_id, 2);
}

TEST_F(LaneFixture, Lend_AppendsAfterWhatIsAlreadyLent) {
  fill(2);
  auto first = lend(b, p, kLane);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_TRUE(lend(b, p, kLane).empty()) << "nothing new";
  EXPECT_TRUE(lend(b, p, kLane + 1).empty()) << "the port has another lane";
  ASSERT_EQ(send(a, simple(s, 2), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  auto more = lend(b, p, kLane);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(header_of(more[0]).msgh_id, 2);
  EXPECT_EQ(trailer_of(more[0]).msgh_seqno, 2u);
  // Another port may not reuse the lane id.
  mach_port_name_t q = recv_port(b);
  ASSERT_EQ(send(b, simple(q, 9, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  EXPECT_TRUE(lend(b, q, kLane).empty());
}

TEST_F(LaneFixture, Lend_StopsAtFirstComplexOrReplyMessage) {
  fill(2);
  mach_port_name_t reply = recv_port(a);
  Msg with_reply = simple(s, 10);
  with_reply.local = reply;
  with_reply.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  ASSERT_EQ(send(a, with_reply, MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  ASSERT_EQ(send(a, simple(s, 11), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  EXPECT_EQ(lend(b, p, kLane).size(), 2u) << "stops at the message with a reply right";
  k.lane_settle(kLane, 2, true);
  EXPECT_TRUE(lend(b, p, kLane).empty()) << "the head has a reply right";
  k.lane_settle(kLane, 0, true);
  EXPECT_EQ(receive(b, p).hdr.msgh_id, 10);
  EXPECT_EQ(receive(b, p).hdr.msgh_id, 11);

  // A complex message, a send-once destination, an image larger than a slot.
  Msg complex = simple(s, 20);
  complex.descs.push_back(Desc::memory({1, 2, 3, 4}));
  ASSERT_EQ(send(a, complex, MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  EXPECT_TRUE(lend(b, p, kLane).empty());
  k.lane_settle(kLane, 0, true);
  EXPECT_EQ(receive(b, p).hdr.msgh_id, 20);
  mach_port_name_t so = give_send_once(b, p, a);
  ASSERT_EQ(send(a, simple(so, 21, MACH_MSG_TYPE_MOVE_SEND_ONCE), MACH_SEND_TIMEOUT, 0),
            MACH_MSG_SUCCESS);
  EXPECT_TRUE(lend(b, p, kLane).empty()) << "send-once destination";
  k.lane_settle(kLane, 0, true);
  EXPECT_EQ(receive(b, p).hdr.msgh_id, 21);
  ASSERT_EQ(send(a, simple(s, 22), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  const uint32_t image = 24 + 68;  // header + trailer
  EXPECT_TRUE(lend(b, p, kLane, 64, image - 1).empty()) << "does not fit the slot";
  EXPECT_EQ(lend(b, p, kLane, 64, image).size(), 1u);
  EXPECT_TRUE(lend(b, p, kLane, 64, image).empty());
}

TEST_F(LaneFixture, Lend_RefusesPortsWithWaitersSetsOrRequests) {
  fill(1);
  std::vector<std::vector<uint8_t>> out;
  EXPECT_EQ(k.lane_lend(b, k.task_self_name(b), kLane, 8, 4096, out), 0u) << "a send right";
  EXPECT_EQ(k.lane_lend(a, s, kLane, 8, 4096, out), 0u) << "a send right to the port";
  EXPECT_EQ(k.lane_lend(b, MACH_PORT_NULL, kLane, 8, 4096, out), 0u) << "no name";
  EXPECT_EQ(k.lane_lend(b, p, 0, 8, 4096, out), 0u) << "lane 0";
  k.set_lane_hooks(nullptr);
  EXPECT_EQ(k.lane_lend(b, p, kLane, 8, 4096, out), 0u) << "no hooks";
  k.set_lane_hooks(&hooks);

  mach_port_name_t pset = MACH_PORT_NULL;
  ASSERT_EQ(k.port_allocate(b, MACH_PORT_RIGHT_PORT_SET, &pset), KERN_SUCCESS);
  ASSERT_EQ(k.port_insert_member(b, p, pset), KERN_SUCCESS);
  EXPECT_EQ(k.lane_lend(b, p, kLane, 8, 4096, out), 0u) << "in a port set";
  ASSERT_EQ(k.port_extract_member(b, p, pset), KERN_SUCCESS);

  mach_port_name_t n = recv_port(b), prev = MACH_PORT_NULL;
  ASSERT_EQ(k.port_request_notification(b, p, MACH_NOTIFY_NO_SENDERS, 0, n,
                                        MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev),
            KERN_SUCCESS);
  EXPECT_EQ(k.lane_lend(b, p, kLane, 8, 4096, out), 0u) << "no-senders armed";
  ASSERT_EQ(k.port_request_notification(b, p, MACH_NOTIFY_NO_SENDERS, 0, MACH_PORT_NULL, 0, &prev),
            KERN_SUCCESS);
  ASSERT_EQ(k.port_deallocate(b, prev), KERN_SUCCESS);

  ASSERT_EQ(receive(b, p).hdr.msgh_id, 0);
  WaiterId w = next_waiter();
  EXPECT_TRUE(receive(b, p, 0, 4096, true, w).blocked);
  EXPECT_EQ(k.lane_lend(b, p, kLane, 8, 4096, out), 0u) << "a receiver is blocked";
  k.abort_wait(w, MACH_RCV_INTERRUPTED);
  EXPECT_TRUE(completion(w));
  EXPECT_EQ(k.lane_lend(b, p, kLane, 8, 4096, out), 0u) << "empty: nothing to lend";
  EXPECT_EQ(k.stats().lanes, 0u) << "a port takes a lane only with something lent";
  EXPECT_TRUE(out.empty());
}

TEST_F(LaneFixture, Lend_ReportsSendersBlockedOnTheFullQueue) {
  fill(5);  // the default qlimit
  WaiterId w = next_waiter();
  EXPECT_EQ(send(a, simple(s, 9), 0, 0, w), kBlocked);
  std::vector<std::vector<uint8_t>> out;
  bool blocked = false;
  ASSERT_EQ(k.lane_lend(b, p, kLane, 3, 4096, out, &blocked), 3u);
  EXPECT_TRUE(blocked) << "the receiver must report what it takes";
  k.lane_settle(kLane, 1, false);  // it took one: the blocked sender gets in
  auto done = completion(w);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->mr, MACH_MSG_SUCCESS);
  k.lane_settle(kLane, 0, true);
  for (mach_msg_id_t id : {1, 2, 3, 4, 9}) EXPECT_EQ(receive(b, p).hdr.msgh_id, id);
}

TEST_F(LaneFixture, GetSrights_DoesNotCountMessagesTakenFromTheLane) {
  fill(2);
  lend_all(2, 2);  // both taken through the lane, not settled yet
  ASSERT_EQ(k.port_deallocate(a, s), KERN_SUCCESS);
  mach_port_rights_t srights = 99;
  ASSERT_EQ(k.port_get_srights(b, p, &srights), KERN_SUCCESS);
  EXPECT_EQ(srights, 0u) << "a received message holds no send right";
}

TEST_F(LaneFixture, ReceiveOnLanePort_ClosesLaneFirst) {
  fill(3);
  lend_all(3, 2);
  expect_next(p, 2, 2);  // the two consumed ones were received through the lane
  EXPECT_TRUE(reclaimed(true));
  EXPECT_EQ(k.stats().lanes, 0u);
  EXPECT_EQ(receive(b, p).mr, MACH_RCV_TIMED_OUT);
}

TEST_F(LaneFixture, ReceiveOnASet_ClosesItsMembersLanes) {
  fill(2);
  lend_all(2, 1);
  mach_port_name_t pset = MACH_PORT_NULL;
  ASSERT_EQ(k.port_allocate(b, MACH_PORT_RIGHT_PORT_SET, &pset), KERN_SUCCESS);
  ASSERT_EQ(k.port_insert_member(b, p, pset), KERN_SUCCESS);
  EXPECT_TRUE(reclaimed(true)) << "joining a set closes the lane";
  EXPECT_EQ(k.stats().lanes, 0u);
  expect_next(pset, 1, 1);
}

TEST_F(LaneFixture, PeekAndStatus_SeeSettledQueue) {
  fill(4);
  lend_all(4, 1);
  mach_port_status_t st = status(b, p);
  EXPECT_TRUE(reclaimed(true));
  EXPECT_EQ(st.mps_msgcount, 3u);
  EXPECT_EQ(st.mps_seqno, 1u);

  auto again = lend(b, p, kLane);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(trailer_of(again[0]).msgh_seqno, 1u);
  hooks.consumed[kLane] = 1;
  mach_port_seqno_t seqno = 0;
  mach_msg_size_t size = 0;
  mach_msg_id_t id = 0;
  std::vector<uint8_t> trailer;
  ASSERT_EQ(k.port_peek(b, p, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SEQNO), &seqno, &size, &id,
                        &trailer),
            KERN_SUCCESS);
  EXPECT_EQ(seqno, 2u);
  EXPECT_EQ(id, 2);
  EXPECT_EQ(k.stats().lanes, 0u);

  // set_seqno closes the lane before changing the seqno.
  lend_all(2, 1);
  ASSERT_EQ(k.port_set_seqno(b, p, 100), KERN_SUCCESS);
  expect_next(p, 3, 100);
}

TEST_F(LaneFixture, FullQueue_SettlesLaneBeforeBlocking) {
  fill(5);
  lend_all(5, 2);
  EXPECT_EQ(send(a, simple(s, 5), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS)
      << "two consumed messages freed their slots";
  EXPECT_TRUE(reclaimed(false));
  EXPECT_FALSE(reclaimed(true));
  EXPECT_EQ(k.stats().lanes, 1u) << "settled, still open";
  EXPECT_EQ(send(a, simple(s, 6), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  EXPECT_EQ(send(a, simple(s, 7), MACH_SEND_TIMEOUT, 0), MACH_SEND_TIMED_OUT);

  // A blocked sender gets the slot when the daemon settles later.
  WaiterId w = next_waiter();
  EXPECT_EQ(send(a, simple(s, 8), 0, 0, w), kBlocked);
  k.lane_settle(kLane, 1, false);
  auto done = completion(w);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->mr, MACH_MSG_SUCCESS);
  expect_next(p, 3, 3);
}

TEST_F(LaneFixture, NotificationRequestsCloseTheLane) {
  fill(2);
  mach_port_name_t n = recv_port(b), prev = MACH_PORT_NULL;
  lend_all(2, 2);
  ASSERT_EQ(k.port_deallocate(a, s), KERN_SUCCESS);  // only the messages hold send rights now
  ASSERT_EQ(k.port_request_notification(b, p, MACH_NOTIFY_NO_SENDERS, 0, n,
                                        MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev),
            KERN_SUCCESS);
  EXPECT_TRUE(reclaimed(true));
  Received ns = receive(b, n);
  ASSERT_EQ(ns.mr, MACH_MSG_SUCCESS) << "both messages were received: no senders left";
  EXPECT_EQ(ns.hdr.msgh_id, MACH_NOTIFY_NO_SENDERS);
}

TEST_F(LaneFixture, ContextChangesCloseTheLane) {
  fill(2);
  ASSERT_EQ(lend(b, p, kLane).size(), 2u);
  ASSERT_EQ(k.port_set_context(b, p, 5), KERN_SUCCESS);
  EXPECT_TRUE(reclaimed(true));
  auto images = lend(b, p, kLane);
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(uint64_t(trailer_of(images[0]).msgh_context), 5u);
  hooks.reclaims.clear();
  ASSERT_EQ(k.port_guard(b, p, 0, false), KERN_INVALID_ARGUMENT);  // has a context
  EXPECT_TRUE(reclaimed(true));
  ASSERT_EQ(k.port_set_context(b, p, 0), KERN_SUCCESS);
  ASSERT_EQ(lend(b, p, kLane).size(), 2u);
  hooks.reclaims.clear();
  ASSERT_EQ(k.port_guard(b, p, 0x99, false), KERN_SUCCESS);
  EXPECT_TRUE(reclaimed(true));
  ASSERT_EQ(lend(b, p, kLane).size(), 2u);
  hooks.reclaims.clear();
  ASSERT_EQ(k.port_unguard(b, p, 0x99), KERN_SUCCESS);
  EXPECT_TRUE(reclaimed(true));
}

TEST_F(LaneFixture, ReceiveRightMoved_ClosesLane) {
  fill(3);
  lend_all(3, 1);
  TaskId c = task();
  mach_port_name_t q = move_receive(b, p, c);
  EXPECT_TRUE(reclaimed(true));
  EXPECT_EQ(k.stats().lanes, 0u);
  EXPECT_EQ(receive(c, q).hdr.msgh_id, 1);
  EXPECT_EQ(receive(c, q).hdr.msgh_id, 2);
  EXPECT_EQ(receive(c, q).mr, MACH_RCV_TIMED_OUT);
}

TEST_F(LaneFixture, TaskDeath_WithLentMessages_LeaksNothing) {
  fill(4);
  lend_all(4, 1);
  // The receiver also holds a credit to a port of the sender's.
  mach_port_name_t q = recv_port(a);
  mach_port_name_t qs = give_send(a, q, b);
  CreditGrant g = k.credit_grant(b, qs, 2);
  ASSERT_EQ(g.count, 2u);
  kill(b);
  EXPECT_TRUE(reclaimed(true)) << "asked while the daemon could still answer";
  EXPECT_TRUE(hooks.revoked.empty()) << "a dying task's credits are not revoked";
  EXPECT_EQ(hooks.closed, (std::vector<CreditId>{g.id}));
  EXPECT_EQ(k.stats().lanes, 0u);
  EXPECT_EQ(k.stats().credits, 0u);
  EXPECT_EQ(type_of(a, s), MACH_PORT_TYPE_DEAD_NAME);
}

}  // namespace
}  // namespace machd::ipc::test
