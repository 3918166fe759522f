// tests/system/fast_lanes_test.cc — the fast lanes (send credits, receive
// lanes; machd_abi.h) change nothing a Mach program can see but speed: order,
// sequence numbers, trailers, queue limits, status, moves, too-large
// handling; and a task that scribbles on them hurts only itself.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <random>
#include <string>

#include "machd_abi.h"
#include "support.h"

using namespace systest;

namespace {

// A child task that sends `count` simple messages (values 0..count-1) to `name`.
pid_t spawn_sender(const std::string& name, int count) {
  return spawn_task([name, count] {
    mach_port_t dest = look_up(name);
    if (dest == MACH_PORT_NULL) return 1;
    for (int i = 0; i < count; ++i)
      if (send_simple(dest, i, "stream") != MACH_MSG_SUCCESS) return 2;
    return 0;
  });
}

}  // namespace

TEST(FastLanes, StreamArrivesInOrderWithConsecutiveSeqnosAndTheSendersAuditToken) {
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("stream", &port);
  set_qlimit(port, MACH_PORT_QLIMIT_LARGE);
  const int kCount = 20000;
  pid_t child = spawn_sender(name, kCount);
  mach_port_seqno_t first_seqno = 0;
  for (int i = 0; i < kCount; ++i) {
    SimpleRcv r{};
    ASSERT_EQ(receive_simple(port, r, 10000), MACH_MSG_SUCCESS) << "message " << i;
    ASSERT_EQ(r.msg.value, i);
    ASSERT_EQ(r.msg.head.msgh_local_port, port);
    ASSERT_EQ(r.msg.head.msgh_remote_port, MACH_PORT_NULL);
    ASSERT_EQ(r.msg.head.msgh_bits, MACH_MSGH_BITS(0, MACH_MSG_TYPE_PORT_SEND));
    const mach_msg_audit_trailer_t* t = audit_of(r);
    ASSERT_EQ(t->msgh_trailer_size, sizeof(mach_msg_audit_trailer_t));
    ASSERT_EQ(t->msgh_audit.val[5], uint32_t(child));
    if (i == 0) first_seqno = t->msgh_seqno;
    ASSERT_EQ(t->msgh_seqno, first_seqno + mach_port_seqno_t(i));
  }
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(queued(port), 0u);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(FastLanes, CreditedSenderStillBlocksExactlyAtTheQueueLimit) {
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("credit-qlimit", &port);
  set_qlimit(port, 16);
  auto* sent = static_cast<std::atomic<int>*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  new (sent) std::atomic<int>(0);
  pid_t child = spawn_task([&] {
    mach_port_t dest = look_up(name);
    for (int i = 0; i < 40; ++i) {
      if (send_simple(dest, i, "fill") != MACH_MSG_SUCCESS) return 2;
      sent->fetch_add(1);
    }
    return 0;
  });
  // The sender fills the queue and blocks on message 17.
  for (int i = 0; i < 500 && sent->load() < 16; ++i) usleep(2000);
  usleep(200000);
  EXPECT_EQ(sent->load(), 16) << "sends that returned";
  EXPECT_EQ(queued(port), 16u);
  for (int i = 0; i < 40; ++i) {
    SimpleRcv r{};
    ASSERT_EQ(receive_simple(port, r, 5000), MACH_MSG_SUCCESS);
    EXPECT_EQ(r.msg.value, i);
  }
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(sent->load(), 40);
  munmap(sent, 4096);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(FastLanes, StatusCountsWhatTheReceiverHasNotTakenYet) {
  mach_port_t port = make_port();
  set_qlimit(port, 64);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(send_simple(port, i, "status"), MACH_MSG_SUCCESS);
  EXPECT_EQ(queued(port), 10u);
  SimpleRcv r{};
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);
    EXPECT_EQ(r.msg.value, i);
  }
  EXPECT_EQ(queued(port), 6u);
  mach_port_seqno_t seqno = 0;
  mach_msg_size_t size = 0;
  mach_msg_id_t id = 0;
  mach_msg_max_trailer_t trailer{};
  mach_msg_type_number_t tsize = sizeof trailer;
  ASSERT_EQ(mach_port_peek(mach_task_self(), port, MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SEQNO), &seqno, &size,
                           &id, reinterpret_cast<mach_msg_trailer_info_t>(&trailer), &tsize),
            KERN_SUCCESS);
  EXPECT_GE(size, sizeof(SimpleMsg));
  const mach_port_seqno_t peeked = seqno;
  ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);
  EXPECT_EQ(r.msg.value, 4);
  EXPECT_EQ(audit_of(r)->msgh_seqno, peeked);
  for (int i = 5; i < 10; ++i) {
    ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);
    EXPECT_EQ(r.msg.value, i);
    EXPECT_EQ(audit_of(r)->msgh_seqno, peeked + mach_port_seqno_t(i - 4));
  }
  EXPECT_EQ(queued(port), 0u);
  EXPECT_EQ(receive_simple(port, r, 0), MACH_RCV_TIMED_OUT);
  mach_port_destroy(mach_task_self(), port);
}

