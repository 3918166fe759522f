// tests/ipc/rcv_test.cc — receive buffer sizes (MACH_RCV_LARGE,
// MACH_RCV_TOO_LARGE) and trailers.
#include "harness.h"

namespace machd::ipc::test {
namespace {

using RcvTest = IpcTest;

TEST_F(RcvTest, TooLargeWithRcvLargeLeavesTheMessageAndReportsItsSize) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  Msg m = simple(p, 1, MACH_MSG_TYPE_MAKE_SEND);
  m.data.assign(100, 7);
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  Received r = receive(a, p, MACH_RCV_LARGE, 64);
  EXPECT_EQ(r.mr, MACH_RCV_TOO_LARGE);
  ASSERT_TRUE(r.has_header);
  EXPECT_EQ(r.hdr.msgh_size, 124u) << "the needed size, trailer not included";
  EXPECT_EQ(r.hdr.msgh_local_port, MACH_PORT_NULL);
  Received id = receive(a, p, MACH_RCV_LARGE | MACH_RCV_LARGE_IDENTITY, 64);
  EXPECT_EQ(id.mr, MACH_RCV_TOO_LARGE);
  EXPECT_EQ(id.hdr.msgh_local_port, p);
  // 124 + 8 (minimal trailer) = 132 bytes needed.
  EXPECT_EQ(receive(a, p, MACH_RCV_LARGE, 131).mr, MACH_RCV_TOO_LARGE);
  Received ok = receive(a, p, MACH_RCV_LARGE, 132);
  EXPECT_EQ(ok.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(ok.data, m.data);
}

TEST_F(RcvTest, TooLargeWithoutRcvLargeDestroysTheMessageAndReturnsItsHeader) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t carried = port_with_send(a);
  mach_port_name_t reply = recv_port(a);
  Msg m = simple(p, 3, MACH_MSG_TYPE_MAKE_SEND);
  m.local = reply;
  m.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  m.descs = {Desc::port(carried, MACH_MSG_TYPE_MOVE_SEND), Desc::memory({1, 2, 3, 4})};
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  mach_msg_option_t seq = MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SEQNO);
  Received r = receive(a, p, seq, 48);
  EXPECT_EQ(r.mr, MACH_RCV_TOO_LARGE);
  ASSERT_TRUE(r.has_header);
  EXPECT_EQ(r.hdr.msgh_size, sizeof(mach_msg_header_t));
  EXPECT_EQ(r.hdr.msgh_local_port, p);
  EXPECT_EQ(r.hdr.msgh_remote_port, MACH_PORT_NULL) << "the reply right was destroyed";
  EXPECT_EQ(r.hdr.msgh_id, 3);
  EXPECT_EQ(r.trailer_bytes, 12u);
  EXPECT_EQ(r.trailer.msgh_seqno, 0u);
  EXPECT_EQ(type_of(a, carried), MACH_PORT_TYPE_RECEIVE) << "body rights destroyed";
  EXPECT_EQ(receive(a, reply).hdr.msgh_id, MACH_NOTIFY_SEND_ONCE);
  EXPECT_EQ(receive(a, p).mr, MACH_RCV_TIMED_OUT) << "dequeued";
  EXPECT_EQ(k.stats().ool_payloads, 0u);
}

TEST_F(RcvTest, BlockedReceiverWithTooSmallBufferAndRcvLargeLetsTheNextOneHaveIt) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t s = give_send(a, p, b);
  WaiterId small = next_waiter(), big = next_waiter();
  ASSERT_TRUE(receive(a, p, MACH_RCV_LARGE, 30, true, small).blocked);
  ASSERT_TRUE(receive(a, p, MACH_RCV_LARGE, 4096, true, big).blocked);
  Msg m = simple(s, 4);
  m.data.assign(40, 1);
  ASSERT_EQ(send(b, m), MACH_MSG_SUCCESS);
  auto c1 = completion(small);
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->mr, MACH_RCV_TOO_LARGE);
  EXPECT_EQ(c1->hdr.msgh_size, 64u);
  auto c2 = completion(big);
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(c2->hdr.msgh_id, 4);
}

