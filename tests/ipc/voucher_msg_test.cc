// tests/ipc/voucher_msg_test.cc — vouchers in messages: the header checks of
// XNU ipc_kmsg_copyin_header, delivery only to a receiver that asks
// (MACH_RCV_VOUCHER), what a failed or destroyed message does with its
// voucher, and the send / receive processing of voucher.h.
#include "fake_hooks.h"
#include "fake_voucher_manager.h"

namespace machd::ipc::test {
namespace {

using VoucherMsgTest = VoucherTest;

// a holds a send right `s` to b's receive right `p`, and a voucher `v`.
struct Pair {
  TaskId a, b;
  mach_port_name_t p, s, v;
};

class VoucherMsg : public VoucherMsgTest {
 protected:
  Pair pair(const std::string& data = "v") {
    Pair x;
    x.a = task();
    x.b = task();
    x.p = recv_port(x.b);
    x.s = give_send(x.b, x.p, x.a);
    x.v = voucher(x.a, data);
    return x;
  }
  Msg with_voucher(const Pair& x, mach_msg_type_name_t disp) {
    Msg m = simple(x.s, 7);
    m.voucher = x.v;
    m.voucher_disp = disp;
    return m;
  }
};

TEST_F(VoucherMsg, AMovedVoucherArrivesAsASendRightWhenTheReceiverAsks) {
  Pair x = pair();
  ASSERT_EQ(send(x.a, with_voucher(x, MACH_MSG_TYPE_MOVE_SEND)), MACH_MSG_SUCCESS);
  EXPECT_EQ(type_of(x.a, x.v), 0u) << "moved out of the sender";
  Received r = receive(x.b, x.p, MACH_RCV_VOUCHER);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(MACH_MSGH_BITS_VOUCHER(r.hdr.msgh_bits), MACH_MSG_TYPE_MOVE_SEND);
  EXPECT_EQ(r.hdr.msgh_bits & ~MACH_MSGH_BITS_VOUCHER_MASK, MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND));
  ASSERT_TRUE(MACH_PORT_VALID(r.hdr.msgh_voucher_port));
  EXPECT_EQ(type_of(x.b, r.hdr.msgh_voucher_port), MACH_PORT_TYPE_SEND);
  EXPECT_EQ(content_of(x.b, r.hdr.msgh_voucher_port), "v");
}

TEST_F(VoucherMsg, ACopiedVoucherLeavesTheSendersRight) {
  Pair x = pair();
  ASSERT_EQ(send(x.a, with_voucher(x, MACH_MSG_TYPE_COPY_SEND)), MACH_MSG_SUCCESS);
  EXPECT_EQ(refs(x.a, x.v, MACH_PORT_RIGHT_SEND), 1u);
  Received r = receive(x.b, x.p, MACH_RCV_VOUCHER);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(MACH_MSGH_BITS_VOUCHER(r.hdr.msgh_bits), MACH_MSG_TYPE_MOVE_SEND) << "the receiver always owns it";
  EXPECT_EQ(id_of(x.b, r.hdr.msgh_voucher_port), id_of(x.a, x.v));
}

TEST_F(VoucherMsg, WithoutRcvVoucherTheVoucherIsDroppedAndItsBitsCleared) {
  Pair x = pair();
  ASSERT_EQ(send(x.a, with_voucher(x, MACH_MSG_TYPE_MOVE_SEND)), MACH_MSG_SUCCESS);
  Received r = receive(x.b, x.p);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_bits, MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND));
  EXPECT_EQ(r.hdr.msgh_voucher_port, MACH_PORT_NULL);
  EXPECT_EQ(k.stats().vouchers, 0u) << "the message held the last send right";
}