TEST(FastLanes, ReceiveRightMovedWithLentMessagesTakesThemAlongInOrder) {
  mach_port_t port = make_port();
  set_qlimit(port, 64);
  for (int i = 0; i < 12; ++i) ASSERT_EQ(send_simple(port, i, "move"), MACH_MSG_SUCCESS);
  SimpleRcv r{};
  for (int i = 0; i < 3; ++i) {  // the rest is lent to our lane now
    ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);
    EXPECT_EQ(r.msg.value, i);
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  std::string inbox_name = "move-inbox-" + std::to_string(getpid()) + "-" + std::to_string(rand());
  pid_t taker = spawn_task([&] {
    mach_port_t inbox = MACH_PORT_NULL;
    if (bootstrap_check_in(bootstrap_port, inbox_name.c_str(), &inbox) != KERN_SUCCESS) return 1;
    char c = 1;
    if (write(ready[1], &c, 1) != 1) return 2;
    struct {
      mach_msg_header_t head;
      mach_msg_body_t body;
      mach_msg_port_descriptor_t desc;
      mach_msg_max_trailer_t trailer;
    } m{};
    if (mach_msg(&m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, inbox, 5000, 0) != MACH_MSG_SUCCESS)
      return 3;
    mach_port_t moved = m.desc.name;
    for (int i = 3; i < 12; ++i) {
      SimpleRcv in{};
      if (receive_simple(moved, in, 2000) != MACH_MSG_SUCCESS) return 10 + i;
      if (in.msg.value != i) return 30 + i;
    }
    SimpleRcv none{};
    return receive_simple(moved, none, 0) == MACH_RCV_TIMED_OUT ? 0 : 4;
  });
  close(ready[1]);  // (ours: a child that fails early ends the read)
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  mach_port_t inbox = look_up(inbox_name);
  ASSERT_NE(inbox, MACH_PORT_NULL);
  ASSERT_EQ(send_right(inbox, port, MACH_MSG_TYPE_MOVE_RECEIVE), MACH_MSG_SUCCESS);
  EXPECT_EQ(wait_exit(taker), 0);
  close(ready[0]);
  mach_port_deallocate(mach_task_self(), inbox);
  mach_port_deallocate(mach_task_self(), port);  // the send right left under the old name
}

TEST(FastLanes, TooSmallBufferOnALanePortFollowsTheTrapRules) {
  mach_port_t port = make_port();
  set_qlimit(port, 64);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(send_simple(port, i, "large"), MACH_MSG_SUCCESS);
  SimpleRcv r{};
  ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);  // lends 1..3
  EXPECT_EQ(r.msg.value, 0);
  struct {
    mach_msg_header_t head;
    mach_msg_trailer_t trailer;
  } small{};
  // With MACH_RCV_LARGE the message stays and the size is reported.
  ASSERT_EQ(mach_msg(&small.head, MACH_RCV_MSG | MACH_RCV_LARGE | MACH_RCV_TIMEOUT, 0, sizeof small, port, 0, 0),
            MACH_RCV_TOO_LARGE);
  EXPECT_EQ(small.head.msgh_size, sizeof(SimpleMsg));
  ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);
  EXPECT_EQ(r.msg.value, 1);
  // Without it the message is destroyed.
  ASSERT_EQ(mach_msg(&small.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof small, port, 0, 0), MACH_RCV_TOO_LARGE);
  ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);
  EXPECT_EQ(r.msg.value, 3);
  EXPECT_EQ(receive_simple(port, r, 0), MACH_RCV_TIMED_OUT);
  mach_port_destroy(mach_task_self(), port);
}

TEST(FastLanes, DestroyingAPortWithLentMessagesLeavesNothingBehind) {
  Holdings before = holdings();
  mach_port_t port = make_port();
  set_qlimit(port, 64);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(send_simple(port, i, "destroy"), MACH_MSG_SUCCESS);
  SimpleRcv r{};
  ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);
  ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);
  ASSERT_EQ(mach_port_destroy(mach_task_self(), port), KERN_SUCCESS);
  Holdings after = holdings();
  EXPECT_EQ(after.messages, before.messages);
  EXPECT_EQ(after.ports, before.ports);
}

