// tests/ipc/notify_test.cc — dead-name, no-senders, port-destroyed,
// send-once, port-deleted and send-possible notifications.
#include <mach/ndr.h>

#include "harness.h"

namespace machd::ipc::test {
namespace {

using NotifyTest = IpcTest;

// The name / count word of the 36-byte NDR notifications.
uint32_t word_of(const Received& r) {
  uint32_t w = 0;
  EXPECT_EQ(r.hdr.msgh_size, 36u);
  EXPECT_GE(r.data.size(), 12u);
  if (r.data.size() >= 12) std::memcpy(&w, r.data.data() + 8, 4);
  if (r.data.size() >= 8) {
    NDR_record_t ndr;
    std::memcpy(&ndr, r.data.data(), 8);
    EXPECT_EQ(ndr.int_rep, NDR_INT_LITTLE_ENDIAN);
  }
  return w;
}

mach_port_name_t request(Kernel& k, TaskId t, mach_port_name_t name, mach_msg_id_t variant,
                         mach_port_mscount_t sync, mach_port_name_t notify,
                         kern_return_t expect = KERN_SUCCESS) {
  mach_port_name_t prev = 0xdead;
  EXPECT_EQ(k.port_request_notification(t, name, variant, sync, notify, MACH_MSG_TYPE_MAKE_SEND_ONCE,
                                        &prev),
            expect);
  return prev;
}

TEST_F(NotifyTest, DeadNameNotificationCarriesTheNameAndAddsAUserReference) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t n = recv_port(a);
  EXPECT_EQ(request(k, a, s, MACH_NOTIFY_DEAD_NAME, 0, n), MACH_PORT_NULL);
  EXPECT_EQ(type_of(a, s), MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_DNREQUEST);
  ASSERT_EQ(k.port_destroy(b, p), KERN_SUCCESS);
  Received r = receive(a, n);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_DEAD_NAME);
  EXPECT_EQ(r.hdr.msgh_bits, MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND_ONCE));
  EXPECT_EQ(word_of(r), s);
  EXPECT_EQ(r.trailer.msgh_trailer_size, sizeof(mach_msg_trailer_t));
  EXPECT_EQ(type_of(a, s), MACH_PORT_TYPE_DEAD_NAME);
  EXPECT_EQ(refs(a, s, MACH_PORT_RIGHT_DEAD_NAME), 2u) << "one for the right, one for the notification";
  EXPECT_EQ(k.port_deallocate(a, s), KERN_SUCCESS);
  EXPECT_EQ(k.port_deallocate(a, s), KERN_SUCCESS);
  EXPECT_EQ(type_of(a, s), 0u);
}

TEST_F(NotifyTest, DeadNameRequestOnAlreadyDeadName) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t n = recv_port(a);
  ASSERT_EQ(k.port_destroy(b, p), KERN_SUCCESS);
  request(k, a, s, MACH_NOTIFY_DEAD_NAME, 0, n, KERN_INVALID_ARGUMENT);
  EXPECT_EQ(receive(a, n).hdr.msgh_id, MACH_NOTIFY_SEND_ONCE)
      << "the refused request's send-once right was destroyed";
  EXPECT_EQ(request(k, a, s, MACH_NOTIFY_DEAD_NAME, 1, n), MACH_PORT_NULL);
  Received r = receive(a, n);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_DEAD_NAME) << "sync != 0: fires at once";
  EXPECT_EQ(word_of(r), s);
  EXPECT_EQ(refs(a, s, MACH_PORT_RIGHT_DEAD_NAME), 2u);
  request(k, a, MACH_PORT_DEAD, MACH_NOTIFY_DEAD_NAME, 1, n, KERN_INVALID_ARGUMENT);
  receive(a, n);
  mach_port_name_t r2 = recv_port(a);
  request(k, a, r2, 0177, 0, n, KERN_INVALID_VALUE);
  receive(a, n);
}

TEST_F(NotifyTest, ReplacingARequestReturnsThePreviousSendOnceRight) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t n1 = recv_port(a), n2 = recv_port(a);
  request(k, a, s, MACH_NOTIFY_DEAD_NAME, 0, n1);
  mach_port_name_t prev = request(k, a, s, MACH_NOTIFY_DEAD_NAME, 0, n2);
  EXPECT_EQ(type_of(a, prev), MACH_PORT_TYPE_SEND_ONCE);
  mach_port_name_t none = 0;
  ASSERT_EQ(k.port_request_notification(a, s, MACH_NOTIFY_DEAD_NAME, 0, MACH_PORT_NULL, 0, &none),
            KERN_SUCCESS);
  EXPECT_EQ(type_of(a, none), MACH_PORT_TYPE_SEND_ONCE) << "cancelling returns the registered right";
  ASSERT_EQ(k.port_deallocate(a, prev), KERN_SUCCESS);
  ASSERT_EQ(k.port_deallocate(a, none), KERN_SUCCESS);
  EXPECT_EQ(receive(a, n1).hdr.msgh_id, MACH_NOTIFY_SEND_ONCE);
  EXPECT_EQ(receive(a, n2).hdr.msgh_id, MACH_NOTIFY_SEND_ONCE);
}

