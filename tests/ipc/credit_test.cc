// tests/ipc/credit_test.cc — send credits: slots reserved for one sender,
// messages posted through them, revocation and closing.
#include <algorithm>

#include "fake_hooks.h"

namespace machd::ipc::test {
namespace {

class CreditTest : public LaneTest {
 protected:
  // connect(), then a credit of `want` slots for `a` on `p` (expected whole).
  CreditGrant connect_with_credit(uint32_t want) {
    connect();
    CreditGrant g = k.credit_grant(a, s, want);
    EXPECT_EQ(g.count, want);
    return g;
  }
};

bool contains(const std::vector<CreditId>& v, CreditId id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

TEST_F(CreditTest, CreditGrant_ReservesHalfTheFreeSlots_AndRefusesNearlyFullPorts) {
  connect();
  mach_port_rights_t srights = 0;

  CreditGrant g1 = k.credit_grant(a, s, 10);
  EXPECT_NE(g1.id, 0u);
  EXPECT_EQ(g1.count, 2u) << "(qlimit 5 - msgcount 0) / 2";
  ASSERT_EQ(k.port_get_srights(b, p, &srights), KERN_SUCCESS);
  EXPECT_EQ(srights, 1u) << "an open credit is no extra sender: the entry holds the right";
  EXPECT_EQ(status(b, p).mps_msgcount, 0u) << "reserved slots are not messages";
  CreditGrant g2 = k.credit_grant(a, s, 10);
  EXPECT_EQ(g2.count, 1u) << "(5 - 2) / 2";
  EXPECT_NE(g2.id, g1.id);
  EXPECT_EQ(k.credit_grant(a, s, 10).count, 1u) << "(5 - 3) / 2";
  EXPECT_EQ(k.credit_grant(a, s, 10).count, 0u) << "one free slot: refused";
  EXPECT_EQ(k.stats().credits, 3u);

  // Not eligible: no send right, the kernel task's port, a dead port.
  EXPECT_EQ(k.credit_grant(b, p, 1).count, 0u) << "a receive right alone";
  EXPECT_EQ(k.credit_grant(a, k.task_self_name(a), 1).count, 0u) << "receiver is the kernel task";
  mach_port_name_t q = recv_port(b);
  mach_port_name_t qs = give_send(b, q, a);
  ASSERT_EQ(k.port_mod_refs(b, q, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(k.credit_grant(a, qs, 1).count, 0u) << "dead port";
  EXPECT_EQ(k.credit_grant(a, qs, 1).id, 0u);

  // A port with one free slot is refused; without hooks nothing is granted.
  mach_port_name_t r = recv_port(b);
  mach_port_name_t rs = give_send(b, r, a);
  for (int i = 0; i < 4; i++) ASSERT_EQ(send(b, simple(r, i, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  EXPECT_EQ(k.credit_grant(a, rs, 4).count, 0u);
  ASSERT_EQ(receive(b, r).mr, MACH_MSG_SUCCESS);
  k.set_lane_hooks(nullptr);
  EXPECT_EQ(k.credit_grant(a, rs, 4).count, 0u) << "no hooks";
  k.set_lane_hooks(&hooks);
  EXPECT_EQ(k.credit_grant(a, rs, 4).count, 1u);
}

TEST_F(CreditTest, CreditPost_QueuesASimpleMessageAsCopyinWould) {
  CreditGrant g = connect_with_credit(2);
  ASSERT_EQ(k.credit_post(a, g.id, simple_bytes(s, 42)), MACH_MSG_SUCCESS);
  EXPECT_EQ(status(b, p).mps_msgcount, 1u);
  Received r = receive(b, p, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT));
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_id, 42);
  EXPECT_EQ(r.hdr.msgh_bits, MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND));
  EXPECT_EQ(r.hdr.msgh_local_port, p);
  EXPECT_EQ(r.hdr.msgh_remote_port, MACH_PORT_NULL);
  EXPECT_EQ(r.data, (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(r.trailer.msgh_sender.val[0], 501u) << "sender identity of the credited task";
  EXPECT_EQ(r.trailer.msgh_audit.val[5], k.credentials(a)->pid);

  // A receiver already waiting gets the message directly.
  WaiterId w = next_waiter();
  EXPECT_TRUE(receive(b, p, 0, 4096, true, w).blocked);
  ASSERT_EQ(k.credit_post(a, g.id, simple_bytes(s, 43)), MACH_MSG_SUCCESS);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->hdr.msgh_id, 43);
  EXPECT_EQ(k.credit_post(a, g.id, simple_bytes(s, 44)), MACH_SEND_INVALID_DEST)
      << "no reserved slot left";
}

TEST_F(CreditTest, CreditPost_RejectsMovedRightsComplexAndUnknownCredit) {
  CreditGrant g = connect_with_credit(1);
  TaskId c = task();
  mach_port_name_t reply = recv_port(a);

  auto with = [&](auto change) {
    Msg m = simple(s, 7);
    change(m);
    return m.encode().msg;
  };
  const uint64_t messages = k.stats().messages;
  EXPECT_EQ(k.credit_post(a, g.id, with([](Msg& m) { m.remote_disp = MACH_MSG_TYPE_MOVE_SEND; })),
            MACH_SEND_INVALID_HEADER);
  EXPECT_EQ(k.credit_post(a, g.id, with([](Msg& m) { m.complex = true; })), MACH_SEND_INVALID_HEADER);
  EXPECT_EQ(k.credit_post(a, g.id, with([&](Msg& m) {
              m.local = reply;
              m.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
            })),
            MACH_SEND_INVALID_HEADER);
  EXPECT_EQ(k.credit_post(a, g.id, with([&](Msg& m) { m.local = reply; })), MACH_SEND_INVALID_HEADER)
      << "a local port without a disposition";
  EXPECT_EQ(k.credit_post(a, g.id, with([](Msg& m) { m.voucher_disp = MACH_MSG_TYPE_COPY_SEND; })),
            MACH_SEND_INVALID_HEADER);
  std::vector<uint8_t> bad_size = simple_bytes(s, 7);
  bad_size.resize(bad_size.size() + 4);  // msgh_size no longer matches
  EXPECT_EQ(k.credit_post(a, g.id, std::move(bad_size)), MACH_SEND_INVALID_HEADER);
  std::vector<uint8_t> odd = simple_bytes(s, 7);
  odd.resize(odd.size() - 1);
  EXPECT_EQ(k.credit_post(a, g.id, std::move(odd)), MACH_SEND_INVALID_HEADER);
  EXPECT_EQ(k.credit_post(a, g.id, std::vector<uint8_t>(8)), MACH_SEND_INVALID_HEADER);

  EXPECT_EQ(k.credit_post(a, g.id + 100, simple_bytes(s, 7)), MACH_SEND_INVALID_DEST) << "unknown";
  EXPECT_EQ(k.credit_post(c, g.id, simple_bytes(s, 7)), MACH_SEND_INVALID_DEST) << "wrong task";
  EXPECT_EQ(k.credit_post(a, g.id, simple_bytes(reply, 7)), MACH_SEND_INVALID_DEST)
      << "another name than the credit's";

  EXPECT_EQ(k.stats().messages, messages) << "refused posts consume nothing";
  EXPECT_EQ(k.credit_post(a, g.id, simple_bytes(s, 8)), MACH_MSG_SUCCESS) << "the slot is still there";
  EXPECT_EQ(receive(b, p).hdr.msgh_id, 8);
  EXPECT_TRUE(hooks.revoked.empty());
}

TEST_F(CreditTest, CreditHoldsSendRight_NoSendersWaitsForInFlightPosts) {
  CreditGrant g = connect_with_credit(2);
  mach_port_name_t n = recv_port(b);
  hooks.unused[g.id] = 1;  // the client took one slot: one message is on its way

  mach_port_name_t prev = MACH_PORT_NULL;
  ASSERT_EQ(k.port_request_notification(b, p, MACH_NOTIFY_NO_SENDERS, 0, n,
                                        MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev),
            KERN_SUCCESS);
  ASSERT_EQ(k.port_deallocate(a, s), KERN_SUCCESS);
  EXPECT_TRUE(contains(hooks.revoked, g.id)) << "deallocate revokes the task's credits";
  EXPECT_TRUE(hooks.closed.empty()) << "one message still in flight";
  EXPECT_EQ(receive(b, n).mr, MACH_RCV_TIMED_OUT) << "the credit still holds a send right";

  ASSERT_EQ(k.credit_post(a, g.id, simple_bytes(s, 5)), MACH_MSG_SUCCESS);
  EXPECT_TRUE(contains(hooks.closed, g.id)) << "revoked and nothing reserved: closed";
  EXPECT_EQ(k.stats().credits, 0u);
  EXPECT_EQ(receive(b, n).mr, MACH_RCV_TIMED_OUT) << "the queued message holds a send right";
  EXPECT_EQ(receive(b, p).hdr.msgh_id, 5);
  Received ns = receive(b, n);
  ASSERT_EQ(ns.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(ns.hdr.msgh_id, MACH_NOTIFY_NO_SENDERS);
}

TEST_F(CreditTest, FullQueue_RevokesCreditsBeforeBlockingASender) {
  CreditGrant g = connect_with_credit(2);
  TaskId c = task();
  mach_port_name_t cs = give_send(b, p, c);
  hooks.unused[g.id] = 1;  // one slot taken by the client, not posted yet

  for (int i = 0; i < 3; i++) ASSERT_EQ(send(c, simple(cs, i), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  EXPECT_TRUE(hooks.revoked.empty());
  EXPECT_EQ(send(c, simple(cs, 3), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS)
      << "the credit's slots came back instead of a time-out";
  EXPECT_TRUE(contains(hooks.revoked, g.id));
  EXPECT_EQ(send(c, simple(cs, 4), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS)
      << "even the slot of the message the client took: it cannot hold room it never fills";
  EXPECT_EQ(send(c, simple(cs, 5), MACH_SEND_TIMEOUT, 0), MACH_SEND_TIMED_OUT) << "now the queue is full";
  EXPECT_EQ(hooks.revoked.size(), 1u) << "a revoked credit is not asked again";
  EXPECT_FALSE(contains(hooks.closed, g.id)) << "one message is still on its way";

  ASSERT_EQ(k.credit_post(a, g.id, simple_bytes(s, 100)), MACH_MSG_SUCCESS) << "posted past the limit";
  EXPECT_TRUE(contains(hooks.closed, g.id));
  EXPECT_EQ(k.credit_post(a, g.id, simple_bytes(s, 101)), MACH_SEND_INVALID_DEST) << "no more than it took";
  std::vector<mach_msg_id_t> ids;
  for (int i = 0; i < 6; i++) ids.push_back(receive(b, p).hdr.msgh_id);
  EXPECT_EQ(ids, (std::vector<mach_msg_id_t>{0, 1, 2, 3, 4, 100}));
}

TEST_F(CreditTest, LoweringTheQueueLimit_RevokesCreditsOnThePort) {
  connect();
  mach_port_limits_t lim{16};
  ASSERT_EQ(k.port_set_attributes(b, p, MACH_PORT_LIMITS_INFO, reinterpret_cast<integer_t*>(&lim), 1),
            KERN_SUCCESS);
  CreditGrant g = k.credit_grant(a, s, 100);
  EXPECT_EQ(g.count, 8u);
  lim.mpl_qlimit = 20;  // raising it keeps the credit
  ASSERT_EQ(k.port_set_attributes(b, p, MACH_PORT_LIMITS_INFO, reinterpret_cast<integer_t*>(&lim), 1),
            KERN_SUCCESS);
  EXPECT_TRUE(hooks.revoked.empty());
  lim.mpl_qlimit = 2;  // lowering it must not let credited senders past it
  ASSERT_EQ(k.port_set_attributes(b, p, MACH_PORT_LIMITS_INFO, reinterpret_cast<integer_t*>(&lim), 1),
            KERN_SUCCESS);
  EXPECT_TRUE(contains(hooks.revoked, g.id));
  EXPECT_TRUE(contains(hooks.closed, g.id)) << "nothing was taken: the credit closes";
  EXPECT_EQ(send(a, simple(s, 1), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  EXPECT_EQ(send(a, simple(s, 2), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  EXPECT_EQ(send(a, simple(s, 3), MACH_SEND_TIMEOUT, 0), MACH_SEND_TIMED_OUT);
  receive(b, p);
  receive(b, p);
}

TEST_F(CreditTest, SendPossibleFiresAtOnceWhenOnlyReservationsFillTheQueue) {
  connect();
  ASSERT_EQ(k.credit_grant(a, s, 10).count, 2u);  // (5 - 0) / 2
  ASSERT_EQ(k.credit_grant(a, s, 10).count, 1u);  // (5 - 2) / 2
  for (int i = 0; i < 2; i++) ASSERT_EQ(send(a, simple(s, i), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  mach_port_name_t n = recv_port(a), prev = MACH_PORT_NULL;
  ASSERT_EQ(k.port_request_notification(a, s, MACH_NOTIFY_SEND_POSSIBLE, 1, n, MACH_MSG_TYPE_MAKE_SEND_ONCE,
                                        &prev),
            KERN_SUCCESS);
  Received r = receive(a, n);
  EXPECT_EQ(r.mr, MACH_MSG_SUCCESS) << "2 messages of 5 queued: sending is possible";
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_SEND_POSSIBLE);
  for (int i = 0; i < 2; i++) receive(b, p);
}

TEST_F(CreditTest, DeallocateOfSendRight_RevokesTheTasksCredits) {
  CreditGrant g = connect_with_credit(2);
  mach_port_name_t q = recv_port(b);
  mach_port_name_t t = give_send(b, q, a);

  // Calls that cannot take a send right away keep the credit.
  ASSERT_EQ(k.port_mod_refs(a, s, MACH_PORT_RIGHT_SEND, 1), KERN_SUCCESS);
  ASSERT_EQ(send(a, simple(t, 1)), MACH_MSG_SUCCESS);
  EXPECT_TRUE(hooks.revoked.empty());

  // A message moving a send right revokes every credit of the sender.
  ASSERT_EQ(send(a, simple(t, 2, MACH_MSG_TYPE_MOVE_SEND)), MACH_MSG_SUCCESS);
  EXPECT_EQ(hooks.revoked, (std::vector<CreditId>{g.id}));
  EXPECT_EQ(hooks.closed, (std::vector<CreditId>{g.id})) << "every slot was unused";
  EXPECT_EQ(k.credit_post(a, g.id, simple_bytes(s, 3)), MACH_SEND_INVALID_DEST);

  // mod_refs -1 and deallocate revoke too.
  CreditGrant g2 = k.credit_grant(a, s, 2);
  ASSERT_EQ(g2.count, 2u) << "the released slots are free again";
  ASSERT_EQ(k.port_mod_refs(a, s, MACH_PORT_RIGHT_SEND, -1), KERN_SUCCESS);
  EXPECT_TRUE(contains(hooks.closed, g2.id));
  CreditGrant g3 = k.credit_grant(a, s, 2);
  ASSERT_EQ(g3.count, 2u);
  ASSERT_EQ(k.port_deallocate(a, s), KERN_SUCCESS);
  EXPECT_TRUE(contains(hooks.closed, g3.id));
  EXPECT_EQ(type_of(a, s), 0u);
  mach_port_rights_t srights = 9;
  ASSERT_EQ(k.port_get_srights(b, p, &srights), KERN_SUCCESS);
  EXPECT_EQ(srights, 0u) << "closed credits dropped their send rights";
  for (int i = 0; i < 5; i++)
    EXPECT_EQ(send(b, simple(p, i, MACH_MSG_TYPE_MAKE_SEND), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS)
        << "every reserved slot is back";
}

TEST_F(CreditTest, PortDeath_RevokesCredits_LaterPostsAreAcceptedAndDestroyed) {
  CreditGrant g = connect_with_credit(2);
  hooks.unused[g.id] = 0;  // both slots taken: two messages on their way
  ASSERT_EQ(k.credit_post(a, g.id, simple_bytes(s, 1)), MACH_MSG_SUCCESS);
  // (the client took the second slot; its message is still in the ring)

  ASSERT_EQ(k.port_mod_refs(b, p, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(hooks.revoked, (std::vector<CreditId>{g.id}));
  EXPECT_TRUE(hooks.closed.empty());
  EXPECT_EQ(k.stats().messages, 0u) << "the queued message died with the port";

  EXPECT_EQ(k.credit_post(a, g.id, simple_bytes(s, 2)), MACH_MSG_SUCCESS)
      << "sent before the port died, as far as the sender knows: accepted";
  EXPECT_EQ(k.stats().messages, 0u) << "and destroyed";
  EXPECT_EQ(hooks.closed, (std::vector<CreditId>{g.id}));
  EXPECT_EQ(type_of(a, s), MACH_PORT_TYPE_DEAD_NAME);
}

TEST_F(CreditTest, TaskDeath_DropsCreditsWithoutRevoking) {
  CreditGrant g = connect_with_credit(2);
  kill(a);
  EXPECT_TRUE(hooks.revoked.empty());
  EXPECT_EQ(hooks.closed, (std::vector<CreditId>{g.id}));
  EXPECT_EQ(k.credit_post(a, g.id, simple_bytes(s, 1)), MACH_SEND_INVALID_DEST);
  for (int i = 0; i < 5; i++)
    EXPECT_EQ(send(b, simple(p, i, MACH_MSG_TYPE_MAKE_SEND), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
}

}  // namespace
}  // namespace machd::ipc::test
