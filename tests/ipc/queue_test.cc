// tests/ipc/queue_test.cc — qlimit, blocked senders and receivers, timeouts,
// sequence numbers, port death while threads wait.
#include "harness.h"

namespace machd::ipc::test {
namespace {

using QueueTest = IpcTest;

TEST_F(QueueTest, DefaultQlimitIsFiveAndPollingSenderTimesOutWithItsMessageBack) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  EXPECT_EQ(status(b, p).mps_qlimit, 5u);
  for (int i = 0; i < 5; i++) ASSERT_EQ(send(a, simple(s, i), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  mach_port_name_t reply = recv_port(a);
  Msg m = simple(s, 99, MACH_MSG_TYPE_MOVE_SEND);
  m.local = reply;
  m.local_disp = MACH_MSG_TYPE_MAKE_SEND;
  Received r = send_full(a, m, MACH_SEND_TIMEOUT, 0);
  EXPECT_EQ(r.mr, MACH_SEND_TIMED_OUT);
  EXPECT_TRUE(r.returned_send);
  // Pseudo-receive: the rights are back, remote = destination, local = reply.
  // The moved last reference freed the name, so the right comes back under
  // the same index with the next generation (as XNU's LIFO free list does).
  EXPECT_EQ(r.hdr.msgh_remote_port, s + 4);
  EXPECT_EQ(r.hdr.msgh_local_port, reply);
  EXPECT_EQ(MACH_MSGH_BITS_REMOTE(r.hdr.msgh_bits), MACH_MSG_TYPE_PORT_SEND);
  EXPECT_EQ(MACH_MSGH_BITS_LOCAL(r.hdr.msgh_bits), MACH_MSG_TYPE_PORT_SEND);
  EXPECT_EQ(r.hdr.msgh_id, 99);
  EXPECT_EQ(refs(a, s + 4, MACH_PORT_RIGHT_SEND), 1u);
  EXPECT_EQ(type_of(a, reply), MACH_PORT_TYPE_SEND_RECEIVE);
  EXPECT_EQ(status(b, p).mps_msgcount, 5u);
}

TEST_F(QueueTest, SendToFullQueueBlocksThenSucceedsWhenDrained) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  for (int i = 0; i < 5; i++) ASSERT_EQ(send(a, simple(s, i)), MACH_MSG_SUCCESS);
  WaiterId w1 = next_waiter(), w2 = next_waiter();
  EXPECT_EQ(send(a, simple(s, 5), 0, 0, w1), kBlocked);
  EXPECT_EQ(send(a, simple(s, 6), 0, 0, w2), kBlocked);
  EXPECT_EQ(k.stats().waiters, 2u);
  EXPECT_EQ(receive(b, p).hdr.msgh_id, 0);
  auto c1 = completion(w1);
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->mr, MACH_MSG_SUCCESS);
  EXPECT_FALSE(completion(w2)) << "one slot frees one sender, in FIFO order";
  EXPECT_EQ(receive(b, p).hdr.msgh_id, 1);
  ASSERT_TRUE(completion(w2));
  for (int i = 2; i <= 6; i++) EXPECT_EQ(receive(b, p).hdr.msgh_id, i) << "order kept";
  EXPECT_EQ(receive(b, p).mr, MACH_RCV_TIMED_OUT);
}

TEST_F(QueueTest, SendOnceDestinationNeverBlocks) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  for (int i = 0; i < 5; i++) ASSERT_EQ(send(a, simple(s, i)), MACH_MSG_SUCCESS);
  for (int i = 0; i < 20; i++) {
    mach_port_name_t so = give_send_once(b, p, a);
    ASSERT_EQ(send(a, simple(so, 100 + i, MACH_MSG_TYPE_MOVE_SEND_ONCE), MACH_SEND_TIMEOUT, 0),
              MACH_MSG_SUCCESS);
  }
  EXPECT_EQ(status(b, p).mps_msgcount, 25u);
}