TEST_F(NotifyTest, PortDeletedWhenTheNameWithARequestIsDeallocated) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t n = recv_port(a);
  request(k, a, s, MACH_NOTIFY_DEAD_NAME, 0, n);
  ASSERT_EQ(k.port_deallocate(a, s), KERN_SUCCESS);
  Received r = receive(a, n);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_PORT_DELETED);
  EXPECT_EQ(word_of(r), s);
}

TEST_F(NotifyTest, NoSendersFiresWhenTheLastSendRightGoes) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t s = give_send(a, p, b);
  EXPECT_EQ(request(k, a, p, MACH_NOTIFY_NO_SENDERS, 0, p), MACH_PORT_NULL);
  EXPECT_TRUE(status(a, p).mps_nsrequest);
  ASSERT_EQ(send(b, simple(s, 1, MACH_MSG_TYPE_COPY_SEND)), MACH_MSG_SUCCESS);
  ASSERT_EQ(k.port_deallocate(b, s), KERN_SUCCESS);
  EXPECT_EQ(receive(a, p).hdr.msgh_id, 1);  // consuming its send right drops srights to 0
  Received r = receive(a, p);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_NO_SENDERS);
  EXPECT_EQ(word_of(r), 1u) << "the make-send count";
  EXPECT_FALSE(status(a, p).mps_nsrequest);
}

TEST_F(NotifyTest, NoSendersRequestFiresAtOnceWhenAlreadyNoSendersAndSyncReached) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t n = recv_port(a);
  request(k, a, p, MACH_NOTIFY_NO_SENDERS, 1, n);
  EXPECT_EQ(receive(a, n).mr, MACH_RCV_TIMED_OUT) << "sync 1 > mscount 0: armed";
  mach_port_name_t prev = request(k, a, p, MACH_NOTIFY_NO_SENDERS, 0, n);
  ASSERT_NE(prev, MACH_PORT_NULL);
  ASSERT_EQ(k.port_deallocate(a, prev), KERN_SUCCESS);
  Received r = receive(a, n);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_NO_SENDERS);
  EXPECT_EQ(word_of(r), 0u);
  EXPECT_EQ(receive(a, n).hdr.msgh_id, MACH_NOTIFY_SEND_ONCE);
}

TEST_F(NotifyTest, NoSendersRequestArmedAtDestructionSendsSendOnceNotification) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t n = recv_port(a);
  mach_port_name_t s = give_send(a, p, a);
  (void)s;
  request(k, a, p, MACH_NOTIFY_NO_SENDERS, 0, n);
  ASSERT_EQ(k.port_mod_refs(a, p, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  Received r = receive(a, n);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_SEND_ONCE);
  EXPECT_EQ(receive(a, n).mr, MACH_RCV_TIMED_OUT);
}

TEST_F(NotifyTest, PortDestroyedNotificationReturnsTheReceiveRightWithItsMessages) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t moved = move_receive(a, p, b);
  mach_port_name_t n = recv_port(a);
  mach_port_name_t notify_in_b = give_send_once(a, n, b);
  mach_port_name_t prev = 0;
  ASSERT_EQ(k.port_request_notification(b, moved, MACH_NOTIFY_PORT_DESTROYED, 0, notify_in_b,
                                        MACH_MSG_TYPE_MOVE_SEND_ONCE, &prev),
            KERN_SUCCESS);
  EXPECT_TRUE(status(b, moved).mps_pdrequest);
  ASSERT_EQ(send(b, simple(moved, 11, MACH_MSG_TYPE_MAKE_SEND)), MACH_MSG_SUCCESS);
  kill(b);
  Received r = receive(a, n);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_PORT_DESTROYED);
  EXPECT_TRUE(r.hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX);
  EXPECT_EQ(r.hdr.msgh_size, 40u);
  ASSERT_EQ(r.descs.size(), 1u);
  EXPECT_EQ(r.descs[0].disposition, MACH_MSG_TYPE_PORT_RECEIVE);
  mach_port_name_t back = r.descs[0].name;
  EXPECT_EQ(type_of(a, back), MACH_PORT_TYPE_RECEIVE);
  EXPECT_FALSE(status(a, back).mps_pdrequest);
  EXPECT_EQ(receive(a, back).hdr.msgh_id, 11) << "the queue traveled with the right";
}