TEST_F(VoucherMsg, ANullVoucherKeepsItsBitsOnlyForAReceiverThatAsks) {
  Pair x = pair();
  Msg m = simple(x.s, 7);
  m.voucher_disp = MACH_MSG_TYPE_COPY_SEND;
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  Received asked = receive(x.b, x.p, MACH_RCV_VOUCHER);
  EXPECT_EQ(MACH_MSGH_BITS_VOUCHER(asked.hdr.msgh_bits), MACH_MSG_TYPE_COPY_SEND);
  EXPECT_EQ(asked.hdr.msgh_voucher_port, MACH_PORT_NULL);
  Received plain = receive(x.b, x.p);
  EXPECT_EQ(MACH_MSGH_BITS_VOUCHER(plain.hdr.msgh_bits), 0u);
  EXPECT_EQ(plain.hdr.msgh_voucher_port, MACH_PORT_NULL);
}

TEST_F(VoucherMsg, WithoutVoucherBitsTheFieldReachesTheReceiverUnchanged) {
  Pair x = pair();
  Msg m = simple(x.s, 7);
  m.voucher = 0x1234;  // the once-reserved field: XNU lets it round-trip
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  EXPECT_EQ(receive(x.b, x.p).hdr.msgh_voucher_port, 0x1234u);
  EXPECT_EQ(receive(x.b, x.p, MACH_RCV_VOUCHER).hdr.msgh_voucher_port, 0x1234u);
}

TEST_F(VoucherMsg, ANameThatIsNoVoucherIsInvalidVoucherAndNothingIsTaken) {
  Pair x = pair();
  mach_port_name_t plain = port_with_send(x.a);
  mach_port_name_t rcv_only = recv_port(x.a);
  mach_port_name_t so = give_send_once(x.a, rcv_only, x.a);
  for (mach_port_name_t name : {plain, rcv_only, so, x.v + 4u, 0x7777u}) {
    Msg m = with_voucher(x, MACH_MSG_TYPE_MOVE_SEND);
    m.voucher = name;
    EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_VOUCHER) << "name 0x" << std::hex << name;
  }
  Msg dead = with_voucher(x, MACH_MSG_TYPE_COPY_SEND);
  dead.voucher = MACH_PORT_DEAD;
  EXPECT_EQ(send(x.a, dead), MACH_SEND_INVALID_VOUCHER);
  for (mach_msg_type_name_t disp : {mach_msg_type_name_t(MACH_MSG_TYPE_MAKE_SEND), mach_msg_type_name_t(MACH_MSG_TYPE_MOVE_SEND_ONCE),
                                    mach_msg_type_name_t(MACH_MSG_TYPE_MAKE_SEND_ONCE), mach_msg_type_name_t(MACH_MSG_TYPE_MOVE_RECEIVE), 31u}) {
    EXPECT_EQ(send(x.a, with_voucher(x, disp)), MACH_SEND_INVALID_VOUCHER) << "disposition " << disp;
  }
  EXPECT_EQ(refs(x.a, x.v, MACH_PORT_RIGHT_SEND), 1u);
  EXPECT_EQ(refs(x.a, x.s, MACH_PORT_RIGHT_SEND), 1u);
  EXPECT_EQ(refs(x.a, plain, MACH_PORT_RIGHT_SEND), 1u);
  EXPECT_EQ(status(x.b, x.p).mps_msgcount, 0u);
}

TEST_F(VoucherMsg, TheVoucherIsCheckedBeforeTheDestination) {
  Pair x = pair();
  Msg m = with_voucher(x, MACH_MSG_TYPE_MAKE_SEND);
  m.remote_disp = MACH_MSG_TYPE_MOVE_RECEIVE;  // also a bad destination disposition
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_VOUCHER);
  Msg bad_name = with_voucher(x, MACH_MSG_TYPE_COPY_SEND);
  bad_name.voucher = recv_port(x.a);
  bad_name.remote = 0x9999;  // no such destination either
  EXPECT_EQ(send(x.a, bad_name), MACH_SEND_INVALID_VOUCHER);
  Msg header = with_voucher(x, MACH_MSG_TYPE_MAKE_SEND);
  header.local = 0xabcd;  // a reply name with no reply disposition
  EXPECT_EQ(send(x.a, header), MACH_SEND_INVALID_HEADER) << "the reply's disposition comes first";
}