TEST_F(RcvTest, TrailerElementsHaveXnuSizesAndContents) {
  TaskId a = task(4321), b = task(8765);
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  ASSERT_EQ(k.port_set_context(b, p, 0xabcdef0123ull), KERN_SUCCESS);
  struct Case {
    uint32_t elements;
    uint32_t size;
  } cases[] = {{MACH_RCV_TRAILER_NULL, 8},  {MACH_RCV_TRAILER_SEQNO, 12}, {MACH_RCV_TRAILER_SENDER, 20},
               {MACH_RCV_TRAILER_AUDIT, 52}, {MACH_RCV_TRAILER_CTX, 60},  {MACH_RCV_TRAILER_AV, 68},
               {MACH_RCV_TRAILER_LABELS, 68}};
  uint32_t seq = 0;
  for (const Case& c : cases) {
    ASSERT_EQ(send(a, simple(s, 1)), MACH_MSG_SUCCESS);
    Received r = receive(b, p, MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
                                   MACH_RCV_TRAILER_ELEMENTS(c.elements));
    ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
    EXPECT_EQ(r.trailer_bytes, c.size);
    EXPECT_EQ(r.trailer.msgh_trailer_size, c.size);
    EXPECT_EQ(r.trailer.msgh_trailer_type, MACH_MSG_TRAILER_FORMAT_0);
    if (c.size >= 12) {
      EXPECT_EQ(r.trailer.msgh_seqno, seq);
    }
    if (c.size >= 20) {
      EXPECT_EQ(r.trailer.msgh_sender.val[0], 501u);
      EXPECT_EQ(r.trailer.msgh_sender.val[1], 20u);
    }
    if (c.size >= 52) {
      const audit_token_t& t = r.trailer.msgh_audit;
      EXPECT_EQ(t.val[0], 0xFFFFFFFFu);  // auid
      EXPECT_EQ(t.val[1], 501u);
      EXPECT_EQ(t.val[2], 20u);
      EXPECT_EQ(t.val[3], 501u);
      EXPECT_EQ(t.val[4], 20u);
      EXPECT_EQ(t.val[5], 4321u) << "the sender's pid, not the receiver's";
      EXPECT_EQ(t.val[7], 7u);
    }
    if (c.size >= 60) {
      const uint64_t ctx = r.trailer.msgh_context;
      EXPECT_EQ(ctx, 0xabcdef0123ull);
    }
    if (c.size >= 68) {
      EXPECT_EQ(r.trailer.msgh_ad, 0);
    }
    seq++;
  }
}

TEST_F(RcvTest, KernelNotificationsCarryTheKernelIdentity) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  give_send_once(a, p, a);
  std::vector<mach_port_name_t> names;
  std::vector<mach_port_type_t> types;
  ASSERT_EQ(k.port_names(a, &names, &types), KERN_SUCCESS);
  for (size_t i = 0; i < names.size(); i++)
    if (types[i] == MACH_PORT_TYPE_SEND_ONCE) {
      ASSERT_EQ(k.port_deallocate(a, names[i]), KERN_SUCCESS);
    }
  Received r = receive(a, p, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT));
  ASSERT_EQ(r.hdr.msgh_id, MACH_NOTIFY_SEND_ONCE);
  EXPECT_EQ(r.trailer.msgh_sender.val[0], 0u);
  EXPECT_EQ(r.trailer.msgh_sender.val[1], 1u) << "KERNEL_SECURITY_TOKEN is {0, 1}";
  for (int i = 0; i < 8; i++) EXPECT_EQ(r.trailer.msgh_audit.val[i], 0u);
}

// XNU ipc_mqueue_peek_locked reports the kernel copy's msgh_size: header 8
// bytes longer (xnu/tests/ipc/port_peek.c), port descriptors 16 bytes, not 12.
TEST_F(RcvTest, PeekReportsTheKernelMessageSize) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t q = recv_port(a);
  Msg m = simple(p, 57, MACH_MSG_TYPE_MAKE_SEND);
  m.descs = {Desc::port(q, MACH_MSG_TYPE_MAKE_SEND), Desc::memory({1, 2, 3, 4})};
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  mach_port_seqno_t seq = 0;
  mach_msg_size_t size = 0;
  mach_msg_id_t id = 0;
  std::vector<uint8_t> trailer;
  ASSERT_EQ(k.port_peek(a, p, 0, &seq, &size, &id, &trailer), KERN_SUCCESS);
  const mach_msg_size_t user = 24 + 4 + 12 + 16;
  EXPECT_EQ(size, user + 8 + 4);
  Received r = receive(a, p);
  EXPECT_EQ(r.hdr.msgh_size, user) << "a receiver sees the user size";
  EXPECT_EQ(k.port_destroy(a, r.descs[0].name), KERN_SUCCESS);
}

TEST_F(RcvTest, PeekShowsAQueuedMessageWithoutTakingIt) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  Msg m = simple(p, 55, MACH_MSG_TYPE_MAKE_SEND);
  m.data.assign(16, 0);
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  ASSERT_EQ(send(a, simple(p, 56, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  mach_port_seqno_t seq = 0;
  mach_msg_size_t size = 0;
  mach_msg_id_t id = 0;
  std::vector<uint8_t> trailer;
  ASSERT_EQ(k.port_peek(a, p, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SEQNO), &seq, &size, &id, &trailer),
            KERN_SUCCESS);
  EXPECT_EQ(seq, 0u);
  EXPECT_EQ(size, 48u) << "the kernel size: 24-byte header + 8 (XNU USER_HEADER_SIZE_DELTA) + 16";
  EXPECT_EQ(id, 55);
  EXPECT_EQ(trailer.size(), 12u);
  seq = 1;
  ASSERT_EQ(k.port_peek(a, p, 0, &seq, &size, &id, &trailer), KERN_SUCCESS);
  EXPECT_EQ(id, 56);
  seq = 2;
  EXPECT_EQ(k.port_peek(a, p, 0, &seq, &size, &id, &trailer), KERN_FAILURE);
  EXPECT_EQ(k.port_peek(a, p, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_CTX), &seq, &size, &id, &trailer),
            KERN_INVALID_VALUE);
  EXPECT_EQ(receive(a, p).hdr.msgh_id, 55);
}

}  // namespace
}  // namespace machd::ipc::test
