// tests/ipc/msg_test.cc — mach_msg header checks, header rights, delivery.
#include "harness.h"

namespace machd::ipc::test {
namespace {

using MsgTest = IpcTest;

TEST_F(MsgTest, SimpleMessageArrivesWithHeaderSwappedAndMinimalTrailer) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  Msg m = simple(s, 4242);
  m.data = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  Received r = receive(b, p);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_id, 4242);
  EXPECT_EQ(r.hdr.msgh_size, 32u);
  EXPECT_EQ(r.hdr.msgh_local_port, p) << "the destination comes back as the receive name";
  EXPECT_EQ(r.hdr.msgh_remote_port, MACH_PORT_NULL);
  EXPECT_EQ(r.hdr.msgh_voucher_port, MACH_PORT_NULL);
  EXPECT_EQ(r.hdr.msgh_bits, MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND));
  EXPECT_EQ(r.data, m.data);
  EXPECT_EQ(r.trailer_bytes, sizeof(mach_msg_trailer_t));
  EXPECT_EQ(r.trailer.msgh_trailer_type, MACH_MSG_TRAILER_FORMAT_0);
  EXPECT_EQ(r.trailer.msgh_trailer_size, sizeof(mach_msg_trailer_t));
}

TEST_F(MsgTest, ReplyRightIsCopiedOutAsSendOnceWithItsTypeBits) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t reply = recv_port(a);
  Msg m = simple(s);
  m.local = reply;
  m.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  Received r = receive(b, p);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(MACH_MSGH_BITS_REMOTE(r.hdr.msgh_bits), MACH_MSG_TYPE_PORT_SEND_ONCE);
  EXPECT_EQ(MACH_MSGH_BITS_LOCAL(r.hdr.msgh_bits), MACH_MSG_TYPE_PORT_SEND);
  EXPECT_EQ(type_of(b, r.hdr.msgh_remote_port), MACH_PORT_TYPE_SEND_ONCE);
  // Reply through the send-once right: it never blocks and is consumed.
  Msg back = simple(r.hdr.msgh_remote_port, 7, MACH_MSG_TYPE_MOVE_SEND_ONCE);
  ASSERT_EQ(send(b, back), MACH_MSG_SUCCESS);
  EXPECT_EQ(type_of(b, r.hdr.msgh_remote_port), 0u);
  Received rr = receive(a, reply);
  ASSERT_EQ(rr.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(rr.hdr.msgh_id, 7);
  EXPECT_EQ(rr.hdr.msgh_bits, MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND_ONCE));
  EXPECT_EQ(status(a, reply).mps_sorights, 0u);
}

TEST_F(MsgTest, MoveSendConsumesOneUserReferenceAndCopySendNone) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  ASSERT_EQ(k.port_mod_refs(a, s, MACH_PORT_RIGHT_SEND, 1), KERN_SUCCESS);
  ASSERT_EQ(send(a, simple(s, 1, MACH_MSG_TYPE_COPY_SEND)), MACH_MSG_SUCCESS);
  EXPECT_EQ(refs(a, s, MACH_PORT_RIGHT_SEND), 2u);
  ASSERT_EQ(send(a, simple(s, 2, MACH_MSG_TYPE_MOVE_SEND)), MACH_MSG_SUCCESS);
  EXPECT_EQ(refs(a, s, MACH_PORT_RIGHT_SEND), 1u);
  ASSERT_EQ(send(a, simple(s, 3, MACH_MSG_TYPE_MOVE_SEND)), MACH_MSG_SUCCESS);
  EXPECT_EQ(type_of(a, s), 0u);
  for (int i = 1; i <= 3; i++) EXPECT_EQ(receive(b, p).hdr.msgh_id, i);
}

TEST_F(MsgTest, MakeSendToOwnPortBumpsMakeSendCount) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  ASSERT_EQ(send(a, simple(p, 1, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  ASSERT_EQ(send(a, simple(p, 2, MACH_MSG_TYPE_MAKE_SEND_ONCE)), MACH_MSG_SUCCESS);
  EXPECT_EQ(status(a, p).mps_mscount, 1u);
  Received r1 = receive(a, p);
  Received r2 = receive(a, p);
  EXPECT_EQ(r1.hdr.msgh_bits, MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND));
  EXPECT_EQ(r2.hdr.msgh_bits, MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND_ONCE));
  EXPECT_EQ(status(a, p).mps_srights, 0);
  EXPECT_EQ(status(a, p).mps_sorights, 0u);
}