TEST_F(QueueTest, SendTimeoutExpiresAndReturnsTheMessage) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_limits_t lim{0};
  ASSERT_EQ(k.port_set_attributes(b, p, MACH_PORT_LIMITS_INFO, reinterpret_cast<integer_t*>(&lim), 1),
            KERN_SUCCESS);
  WaiterId w = next_waiter();
  EXPECT_EQ(send(a, simple(s, 1, MACH_MSG_TYPE_MOVE_SEND), MACH_SEND_TIMEOUT, 50, w), kBlocked);
  ASSERT_TRUE(k.next_deadline());
  EXPECT_EQ(*k.next_deadline(), now_ + 50'000'000);
  k.expire(now_ + 49'000'000);
  EXPECT_FALSE(completion(w));
  k.expire(now_ + 50'000'000);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mr, MACH_SEND_TIMED_OUT);
  EXPECT_TRUE(c->returned_send);
  EXPECT_EQ(c->hdr.msgh_remote_port, s + 4);
  EXPECT_EQ(refs(a, s + 4, MACH_PORT_RIGHT_SEND), 1u);
  EXPECT_FALSE(k.next_deadline());
}

TEST_F(QueueTest, InterruptedSenderGetsItsMessageBack) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_limits_t lim{0};
  ASSERT_EQ(k.port_set_attributes(b, p, MACH_PORT_LIMITS_INFO, reinterpret_cast<integer_t*>(&lim), 1),
            KERN_SUCCESS);
  WaiterId w = next_waiter();
  EXPECT_EQ(send(a, simple(s, 1, MACH_MSG_TYPE_MOVE_SEND), 0, 0, w), kBlocked);
  k.abort_wait(w, MACH_SEND_INTERRUPTED);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mr, MACH_SEND_INTERRUPTED);
  EXPECT_TRUE(c->returned_send);
  EXPECT_EQ(c->hdr.msgh_remote_port, s + 4);
  EXPECT_EQ(refs(a, s + 4, MACH_PORT_RIGHT_SEND), 1u);
}

TEST_F(QueueTest, BlockedSenderSucceedsAndMessageIsDestroyedWhenReceiveRightDies) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t carried = port_with_send(a);
  for (int i = 0; i < 5; i++) ASSERT_EQ(send(a, simple(s, i)), MACH_MSG_SUCCESS);
  Msg m = simple(s, 9);
  m.local = carried;
  m.local_disp = MACH_MSG_TYPE_MOVE_SEND;
  WaiterId w = next_waiter();
  ASSERT_EQ(send(a, m, 0, 0, w), kBlocked);
  ASSERT_EQ(k.port_mod_refs(b, p, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mr, MACH_MSG_SUCCESS) << "XNU: the blocked sender returns success";
  EXPECT_FALSE(c->returned_send);
  EXPECT_EQ(type_of(a, carried), MACH_PORT_TYPE_RECEIVE) << "the message's send right was destroyed";
  EXPECT_EQ(k.stats().messages, 0u);
}

TEST_F(QueueTest, RaisingQlimitLetsBlockedSendersIn) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  for (int i = 0; i < 5; i++) ASSERT_EQ(send(a, simple(s, i)), MACH_MSG_SUCCESS);
  WaiterId w1 = next_waiter(), w2 = next_waiter(), w3 = next_waiter();
  ASSERT_EQ(send(a, simple(s), 0, 0, w1), kBlocked);
  ASSERT_EQ(send(a, simple(s), 0, 0, w2), kBlocked);
  ASSERT_EQ(send(a, simple(s), 0, 0, w3), kBlocked);
  mach_port_limits_t lim{7};
  ASSERT_EQ(k.port_set_attributes(b, p, MACH_PORT_LIMITS_INFO, reinterpret_cast<integer_t*>(&lim), 1),
            KERN_SUCCESS);
  EXPECT_TRUE(completion(w1));
  EXPECT_TRUE(completion(w2));
  EXPECT_FALSE(completion(w3));
  EXPECT_EQ(status(b, p).mps_msgcount, 7u);
  lim.mpl_qlimit = MACH_PORT_QLIMIT_MAX + 1;
  EXPECT_EQ(k.port_set_attributes(b, p, MACH_PORT_LIMITS_INFO, reinterpret_cast<integer_t*>(&lim), 1),
            KERN_INVALID_VALUE);
  mach_port_limits_t got{};
  mach_msg_type_number_t n = 1;
  ASSERT_EQ(k.port_get_attributes(b, p, MACH_PORT_LIMITS_INFO, reinterpret_cast<integer_t*>(&got), &n),
            KERN_SUCCESS);
  EXPECT_EQ(got.mpl_qlimit, 7u);
}