TEST_F(VoucherMsg, TheReplyNameCannotBeTheVoucherName) {
  Pair x = pair();
  Msg m = with_voucher(x, MACH_MSG_TYPE_COPY_SEND);
  m.local = x.v;
  m.local_disp = MACH_MSG_TYPE_COPY_SEND;
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_REPLY);
  EXPECT_EQ(refs(x.a, x.v, MACH_PORT_RIGHT_SEND), 1u);
}

TEST_F(VoucherMsg, OneEntryForDestinationAndVoucher) {
  TaskId a = task();
  mach_port_name_t v = voucher(a, "d");
  mach_port_name_t kname = MACH_PORT_NULL;  // the voucher's receive right, to look at what arrives
  {
    std::vector<uint8_t> r = store("d");
    ASSERT_EQ(k.voucher_create(a, r, &kname), KERN_SUCCESS);
    k.port_deallocate(k.kernel_task(), kname);
  }
  Msg make = simple(v, 1, MACH_MSG_TYPE_MAKE_SEND);
  make.voucher = v;
  make.voucher_disp = MACH_MSG_TYPE_COPY_SEND;
  EXPECT_EQ(send(a, make), MACH_SEND_INVALID_DEST) << "a voucher's name used as destination needs a send disposition";
  Msg two_moves = simple(v, 1, MACH_MSG_TYPE_MOVE_SEND);
  two_moves.voucher = v;
  two_moves.voucher_disp = MACH_MSG_TYPE_MOVE_SEND;
  EXPECT_EQ(send(a, two_moves), MACH_SEND_INVALID_DEST) << "two moves need two user references";
  EXPECT_EQ(refs(a, v, MACH_PORT_RIGHT_SEND), 1u);
  Msg copy_move = simple(v, 1, MACH_MSG_TYPE_COPY_SEND);
  copy_move.voucher = v;
  copy_move.voucher_disp = MACH_MSG_TYPE_MOVE_SEND;
  EXPECT_EQ(send(a, copy_move), MACH_MSG_SUCCESS) << "the copy is taken before the move";
  EXPECT_EQ(type_of(a, v), 0u);
  Received r = receive(k.kernel_task(), kname, MACH_RCV_VOUCHER);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_voucher_port, kname) << "the kernel task names it by its receive right";
  k.port_deallocate(k.kernel_task(), kname);
}

