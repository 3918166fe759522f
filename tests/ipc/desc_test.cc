// tests/ipc/desc_test.cc — complex messages: port descriptors with every
// disposition, out-of-line memory, out-of-line port arrays, guarded ports,
// body errors, receive rights in transit.
#include "harness.h"

namespace machd::ipc::test {
namespace {

struct Pair {
  TaskId a, b;
  mach_port_name_t p;  // b's receive right
  mach_port_name_t s;  // a's send right to it
};

class DescFixture : public IpcTest {
 protected:
  Pair pair() {
    Pair x;
    x.a = task();
    x.b = task();
    x.p = recv_port(x.b);
    x.s = give_send(x.b, x.p, x.a);
    return x;
  }
};

TEST_F(DescFixture, PortDescriptorsCarryEveryDisposition) {
  Pair x = pair();
  mach_port_name_t r1 = recv_port(x.a);
  mach_port_name_t r2 = port_with_send(x.a);
  mach_port_name_t r3 = recv_port(x.a);
  mach_port_name_t r4 = recv_port(x.a);
  mach_port_name_t so = give_send_once(x.a, r4, x.a);
  Msg m = simple(x.s, 1);
  m.descs = {Desc::port(r1, MACH_MSG_TYPE_MAKE_SEND), Desc::port(r2, MACH_MSG_TYPE_COPY_SEND),
             Desc::port(r2, MACH_MSG_TYPE_MOVE_SEND), Desc::port(r3, MACH_MSG_TYPE_MAKE_SEND_ONCE),
             Desc::port(so, MACH_MSG_TYPE_MOVE_SEND_ONCE), Desc::port(r3, MACH_MSG_TYPE_MOVE_RECEIVE),
             Desc::port(MACH_PORT_NULL, MACH_MSG_TYPE_COPY_SEND),
             Desc::port(MACH_PORT_DEAD, MACH_MSG_TYPE_MOVE_SEND)};
  m.data = {9, 9, 9, 9};
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  EXPECT_EQ(type_of(x.a, r2), MACH_PORT_TYPE_RECEIVE) << "moved its only send reference";
  EXPECT_EQ(type_of(x.a, r3), 0u) << "receive right moved out";
  EXPECT_EQ(type_of(x.a, so), 0u);
  Received r = receive(x.b, x.p);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_TRUE(r.hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX);
  ASSERT_EQ(r.descs.size(), 8u);
  EXPECT_EQ(r.descs[0].disposition, MACH_MSG_TYPE_PORT_SEND);
  EXPECT_EQ(r.descs[1].disposition, MACH_MSG_TYPE_PORT_SEND);
  EXPECT_EQ(r.descs[1].name, r.descs[2].name) << "two send rights to one port share a name";
  EXPECT_EQ(refs(x.b, r.descs[1].name, MACH_PORT_RIGHT_SEND), 2u);
  EXPECT_EQ(r.descs[3].disposition, MACH_MSG_TYPE_PORT_SEND_ONCE);
  EXPECT_EQ(r.descs[4].disposition, MACH_MSG_TYPE_PORT_SEND_ONCE);
  EXPECT_NE(r.descs[3].name, r.descs[4].name);
  EXPECT_EQ(r.descs[5].disposition, MACH_MSG_TYPE_PORT_RECEIVE);
  EXPECT_EQ(type_of(x.b, r.descs[5].name), MACH_PORT_TYPE_RECEIVE)
      << "send-once rights never share a name with the receive right";
  EXPECT_EQ(r.descs[6].name, MACH_PORT_NULL);
  EXPECT_EQ(r.descs[7].name, MACH_PORT_DEAD);
  EXPECT_EQ(r.data, m.data);
}

TEST_F(DescFixture, OutOfLineMemoryTravelsAndKeepsCopyAndDeallocateAsXnu) {
  Pair x = pair();
  std::vector<uint8_t> big(10000);
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<uint8_t>(i * 7);
  Msg m = simple(x.s, 2);
  m.descs = {Desc::memory(big, true, MACH_MSG_VIRTUAL_COPY),
             Desc::memory({1, 2, 3}, false, MACH_MSG_PHYSICAL_COPY), Desc::memory({}, false)};
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  EXPECT_EQ(k.stats().ool_payloads, 2u);
  Received r = receive(x.b, x.p);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  ASSERT_EQ(r.descs.size(), 3u);
  EXPECT_EQ(r.descs[0].ool, big);
  EXPECT_EQ(r.descs[0].size, big.size());
  EXPECT_EQ(r.descs[0].copy, MACH_MSG_VIRTUAL_COPY);
  EXPECT_TRUE(r.descs[0].deallocate) << "XNU: deallocate = (copy == MACH_MSG_VIRTUAL_COPY)";
  EXPECT_EQ(r.descs[1].ool, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(r.descs[1].copy, MACH_MSG_PHYSICAL_COPY);
  EXPECT_FALSE(r.descs[1].deallocate);
  EXPECT_EQ(r.descs[2].size, 0u);
  EXPECT_TRUE(r.descs[2].ool.empty());
  EXPECT_EQ(k.stats().ool_payloads, 0u);
}

TEST_F(DescFixture, OutOfLinePortArrayCarriesRightsInOrder) {
  Pair x = pair();
  mach_port_name_t r1 = recv_port(x.a), r2 = recv_port(x.a);
  Msg m = simple(x.s, 3);
  m.descs = {Desc::port_array({r1, MACH_PORT_NULL, r2, r1, MACH_PORT_DEAD}, MACH_MSG_TYPE_MAKE_SEND)};
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  Received r = receive(x.b, x.p);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  ASSERT_EQ(r.descs.size(), 1u);
  const DescOut& d = r.descs[0];
  EXPECT_EQ(d.disposition, MACH_MSG_TYPE_PORT_SEND);
  ASSERT_EQ(d.ports.size(), 5u);
  EXPECT_EQ(d.ports[0], d.ports[3]);
  EXPECT_EQ(d.ports[1], MACH_PORT_NULL);
  EXPECT_EQ(d.ports[4], MACH_PORT_DEAD);
  EXPECT_EQ(refs(x.b, d.ports[0], MACH_PORT_RIGHT_SEND), 2u);
  EXPECT_EQ(status(x.a, r1).mps_mscount, 2u);
}

TEST_F(DescFixture, BodyErrorsDestroyHeaderRightsAndDescriptorsCopiedSoFar) {
  Pair x = pair();
  ASSERT_EQ(k.port_mod_refs(x.a, x.s, MACH_PORT_RIGHT_SEND, 1), KERN_SUCCESS);
  mach_port_name_t good = port_with_send(x.a);
  mach_port_name_t later = port_with_send(x.a);
  Msg m = simple(x.s, 4, MACH_MSG_TYPE_MOVE_SEND);
  m.descs = {Desc::port(good, MACH_MSG_TYPE_MOVE_SEND), Desc::port(0x9903, MACH_MSG_TYPE_COPY_SEND),
             Desc::port(later, MACH_MSG_TYPE_MOVE_SEND)};
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_RIGHT);
  EXPECT_EQ(refs(x.a, x.s, MACH_PORT_RIGHT_SEND), 1u) << "the destination's moved right is destroyed";
  EXPECT_EQ(type_of(x.a, good), MACH_PORT_TYPE_RECEIVE) << "copied-in descriptor rights destroyed";
  EXPECT_EQ(type_of(x.a, later), MACH_PORT_TYPE_SEND_RECEIVE) << "later descriptors untouched";
  EXPECT_EQ(receive(x.b, x.p).mr, MACH_RCV_TIMED_OUT);
}

TEST_F(DescFixture, BodyErrorCodes) {
  Pair x = pair();
  mach_port_name_t r = recv_port(x.a);
  Msg m = simple(x.s, 5);
  m.descs = {Desc::port(r, MACH_MSG_TYPE_COPY_RECEIVE)};
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_TYPE);
  m.descs = {Desc::port(r, 3)};
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_TYPE);
  m.descs = {Desc::port(r, MACH_MSG_TYPE_COPY_SEND)};
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_RIGHT);
  Desc bad;
  bad.type = 9;
  m.descs = {bad};
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_TYPE);
  m.descs = {Desc::memory({1, 2, 3, 4}, false, MACH_MSG_ALLOCATE)};
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_TYPE);
  m.descs = {Desc::port_array({r}, MACH_MSG_TYPE_COPY_RECEIVE)};
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_TYPE);
  m.descs = {Desc::guarded(r, 0, 0)};
  m.descs[0].disposition = MACH_MSG_TYPE_MAKE_SEND;
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_TYPE);
  // A descriptor count larger than the message.
  Msg liar = simple(x.s, 6);
  liar.complex = true;
  SendArgs args = liar.encode();
  mach_msg_body_t body{50};
  std::memcpy(args.msg.data() + sizeof(mach_msg_header_t), &body, sizeof body);
  MsgArgs ma;
  ma.options = MACH_SEND_MSG;
  ma.send = std::move(args);
  EXPECT_EQ(k.msg(x.a, next_waiter(), std::move(ma), now_).done.result, MACH_SEND_MSG_TOO_SMALL);
  EXPECT_EQ(refs(x.a, x.s, MACH_PORT_RIGHT_SEND), 1u) << "COPY_SEND destinations leave the entry alone";
}