TEST_F(MsgTest, SendSizeChecks) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  MsgArgs args;
  args.options = MACH_SEND_MSG;
  args.send = simple(p, 1, MACH_MSG_TYPE_MAKE_SEND).encode();
  args.send->msg.resize(20);
  EXPECT_EQ(k.msg(a, next_waiter(), std::move(args), now_).done.result, MACH_SEND_MSG_TOO_SMALL);
  MsgArgs odd;
  odd.options = MACH_SEND_MSG;
  odd.send = simple(p, 1, MACH_MSG_TYPE_MAKE_SEND).encode();
  odd.send->msg.resize(26);
  EXPECT_EQ(k.msg(a, next_waiter(), std::move(odd), now_).done.result, MACH_SEND_MSG_TOO_SMALL);
  MsgArgs big;
  big.options = MACH_SEND_MSG;
  big.send = simple(p, 1, MACH_MSG_TYPE_MAKE_SEND).encode();
  big.send->msg.resize(64u << 20);
  EXPECT_EQ(k.msg(a, next_waiter(), std::move(big), now_).done.result, MACH_SEND_TOO_LARGE);
  MsgArgs none;
  none.options = MACH_SEND_MSG;
  EXPECT_EQ(k.msg(a, next_waiter(), std::move(none), now_).done.result, MACH_SEND_MSG_TOO_SMALL);
  EXPECT_EQ(status(a, p).mps_mscount, 0u) << "nothing was copied in";
}

TEST_F(MsgTest, HeaderDispositionChecks) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  Msg m = simple(p, 1, MACH_MSG_TYPE_MOVE_RECEIVE);
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_HEADER);
  m = simple(p, 1, MACH_MSG_TYPE_COPY_RECEIVE);
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_HEADER);
  m = simple(p, 1, 0);
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_HEADER);
  m = simple(p, 1, MACH_MSG_TYPE_MAKE_SEND);
  m.local = p;  // a reply name without a reply disposition
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_HEADER);
  m.local_disp = MACH_MSG_TYPE_MOVE_RECEIVE;
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_HEADER);
  EXPECT_EQ(type_of(a, p), MACH_PORT_TYPE_RECEIVE);
}

// XNU ipc_kmsg_copyin_header_validate: a bit outside MACH_MSGH_BITS_USER is
// MACH_SEND_INVALID_HEADER, before any right is taken.
TEST_F(MsgTest, HeaderBitsOutsideUserMaskAreInvalidHeader) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t s = port_with_send(a);
  for (uint32_t bit : {MACH_MSGH_BITS_RAISEIMP, MACH_MSGH_BITS_CIRCULAR, 0x40000000u, 0x00000020u,
                       0x00002000u, 0x00200000u, 0x0000e000u}) {
    Msg m = simple(p, 1, MACH_MSG_TYPE_MAKE_SEND);
    m.extra_bits = bit;
    EXPECT_EQ(send(a, m), MACH_SEND_INVALID_HEADER) << std::hex << bit;
    Msg moved = simple(s, 1, MACH_MSG_TYPE_MOVE_SEND);
    moved.extra_bits = bit;
    EXPECT_EQ(send(a, moved), MACH_SEND_INVALID_HEADER) << std::hex << bit;
  }
  EXPECT_EQ(status(a, p).mps_mscount, 0u) << "nothing was copied in";
  EXPECT_EQ(status(a, p).mps_msgcount, 0u);
  EXPECT_EQ(refs(a, s, MACH_PORT_RIGHT_SEND), 1u) << "the moved send right stayed";
  EXPECT_EQ(k.port_deallocate(a, s), KERN_SUCCESS);
}

TEST_F(MsgTest, InvalidDestinationConsumesNothing) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t reply = port_with_send(a);
  Msg m = simple(MACH_PORT_NULL);
  m.local = reply;
  m.local_disp = MACH_MSG_TYPE_MOVE_SEND;
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_DEST);
  m.remote = 0x7703;
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_DEST);
  m.remote = p;  // a receive right cannot be the COPY_SEND destination
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(refs(a, reply, MACH_PORT_RIGHT_SEND), 1u);
}

TEST_F(MsgTest, InvalidReplyConsumesNothing) {
  TaskId a = task();
  mach_port_name_t p = port_with_send(a);
  mach_port_name_t other = recv_port(a);
  Msg m = simple(p, 1, MACH_MSG_TYPE_MOVE_SEND);
  m.local = 0x7703;
  m.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_REPLY);
  m.local = other;
  m.local_disp = MACH_MSG_TYPE_COPY_SEND;
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_REPLY);
  EXPECT_EQ(refs(a, p, MACH_PORT_RIGHT_SEND), 1u) << "the destination's move did not happen";
  // Dead reply names are allowed and arrive as MACH_PORT_DEAD.
  m.local = MACH_PORT_DEAD;
  m.local_disp = MACH_MSG_TYPE_COPY_SEND;
  m.remote_disp = MACH_MSG_TYPE_COPY_SEND;
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  Received r = receive(a, p);
  EXPECT_EQ(r.hdr.msgh_remote_port, MACH_PORT_DEAD);
  EXPECT_EQ(MACH_MSGH_BITS_REMOTE(r.hdr.msgh_bits), MACH_MSG_TYPE_PORT_SEND);
}