TEST_F(VoucherMsg, AMessageDestroyedUnreceivedReleasesItsVoucher) {
  Pair x = pair();
  ASSERT_EQ(send(x.a, with_voucher(x, MACH_MSG_TYPE_MOVE_SEND)), MACH_MSG_SUCCESS);
  EXPECT_EQ(k.stats().vouchers, 1u);
  ASSERT_EQ(k.port_mod_refs(x.b, x.p, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(k.stats().vouchers, 0u);
  EXPECT_EQ(mgr.live(), 0u);
}

TEST_F(VoucherMsg, ASendToADeadNameTakesNoVoucher) {
  Pair x = pair();
  ASSERT_EQ(k.port_mod_refs(x.b, x.p, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(send(x.a, with_voucher(x, MACH_MSG_TYPE_MOVE_SEND)), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(refs(x.a, x.v, MACH_PORT_RIGHT_SEND), 1u) << "a header error takes nothing";
}

TEST_F(VoucherMsg, ASendThatTimesOutGivesAMovedVoucherBack) {
  Pair x = pair();
  ASSERT_EQ(k.port_set_attributes(x.b, x.p, MACH_PORT_LIMITS_INFO,
                                  std::vector<integer_t>{1}.data(), MACH_PORT_LIMITS_INFO_COUNT),
            KERN_SUCCESS);
  ASSERT_EQ(send(x.a, simple(x.s, 1), MACH_SEND_TIMEOUT, 0), MACH_MSG_SUCCESS);
  Received moved = send_full(x.a, with_voucher(x, MACH_MSG_TYPE_MOVE_SEND), MACH_SEND_TIMEOUT, 0);
  ASSERT_EQ(moved.mr, MACH_SEND_TIMED_OUT);
  ASSERT_TRUE(moved.returned_send);
  EXPECT_EQ(MACH_MSGH_BITS_VOUCHER(moved.hdr.msgh_bits), MACH_MSG_TYPE_MOVE_SEND);
  x.v = moved.hdr.msgh_voucher_port;  // a new name: the old one went with the move
  ASSERT_TRUE(MACH_PORT_VALID(x.v));
  EXPECT_EQ(refs(x.a, x.v, MACH_PORT_RIGHT_SEND), 1u);
  EXPECT_EQ(content_of(x.a, x.v), "v");
  Received copied = send_full(x.a, with_voucher(x, MACH_MSG_TYPE_COPY_SEND), MACH_SEND_TIMEOUT, 0);
  ASSERT_EQ(copied.mr, MACH_SEND_TIMED_OUT);
  EXPECT_EQ(MACH_MSGH_BITS_VOUCHER(copied.hdr.msgh_bits), MACH_MSG_TYPE_COPY_SEND);
  EXPECT_EQ(copied.hdr.msgh_voucher_port, x.v);
  EXPECT_EQ(refs(x.a, x.v, MACH_PORT_RIGHT_SEND), 1u) << "the copy was given up, the right stayed";
}

TEST_F(VoucherMsg, AMessageTooLargeForTheReceiverLosesItsVoucherButKeepsTheBits) {
  Pair x = pair();
  Msg m = with_voucher(x, MACH_MSG_TYPE_MOVE_SEND);
  m.data.assign(64, 1);
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  Received r = receive(x.b, x.p, MACH_RCV_VOUCHER, 40);
  EXPECT_EQ(r.mr, MACH_RCV_TOO_LARGE);
  EXPECT_EQ(MACH_MSGH_BITS_VOUCHER(r.hdr.msgh_bits), MACH_MSG_TYPE_MOVE_SEND);
  EXPECT_EQ(r.hdr.msgh_voucher_port, MACH_PORT_NULL);
  EXPECT_EQ(k.stats().vouchers, 0u);
}

TEST_F(VoucherMsg, ABlockedReceiverGetsTheVoucherItAskedFor) {
  Pair x = pair();
  WaiterId w = next_waiter();
  ASSERT_TRUE(receive(x.b, x.p, MACH_RCV_VOUCHER, 4096, true, w).blocked);
  ASSERT_EQ(send(x.a, with_voucher(x, MACH_MSG_TYPE_COPY_SEND)), MACH_MSG_SUCCESS);
  std::optional<Received> r = completion(w);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(content_of(x.b, r->hdr.msgh_voucher_port), "v");
}

TEST_F(VoucherMsg, NoReceiveNameLeftForTheVoucherIsAHeaderError) {
  Pair x = pair();
  ASSERT_EQ(send(x.a, with_voucher(x, MACH_MSG_TYPE_COPY_SEND)), MACH_MSG_SUCCESS);
  std::vector<mach_port_name_t> names;
  std::vector<mach_port_type_t> types;
  ASSERT_EQ(k.port_names(x.b, &names, &types), KERN_SUCCESS);
  k.set_space_limit(static_cast<uint32_t>(names.size()) + 1);  // b's space is full
  Received r = receive(x.b, x.p, MACH_RCV_VOUCHER);
  EXPECT_EQ(r.mr, MACH_RCV_HEADER_ERROR | MACH_MSG_IPC_SPACE);
  EXPECT_EQ(r.hdr.msgh_voucher_port, MACH_PORT_NULL);
  k.set_space_limit(1u << 22);
}

// ---- send and receive processing ------------------------------------------------

TEST_F(VoucherMsg, AManagerRemakesTheVoucherForTheSenderAndForAReceiverThatAsks) {
  mgr.processing = true;
  TaskId a = task(100), b = task(200);
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t v = voucher(a, "orig");
  for (int i = 0; i < 2; i++) {
    Msg m = simple(s, 1);
    m.voucher = v;
    m.voucher_disp = MACH_MSG_TYPE_COPY_SEND;
    ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  }
  Received asked = receive(b, p, MACH_RCV_VOUCHER);
  ASSERT_EQ(asked.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(content_of(b, asked.hdr.msgh_voucher_port), "orig|sent:100|got:200");
  EXPECT_EQ(content_of(a, v), "orig") << "the sender's own voucher is unchanged";
  Received plain = receive(b, p);
  ASSERT_EQ(plain.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(plain.hdr.msgh_voucher_port, MACH_PORT_NULL);
  EXPECT_EQ(mgr.made_of("orig|sent:100|got:200"), 1u);
  EXPECT_EQ(mgr.made_of("orig|sent:100"), 0u) << "the sent voucher died with the dropped message";
}

TEST_F(VoucherMsg, TheKernelTasksMessagesAreNotProcessed) {
  mgr.processing = true;
  TaskId b = task(200);
  mach_port_name_t p = recv_port(b);
  mach_port_name_t kname = MACH_PORT_NULL;
  ASSERT_EQ(k.voucher_create(b, store("k"), &kname), KERN_SUCCESS);
  mach_port_name_t to_b = give_send(b, p, k.kernel_task());
  Msg m = simple(to_b, 1);
  m.voucher = kname;
  m.voucher_disp = MACH_MSG_TYPE_MOVE_SEND;
  ASSERT_EQ(send(k.kernel_task(), m), MACH_MSG_SUCCESS);
  Received r = receive(b, p, MACH_RCV_VOUCHER);
  EXPECT_EQ(content_of(b, r.hdr.msgh_voucher_port), "k|got:200") << "only the receive processing ran";
  k.port_deallocate(k.kernel_task(), to_b);
}

TEST_F(VoucherMsg, AVoucherThatNeedsNoProcessingTravelsAsItIs) {
  Pair x = pair();  // mgr.processing is off
  ASSERT_EQ(send(x.a, with_voucher(x, MACH_MSG_TYPE_COPY_SEND)), MACH_MSG_SUCCESS);
  Received r = receive(x.b, x.p, MACH_RCV_VOUCHER);
  EXPECT_EQ(id_of(x.b, r.hdr.msgh_voucher_port), id_of(x.a, x.v));
  for (auto c : mgr.asked) EXPECT_EQ(c, MACH_VOUCHER_ATTR_USER_DATA_STORE);
}

// ---- fast lanes ---------------------------------------------------------------------

class VoucherLaneTest : public VoucherTest {
 protected:
  void SetUp() override {
    VoucherTest::SetUp();
    k.set_lane_hooks(&hooks);
  }
  void TearDown() override {
    VoucherTest::TearDown();
    k.set_lane_hooks(nullptr);
  }
  FakeHooks hooks;
};

TEST_F(VoucherLaneTest, MessagesWithVoucherBitsAreNeverLent) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t v = voucher(a, "lane");
  Msg m = simple(s, 1);
  m.voucher = v;
  m.voucher_disp = MACH_MSG_TYPE_COPY_SEND;
  ASSERT_EQ(send(a, m), MACH_MSG_SUCCESS);
  std::vector<std::vector<uint8_t>> out;
  EXPECT_EQ(k.lane_lend(b, p, 5, 8, 4096, out), 0u);
  Received r = receive(b, p, MACH_RCV_VOUCHER);
  EXPECT_EQ(content_of(b, r.hdr.msgh_voucher_port), "lane");
  Msg raw = simple(s, 2);
  raw.voucher = 0x55;  // no voucher bits: lendable, the field as a receive gives it
  ASSERT_EQ(send(a, raw), MACH_MSG_SUCCESS);
  ASSERT_EQ(k.lane_lend(b, p, 5, 8, 4096, out), 1u);
  mach_msg_header_t h;
  std::memcpy(&h, out[0].data(), sizeof h);
  EXPECT_EQ(h.msgh_voucher_port, 0x55u);
  hooks.consumed[5] = 0;
}

}  // namespace
}  // namespace machd::ipc::test