TEST_F(QueueTest, SeqnoCountsDequeuedMessagesAndSetSeqnoRebases) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  for (int i = 0; i < 3; i++) ASSERT_EQ(send(a, simple(p, i, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  mach_msg_option_t seq = MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
                          MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SEQNO);
  EXPECT_EQ(receive(a, p, seq).trailer.msgh_seqno, 0u);
  EXPECT_EQ(receive(a, p, seq).trailer.msgh_seqno, 1u);
  ASSERT_EQ(k.port_set_seqno(a, p, 40), KERN_SUCCESS);
  EXPECT_EQ(receive(a, p, seq).trailer.msgh_seqno, 40u);
  EXPECT_EQ(status(a, p).mps_seqno, 41u);
}

TEST_F(QueueTest, EachMessageGoesToExactlyOneReceiverInFifoOrder) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  WaiterId w1 = next_waiter(), w2 = next_waiter();
  ASSERT_TRUE(receive(b, p, 0, 4096, true, w1).blocked);
  ASSERT_TRUE(receive(b, p, 0, 4096, true, w2).blocked);
  ASSERT_EQ(send(a, simple(s, 1)), MACH_MSG_SUCCESS);
  auto c1 = completion(w1);
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->hdr.msgh_id, 1);
  EXPECT_FALSE(completion(w2));
  ASSERT_EQ(send(a, simple(s, 2)), MACH_MSG_SUCCESS);
  auto c2 = completion(w2);
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->hdr.msgh_id, 2);
  EXPECT_EQ(status(b, p).mps_msgcount, 0u);
}

TEST_F(QueueTest, ReceiveTimeoutZeroPollsAndNonZeroExpires) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  EXPECT_EQ(receive(a, p).mr, MACH_RCV_TIMED_OUT);
  WaiterId w = next_waiter();
  ASSERT_TRUE(receive(a, p, MACH_RCV_TIMEOUT, 4096, true, w, 10).blocked);
  k.expire(now_ + 10'000'000);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mr, MACH_RCV_TIMED_OUT);
}

TEST_F(QueueTest, InterruptedReceiverGetsRcvInterrupted) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  WaiterId w = next_waiter();
  ASSERT_TRUE(receive(a, p, 0, 4096, true, w).blocked);
  k.abort_wait(w, MACH_RCV_INTERRUPTED);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mr, MACH_RCV_INTERRUPTED);
  k.abort_wait(w, MACH_RCV_INTERRUPTED);  // no longer blocked: no-op
  EXPECT_FALSE(completion(w));
}

TEST_F(QueueTest, BlockedReceiverGetsPortChangedWhenReceiveRightDestroyed) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  WaiterId w = next_waiter();
  ASSERT_TRUE(receive(a, p, 0, 4096, true, w).blocked);
  ASSERT_EQ(k.port_destroy(a, p), KERN_SUCCESS);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mr, MACH_RCV_PORT_CHANGED);
}

TEST_F(QueueTest, BlockedReceiverGetsPortChangedWhenReceiveRightMoved) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(a);
  WaiterId w = next_waiter();
  ASSERT_TRUE(receive(a, p, 0, 4096, true, w).blocked);
  mach_port_name_t moved = move_receive(a, p, b);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mr, MACH_RCV_PORT_CHANGED);
  EXPECT_EQ(type_of(b, moved), MACH_PORT_TYPE_RECEIVE);
}