TEST(FastLanes, TaskScribblingOnItsLanesIsCutOffAndOthersCarryOn) {
  uint64_t base_tasks = holdings().tasks;
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("lane-vandal", &port);
  set_qlimit(port, 64);
  pid_t vandal = spawn_task([&] {
    mach_port_t dest = look_up(name);
    mach_port_t own = make_port();
    for (int i = 0; i < 4; ++i) {  // (own keeps the default qlimit of 5)
      send_simple(dest, i, "before");  // credits for dest
      send_simple(own, i, "own");      // and a lane for own
    }
    SimpleRcv in{};
    receive_simple(own, in, 1000);
    uint8_t* region = find_region();
    if (region == nullptr) return 1;
    std::mt19937_64 rng(777);
    // Random credits, lane heads and tails, ring slots that look published.
    auto* fast = reinterpret_cast<machd_fast_header*>(region + MACHD_FAST_OFFSET);
    for (uint64_t& w : fast->credits) w = rng();
    for (machd_lane& l : fast->lanes) {
      l.head = rng();
      l.tail = uint32_t(rng());
      l.flags = uint32_t(rng());
    }
    for (uint64_t pos = 0; pos < MACHD_SEND_SLOTS; ++pos) {
      auto* slot = reinterpret_cast<machd_send_slot*>(region + MACHD_SEND_RING_OFFSET + pos * MACHD_SEND_SLOT_SIZE);
      for (size_t i = 0; i < sizeof *slot; ++i) reinterpret_cast<uint8_t*>(slot)[i] = uint8_t(rng());
      slot->seq = pos + 1;
    }
    fast->async_pending = ~0u;
    // Ordinary calls now; they may fail or the task may be cut off.
    for (int i = 0; i < 8; ++i) {
      send_simple(dest, 100 + i, "after");
      receive_simple(own, in, 100);
    }
    return 0;
  });
  reap_within(vandal, 10000);
  EXPECT_TRUE(wait_for_tasks(base_tasks));
  // machd and every other task carry on.
  SimpleRcv r{};
  while (receive_simple(port, r, 0) == MACH_MSG_SUCCESS) {
  }
  pid_t good = spawn_task([&] { return send_simple(look_up(name), 5, "still here") == MACH_MSG_SUCCESS ? 0 : 1; });
  ASSERT_EQ(receive_simple(port, r, 5000), MACH_MSG_SUCCESS);
  EXPECT_EQ(r.msg.value, 5);
  EXPECT_EQ(wait_exit(good), 0);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

// A ring slot may name any credit key, the one machd's empty lookup cache
// holds (0xffffffff) included: it is looked up like any other, and the task
// that wrote it is cut off; machd does not follow a null credit.
TEST(FastLanes, ASendSlotNamingTheKeyAllOnesIsRefusedAndMachdCarriesOn) {
  const uint64_t base_tasks = holdings().tasks;
  mach_port_t port = MACH_PORT_NULL;
  const std::string name = check_in_unique("lane-all-ones", &port);
  set_qlimit(port, 64);
  const pid_t writer = spawn_task([&] {
    const mach_port_t dest = look_up(name);
    for (int i = 0; i < 4; ++i) send_simple(dest, i, "before");  // credits for dest
    uint8_t* region = find_region();
    if (region == nullptr) return 1;
    auto* fast = reinterpret_cast<machd_fast_header*>(region + MACHD_FAST_OFFSET);
    const uint64_t pos = __atomic_fetch_add(&fast->send_tail, 1, __ATOMIC_RELAXED);
    auto* slot = reinterpret_cast<machd_send_slot*>(region + MACHD_SEND_RING_OFFSET +
                                                    (pos % MACHD_SEND_SLOTS) * MACHD_SEND_SLOT_SIZE);
    slot->credit = ~0u;
    slot->size = sizeof(mach_msg_header_t);
    memset(slot->msg, 0, sizeof(mach_msg_header_t));
    __atomic_store_n(&slot->seq, pos + 1, __ATOMIC_RELEASE);
    // An ordinary send publishes the next slot and has machd drain the ring.
    for (int i = 0; i < 4; ++i) send_simple(dest, 100 + i, "after");
    return 0;
  });
  reap_within(writer, 10000);
  EXPECT_TRUE(wait_for_tasks(base_tasks));
  SimpleRcv r{};
  while (receive_simple(port, r, 0) == MACH_MSG_SUCCESS) {
  }
  const pid_t good = spawn_task([&] { return send_simple(look_up(name), 5, "still here") == MACH_MSG_SUCCESS ? 0 : 1; });
  ASSERT_EQ(receive_simple(port, r, 5000), MACH_MSG_SUCCESS);
  EXPECT_EQ(r.msg.value, 5);
  EXPECT_EQ(wait_exit(good), 0);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(FastLanes, MessagesSentRightBeforeExitAreDelivered) {
  uint64_t base_tasks = holdings().tasks;
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("exit-after-send", &port);
  set_qlimit(port, MACH_PORT_QLIMIT_LARGE);
  const int kCount = 300;
  pid_t child = spawn_sender(name, kCount);  // exits as soon as the last send returns
  EXPECT_EQ(wait_exit(child), 0);
  ASSERT_TRUE(wait_for_tasks(base_tasks)) << "machd saw the task go";
  EXPECT_EQ(queued(port), mach_port_msgcount_t(kCount)) << "every send that succeeded is queued";
  for (int i = 0; i < kCount; ++i) {
    SimpleRcv r{};
    ASSERT_EQ(receive_simple(port, r, 0), MACH_MSG_SUCCESS) << "message " << i;
    ASSERT_EQ(r.msg.value, i);
  }
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}