TEST_F(DescFixture, MoveReceiveWithQueuedMessagesKeepsOrder) {
  Pair x = pair();
  TaskId c = task();
  mach_port_name_t carrier = recv_port(c);
  mach_port_name_t to_c = give_send(c, carrier, x.b);
  for (int i = 0; i < 4; i++) ASSERT_EQ(send(x.a, simple(x.s, 100 + i)), MACH_MSG_SUCCESS);
  Msg m = simple(to_c, 7);
  m.descs = {Desc::port(x.p, MACH_MSG_TYPE_MOVE_RECEIVE)};
  ASSERT_EQ(send(x.b, m), MACH_MSG_SUCCESS);
  ASSERT_EQ(send(x.a, simple(x.s, 104)), MACH_MSG_SUCCESS) << "sending to a port in transit works";
  Received r = receive(c, carrier);
  ASSERT_EQ(r.descs.size(), 1u);
  mach_port_name_t moved = r.descs[0].name;
  mach_msg_option_t seq = MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SEQNO);
  for (int i = 0; i < 5; i++) {
    Received q = receive(c, moved, seq);
    EXPECT_EQ(q.hdr.msgh_id, 100 + i);
    EXPECT_EQ(q.trailer.msgh_seqno, static_cast<mach_port_seqno_t>(i)) << "seqno restarts after a move";
  }
}