TEST_F(NotifyTest, PortDestroyedRequestErrors) {
  TaskId a = task();
  mach_port_name_t p = recv_port(a);
  mach_port_name_t n = recv_port(a);
  request(k, a, p, MACH_NOTIFY_PORT_DESTROYED, 1, n, KERN_INVALID_VALUE);
  receive(a, n);
  request(k, a, MACH_PORT_NULL, MACH_NOTIFY_PORT_DESTROYED, 0, n, KERN_INVALID_RIGHT);
  receive(a, n);
  request(k, a, k.task_self_name(a), MACH_NOTIFY_PORT_DESTROYED, 0, n, KERN_INVALID_RIGHT);
  receive(a, n);
  request(k, a, 0x7703, MACH_NOTIFY_NO_SENDERS, 0, n, KERN_INVALID_NAME);
  receive(a, n);
}

TEST_F(NotifyTest, SendOnceRightDestroyedUnusedSendsSendOnceNotification) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(a);
  give_send_once(a, p, b);
  kill(b);
  Received r = receive(a, p);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_SEND_ONCE);
  EXPECT_EQ(r.hdr.msgh_size, sizeof(mach_msg_header_t));
  EXPECT_EQ(r.hdr.msgh_local_port, p);
}

TEST_F(NotifyTest, SendPossibleFiresImmediatelyWhenNotFullElseAfterADequeue) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t n = recv_port(a);
  request(k, a, s, MACH_NOTIFY_SEND_POSSIBLE, 1, n);
  Received r = receive(a, n);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_SEND_POSSIBLE);
  EXPECT_EQ(word_of(r), s);
  for (int i = 0; i < 5; i++) ASSERT_EQ(send(a, simple(s, i)), MACH_MSG_SUCCESS);
  request(k, a, s, MACH_NOTIFY_SEND_POSSIBLE, 1, n);
  EXPECT_EQ(receive(a, n).mr, MACH_RCV_TIMED_OUT) << "full: armed, not fired";
  EXPECT_EQ(type_of(a, s) & MACH_PORT_TYPE_SPREQUEST, MACH_PORT_TYPE_SPREQUEST);
  EXPECT_EQ(send(a, simple(s, 5), MACH_SEND_TIMEOUT, 0), MACH_SEND_TIMED_OUT);
  ASSERT_EQ(receive(b, p).mr, MACH_MSG_SUCCESS);
  r = receive(a, n);
  EXPECT_EQ(r.hdr.msgh_id, MACH_NOTIFY_SEND_POSSIBLE);
  EXPECT_EQ(word_of(r), s);
}

TEST_F(NotifyTest, DelayedSendPossibleIsArmedByMachSendNotify) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t n = recv_port(a);
  request(k, a, s, MACH_NOTIFY_SEND_POSSIBLE, 0, n);
  EXPECT_EQ(type_of(a, s) & MACH_PORT_TYPE_SPREQUEST_DELAYED, MACH_PORT_TYPE_SPREQUEST_DELAYED);
  for (int i = 0; i < 5; i++) ASSERT_EQ(send(a, simple(s, i)), MACH_MSG_SUCCESS);
  ASSERT_EQ(receive(b, p).mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(receive(a, n).mr, MACH_RCV_TIMED_OUT) << "not armed yet";
  ASSERT_EQ(send(a, simple(s, 6)), MACH_MSG_SUCCESS);
  EXPECT_EQ(send(a, simple(s, 7), MACH_SEND_NOTIFY | MACH_SEND_TIMEOUT, 0), MACH_SEND_TIMED_OUT);
  ASSERT_EQ(receive(b, p).mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(receive(a, n).hdr.msgh_id, MACH_NOTIFY_SEND_POSSIBLE);
}

TEST_F(NotifyTest, SendPossibleRequestOnDeadNameGetsDeadNameAtOnce) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t n = recv_port(a);
  ASSERT_EQ(k.port_destroy(b, p), KERN_SUCCESS);
  request(k, a, s, MACH_NOTIFY_SEND_POSSIBLE, 0, n);
  EXPECT_EQ(receive(a, n).hdr.msgh_id, MACH_NOTIFY_DEAD_NAME);
  EXPECT_EQ(refs(a, s, MACH_PORT_RIGHT_DEAD_NAME), 2u);
}

TEST_F(NotifyTest, NotificationToADeadPortIsDropped) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  mach_port_name_t n = recv_port(a);
  request(k, a, s, MACH_NOTIFY_DEAD_NAME, 0, n);
  ASSERT_EQ(k.port_destroy(a, n), KERN_SUCCESS);
  ASSERT_EQ(k.port_destroy(b, p), KERN_SUCCESS);
  EXPECT_EQ(k.stats().messages, 0u);
}

}  // namespace
}  // namespace machd::ipc::test