TEST_F(QueueTest, CombinedSendReceiveBlocksOnReceiveAndGetsTheReply) {
  TaskId client = task(), server = task();
  mach_port_name_t svc = recv_port(server);
  mach_port_name_t s = give_send(server, svc, client);
  mach_port_name_t reply = recv_port(client);
  Msg req = simple(s, 500);
  req.local = reply;
  req.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  WaiterId w = next_waiter();
  ASSERT_TRUE(rpc(client, req, reply, 0, 4096, w).blocked);
  Received in = receive(server, svc);
  ASSERT_EQ(in.mr, MACH_MSG_SUCCESS);
  ASSERT_EQ(send(server, simple(in.hdr.msgh_remote_port, 600, MACH_MSG_TYPE_MOVE_SEND_ONCE)),
            MACH_MSG_SUCCESS);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(c->hdr.msgh_id, 600);
}

TEST_F(QueueTest, CombinedSendBlockedOnFullQueueThenReceives) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t mine = recv_port(a);
  for (int i = 0; i < 5; i++) ASSERT_EQ(send(a, simple(s, i)), MACH_MSG_SUCCESS);
  WaiterId w = next_waiter();
  ASSERT_TRUE(rpc(a, simple(s, 5), mine, 0, 4096, w).blocked);
  ASSERT_EQ(receive(b, p).mr, MACH_MSG_SUCCESS);
  EXPECT_FALSE(completion(w)) << "send done, now waiting in the receive half";
  mach_port_name_t back = give_send(a, mine, b);
  ASSERT_EQ(send(b, simple(back, 77)), MACH_MSG_SUCCESS);
  auto c = completion(w);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->hdr.msgh_id, 77);
}

}  // namespace
}  // namespace machd::ipc::test

namespace machd::ipc::test {
namespace {

TEST_F(QueueTest, AUsersMessagesInFlightAreBoundedAndASendBeyondKeepsItsRights) {
  // Room for three 4 KiB messages of user 501 in machd's memory.
  k.set_user_queued_bytes_limit(3 * 4096);
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  Msg m = simple(s, 1);
  m.data.assign(4000, 0x5a);
  const uint64_t each = sizeof(mach_msg_header_t) + 4000;
  for (int i = 0; i < 3; i++) ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  EXPECT_EQ(k.user_queued_bytes(501), 3 * each);
  // The fourth would pass the bound: refused before anything is taken, the
  // moved send right included.
  Msg moved = m;
  moved.remote_disp = MACH_MSG_TYPE_MOVE_SEND;
  EXPECT_EQ(send(a, moved), MACH_SEND_NO_BUFFER);
  EXPECT_EQ(refs(a, s, MACH_PORT_RIGHT_SEND), 1u);
  EXPECT_EQ(status(b, p).mps_msgcount, 3u);
  // A receive gives its bytes back.
  EXPECT_EQ(receive(b, p, 0, 8192).mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(k.user_queued_bytes(501), 2 * each);
  EXPECT_EQ(send(a, m), MACH_MSG_SUCCESS);
  for (int i = 0; i < 3; i++) EXPECT_EQ(receive(b, p, 0, 8192).mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(k.user_queued_bytes(501), 0u);
}

TEST_F(QueueTest, MessagesDestroyedUnreceivedGiveTheirBytesBack) {
  k.set_user_queued_bytes_limit(1 << 20);
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  Msg m = simple(s, 1);
  m.data.assign(1000, 1);
  for (int i = 0; i < 4; i++) ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  EXPECT_GT(k.user_queued_bytes(501), 0u);
  kill(b);  // its receive right dies with its queue
  EXPECT_EQ(k.user_queued_bytes(501), 0u);
}

}  // namespace
}  // namespace machd::ipc::test