TEST_F(DescFixture, ReceiveRightSentToItselfIsDestroyedNotLeaked) {
  Pair x = pair();
  mach_port_name_t q = port_with_send(x.b);
  Msg m = simple(q, 8, MACH_MSG_TYPE_COPY_SEND);
  m.descs = {Desc::port(q, MACH_MSG_TYPE_MOVE_RECEIVE)};
  EXPECT_EQ(send(x.b, m), MACH_MSG_SUCCESS);
  EXPECT_EQ(type_of(x.b, q), MACH_PORT_TYPE_DEAD_NAME);
}

TEST_F(DescFixture, CycleOfReceiveRightsInTransitIsBroken) {
  Pair x = pair();
  mach_port_name_t p1 = port_with_send(x.b);
  mach_port_name_t p2 = port_with_send(x.b);
  Msg m1 = simple(p2, 1);
  m1.descs = {Desc::port(p1, MACH_MSG_TYPE_MOVE_RECEIVE)};
  ASSERT_EQ(send(x.b, m1), MACH_MSG_SUCCESS);  // p1 travels in p2's queue
  Msg m2 = simple(p1, 2);
  m2.descs = {Desc::port(p2, MACH_MSG_TYPE_MOVE_RECEIVE)};
  ASSERT_EQ(send(x.b, m2), MACH_MSG_SUCCESS);  // would close the cycle: destroyed
  EXPECT_EQ(type_of(x.b, p1), MACH_PORT_TYPE_DEAD_NAME);
  EXPECT_EQ(type_of(x.b, p2), MACH_PORT_TYPE_DEAD_NAME);
}

TEST_F(DescFixture, DestroyingAPortDestroysRightsInItsQueuedMessagesWithoutRecursion) {
  Pair x = pair();
  // A chain of 2000 receive rights, each travelling in the previous one's queue.
  std::vector<mach_port_name_t> chain;
  for (int i = 0; i <= 2000; i++) chain.push_back(recv_port(x.b));
  for (int i = 1999; i >= 0; i--) {
    Msg m = simple(chain[i], i, MACH_MSG_TYPE_MAKE_SEND);
    m.descs = {Desc::port(chain[i + 1], MACH_MSG_TYPE_MOVE_RECEIVE)};
    ASSERT_EQ(send(x.b, m), MACH_MSG_SUCCESS);
  }
  mach_port_name_t head = chain[0];
  EXPECT_EQ(k.stats().messages, 2000u);
  ASSERT_EQ(k.port_destroy(x.b, head), KERN_SUCCESS);
  EXPECT_EQ(k.stats().messages, 0u);
}