TEST_F(MsgTest, SendToDeadNameIsInvalidDestAndSendRightBecomesDeadName) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  ASSERT_EQ(k.port_mod_refs(b, p, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(send(a, simple(s)), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(type_of(a, s), MACH_PORT_TYPE_DEAD_NAME);
  EXPECT_EQ(send(a, simple(s)), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(k.port_deallocate(a, s), KERN_SUCCESS);
}

TEST_F(MsgTest, SendToDeadSendOnceRightSucceedsAndDestroysTheMessage) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t so = give_send_once(b, p, a);
  mach_port_name_t carried = port_with_send(a);
  ASSERT_EQ(k.port_mod_refs(b, p, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  Msg m = simple(so, 1, MACH_MSG_TYPE_MOVE_SEND_ONCE);
  m.local = carried;
  m.local_disp = MACH_MSG_TYPE_MOVE_SEND;
  EXPECT_EQ(send(a, m), MACH_MSG_SUCCESS);
  EXPECT_EQ(type_of(a, so), 0u);
  EXPECT_EQ(type_of(a, carried), MACH_PORT_TYPE_RECEIVE) << "the message's rights were destroyed";
}

TEST_F(MsgTest, VoucherFieldRoundTripsWithoutVoucherBitsAndNullVoucherAccepted) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  Msg m = simple(p, 1, MACH_MSG_TYPE_MAKE_SEND);
  m.voucher = 0x1234;
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  m.voucher = MACH_PORT_NULL;
  m.voucher_disp = MACH_MSG_TYPE_COPY_SEND;
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  m.voucher = recv_port(a);
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_VOUCHER) << "a receive right is no voucher";
  m.voucher = p;
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_DEST) << "the destination's name as voucher needs a send disposition";
  m.voucher = MACH_PORT_NULL;
  m.voucher_disp = MACH_MSG_TYPE_MAKE_SEND;
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_VOUCHER);
  Received first = receive(a, p);
  EXPECT_EQ(first.hdr.msgh_voucher_port, 0x1234u) << "XNU lets the once-reserved field round-trip";
  EXPECT_EQ(MACH_MSGH_BITS_VOUCHER(first.hdr.msgh_bits), 0u);
  Received second = receive(a, p);
  EXPECT_EQ(second.hdr.msgh_voucher_port, MACH_PORT_NULL);
  EXPECT_EQ(MACH_MSGH_BITS_VOUCHER(second.hdr.msgh_bits), 0u) << "no MACH_RCV_VOUCHER: no voucher bits";
}

TEST_F(MsgTest, SameNameAsDestinationAndReply) {
  TaskId a = task();
  mach_port_name_t p = port_with_send(a);
  Msg m = simple(p, 1, MACH_MSG_TYPE_MOVE_SEND);
  m.local = p;
  m.local_disp = MACH_MSG_TYPE_MOVE_SEND;
  EXPECT_EQ(send(a, m), MACH_SEND_INVALID_DEST) << "two moves need two user references";
  m.local_disp = MACH_MSG_TYPE_COPY_SEND;
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS) << "a copy and a move of the last reference";
  EXPECT_EQ(type_of(a, p), MACH_PORT_TYPE_RECEIVE);
  Received r = receive(a, p);
  EXPECT_EQ(r.hdr.msgh_remote_port, p);
  EXPECT_EQ(r.hdr.msgh_local_port, p);
  EXPECT_EQ(refs(a, p, MACH_PORT_RIGHT_SEND), 1u);
  EXPECT_EQ(k.port_deallocate(a, p), KERN_SUCCESS);
}

// XNU ipc_mqueue_copyin: any name without a receive right or a port set,
// a dead name included, is MACH_RCV_INVALID_NAME.
TEST_F(MsgTest, ReceiveOnAnythingButReceiveRightOrSetIsInvalidName) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  EXPECT_EQ(receive(a, s).mr, MACH_RCV_INVALID_NAME);
  ASSERT_EQ(k.port_destroy(b, p), KERN_SUCCESS);
  EXPECT_EQ(receive(a, s).mr, MACH_RCV_INVALID_NAME) << "a send right to a dead port";
  EXPECT_EQ(type_of(a, s), MACH_PORT_TYPE_DEAD_NAME);
  EXPECT_EQ(receive(a, s).mr, MACH_RCV_INVALID_NAME) << "a dead name";
  EXPECT_EQ(receive(a, MACH_PORT_NULL).mr, MACH_RCV_INVALID_NAME);
  EXPECT_EQ(receive(a, 0x9999).mr, MACH_RCV_INVALID_NAME);
}

}  // namespace
}  // namespace machd::ipc::test