TEST_F(DescFixture, PortDestroyedWithQueuedMessagesReleasesTheirRightsAndMemory) {
  Pair x = pair();
  mach_port_name_t q = recv_port(x.a);   // will get send-once notifications
  mach_port_name_t r = recv_port(x.a);   // a receive right travelling in a message
  mach_port_name_t ns = recv_port(x.a);  // watches q's send rights
  mach_port_name_t prev;
  ASSERT_EQ(k.port_request_notification(x.a, q, MACH_NOTIFY_NO_SENDERS, 0, ns, MACH_MSG_TYPE_MAKE_SEND_ONCE,
                                        &prev),
            KERN_SUCCESS);
  Msg m = simple(x.s, 1);
  m.local = q;
  m.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  m.descs = {Desc::port(q, MACH_MSG_TYPE_MAKE_SEND), Desc::port(r, MACH_MSG_TYPE_MOVE_RECEIVE),
             Desc::memory(std::vector<uint8_t>(100, 1))};
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  EXPECT_EQ(k.stats().ool_payloads, 1u);
  ASSERT_EQ(k.port_destroy(x.b, x.p), KERN_SUCCESS);
  EXPECT_EQ(k.stats().ool_payloads, 0u);
  EXPECT_EQ(receive(x.a, q).hdr.msgh_id, MACH_NOTIFY_SEND_ONCE) << "the unused reply right";
  Received n = receive(x.a, ns);
  EXPECT_EQ(n.hdr.msgh_id, MACH_NOTIFY_NO_SENDERS) << "the carried send right was released";
  EXPECT_EQ(type_of(x.a, r), 0u);
  EXPECT_EQ(k.stats().ports, 5u) << "r died with the message (left: two task ports, q, ns, the dead x.p)";
}

TEST_F(DescFixture, GuardedPortDescriptorChecksTheGuard) {
  Pair x = pair();
  mach_port_options_t opts{};
  opts.flags = MPO_CONTEXT_AS_GUARD;
  mach_port_name_t g = MACH_PORT_NULL;
  ASSERT_EQ(k.port_construct(x.a, opts, 0x1234, &g), KERN_SUCCESS);
  Msg m = simple(x.s, 9);
  m.descs = {Desc::guarded(g, 0x9999, 0)};
  EXPECT_EQ(send(x.a, m), MACH_SEND_INVALID_RIGHT) << "wrong guard";
  EXPECT_EQ(type_of(x.a, g), MACH_PORT_TYPE_RECEIVE);
  m.descs = {Desc::guarded(g, 0x1234, 0)};
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  Received r = receive(x.b, x.p, MACH_RCV_GUARDED_DESC);
  ASSERT_EQ(r.descs.size(), 1u);
  EXPECT_EQ(r.descs[0].type, MACH_MSG_GUARDED_PORT_DESCRIPTOR);
  EXPECT_EQ(r.descs[0].disposition, MACH_MSG_TYPE_PORT_RECEIVE);
  EXPECT_EQ(type_of(x.b, r.descs[0].name), MACH_PORT_TYPE_RECEIVE);
  EXPECT_EQ(status(x.b, r.descs[0].name).mps_flags & MACH_PORT_STATUS_FLAG_GUARDED, 0u)
      << "moving the receive right removed the guard";
  mach_port_name_t u = recv_port(x.a);
  m.descs = {Desc::guarded(u, 0, MACH_MSG_GUARD_FLAGS_UNGUARDED_ON_SEND)};
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  receive(x.b, x.p, MACH_RCV_GUARDED_DESC);
}

// XNU ipc_right_copyout (MACH_MSG_TYPE_PORT_RECEIVE): a receive right that
// arrives in a guarded port descriptor with IMMOVABLE_RECEIVE is guarded, not
// strictly, with the address of the buffer the message is written to
// (ith_msg_addr; xnu/tests/ipc/mach_msg_transport.c checks context ==
// &msg), and is immovable, except after a pseudo-receive.
TEST_F(DescFixture, GuardedReceiveRightIsGuardedWithTheReceiveBufferAddress) {
  Pair x = pair();
  const uint64_t rcv_buf = 0x7f0012345000, send_buf = 0x7f0055550000;
  mach_port_name_t g = recv_port(x.a);
  Msg m = simple(x.s, 9);
  m.descs = {Desc::guarded(g, 0, MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE | MACH_MSG_GUARD_FLAGS_UNGUARDED_ON_SEND)};
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  MsgArgs a;
  a.options = MACH_RCV_MSG | MACH_RCV_TIMEOUT | MACH_RCV_GUARDED_DESC;
  a.rcv_name = x.p;
  a.rcv_size = 4096;
  a.rcv_addr = rcv_buf;
  Received r = decode(std::move(k.msg(x.b, next_waiter(), std::move(a), now_).done));
  ASSERT_EQ(r.descs.size(), 1u);
  EXPECT_EQ(r.descs[0].context, rcv_buf);
  EXPECT_EQ(r.descs[0].guard_flags, uint32_t(MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE));
  const mach_port_name_t n = r.descs[0].name;
  mach_port_status_t st = status(x.b, n);
  EXPECT_NE(st.mps_flags & MACH_PORT_STATUS_FLAG_GUARDED, 0u);
  EXPECT_EQ(st.mps_flags & MACH_PORT_STATUS_FLAG_STRICT_GUARD, 0u);
  EXPECT_NE(st.mps_flags & MACH_PORT_STATUS_FLAG_GUARD_IMMOVABLE_RECEIVE, 0u);
  mach_port_context_t ctx = 0;
  EXPECT_EQ(k.port_get_context(x.b, n, &ctx), KERN_SUCCESS);
  EXPECT_EQ(ctx, rcv_buf);

  // Pseudo-receive: a full queue sends the message back to its sender.
  mach_port_options_t opts{};
  opts.flags = MPO_QLIMIT | MPO_INSERT_SEND_RIGHT;
  opts.mpl.mpl_qlimit = 1;
  mach_port_name_t q = MACH_PORT_NULL;
  ASSERT_EQ(k.port_construct(x.a, opts, 0, &q), KERN_SUCCESS);
  ASSERT_EQ(send(x.a, simple(q, 1)), MACH_MSG_SUCCESS);
  mach_port_name_t h = recv_port(x.a);
  Msg m2 = simple(q, 2);
  m2.descs = {Desc::guarded(h, 0, MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE | MACH_MSG_GUARD_FLAGS_UNGUARDED_ON_SEND)};
  MsgArgs s;
  s.options = MACH_SEND_MSG | MACH_SEND_TIMEOUT;
  s.send = m2.encode();
  s.msg_addr = send_buf;
  Received back = decode(std::move(k.msg(x.a, next_waiter(), std::move(s), now_).done));
  EXPECT_EQ(back.mr, MACH_SEND_TIMED_OUT);
  ASSERT_TRUE(back.returned_send);
  ASSERT_EQ(back.descs.size(), 1u);
  h = back.descs[0].name;  // the entry went at copyin: a new name
  EXPECT_EQ(type_of(x.a, h), MACH_PORT_TYPE_RECEIVE);
  EXPECT_EQ(back.descs[0].context, send_buf);
  st = status(x.a, h);
  EXPECT_NE(st.mps_flags & MACH_PORT_STATUS_FLAG_GUARDED, 0u);
  EXPECT_EQ(st.mps_flags & MACH_PORT_STATUS_FLAG_GUARD_IMMOVABLE_RECEIVE, 0u) << "not pinned in the sender";
  EXPECT_EQ(k.port_destruct(x.a, h, 0, send_buf), KERN_SUCCESS);
  EXPECT_EQ(k.port_destruct(x.a, q, -1, 0), KERN_SUCCESS);
  EXPECT_EQ(k.port_destruct(x.b, n, 0, rcv_buf), KERN_SUCCESS);
}

// XNU ipc_kmsg_copyout_ool_ports_descriptor always copies a port array out to
// new memory (copy_options = MACH_MSG_VIRTUAL_COPY): a receiver sees
// deallocate TRUE whatever the sender's copy and deallocate fields said.
TEST_F(DescFixture, ReceivedPortArraysAreVirtualCopiesToDeallocate) {
  Pair x = pair();
  mach_port_name_t r = recv_port(x.a);
  Msg m = simple(x.s, 3);
  Desc d = Desc::port_array({r}, MACH_MSG_TYPE_MAKE_SEND);
  d.copy = MACH_MSG_PHYSICAL_COPY;
  d.deallocate = false;
  m.descs = {d};
  ASSERT_EQ(send(x.a, m), MACH_MSG_SUCCESS);
  Received got = receive(x.b, x.p);
  ASSERT_EQ(got.descs.size(), 1u);
  EXPECT_TRUE(got.descs[0].deallocate);
  EXPECT_EQ(got.descs[0].copy, uint32_t(MACH_MSG_VIRTUAL_COPY));
  ASSERT_EQ(got.descs[0].ports.size(), 1u);
  EXPECT_EQ(k.port_deallocate(x.b, got.descs[0].ports[0]), KERN_SUCCESS);
}

}  // namespace
}  // namespace machd::ipc::test
