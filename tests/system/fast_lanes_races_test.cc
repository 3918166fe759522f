// tests/system/fast_lanes_races_test.cc — the fast lanes in the corners:
// a ring slot taken but not written yet, senders blocked before a lane opens,
// counts that must not see lent or reserved slots, a task that takes credits
// and never writes the messages. Some steps play a client's part by hand on
// the task's own region (machd_abi.h), as a preempted thread would leave it.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "machd_abi.h"
#include "support.h"

using namespace systest;

namespace {

template <typename T>
std::atomic_ref<T> A(T& v) { return std::atomic_ref<T>(v); }

machd_fast_header* fast() {
  uint8_t* r = find_region();
  return r ? reinterpret_cast<machd_fast_header*>(r + MACHD_FAST_OFFSET) : nullptr;
}

// A simple COPY_SEND message the fast path declines (msgh_size != send_size;
// the trap ignores msgh_size, as XNU does) and machd will not grant credits for.
mach_msg_return_t send_trap(mach_port_t dest, int32_t value, mach_msg_option_t extra = 0,
                            mach_msg_timeout_t timeout = 0) {
  SimpleMsg m{};
  m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  m.head.msgh_size = 0;
  m.head.msgh_remote_port = dest;
  m.head.msgh_id = 1000 + value;
  m.value = value;
  return mach_msg(&m.head, MACH_SEND_MSG | extra, sizeof m, 0, MACH_PORT_NULL, timeout, MACH_PORT_NULL);
}

}  // namespace

// A thread that took a ring position but has not published it yet (it was
// preempted between fetch_add and the seq store) holds back every later ring
// entry; a thread's later trap send then overtakes its own earlier fast send.
TEST(FastLaneRaces, AnUnwrittenRingSlotDoesNotHoldBackLaterSends) {
  mach_port_t port = make_port();
  set_qlimit(port, MACH_PORT_QLIMIT_LARGE);
  ASSERT_EQ(send_simple(port, 0, "grant"), MACH_MSG_SUCCESS);  // trap; grants credits
  machd_fast_header* f = fast();
  ASSERT_NE(f, nullptr);
  const uint32_t idx = (port >> 8) % MACHD_CREDITS;
  uint64_t w = A(f->credits[idx]).load();
  ASSERT_EQ(MACHD_CREDIT_NAME(w), port);
  ASSERT_GT(MACHD_CREDIT_COUNT(w), 2u);
  // "Thread A1": takes a credit and a position, then is preempted.
  ASSERT_TRUE(A(f->credits[idx]).compare_exchange_strong(w, w - 1));
  const uint64_t pos = A(f->send_tail).fetch_add(1);
  // "Thread A2": a fast send (returns SUCCESS), then a trap send, same port.
  ASSERT_EQ(send_simple(port, 1, "fast"), MACH_MSG_SUCCESS);
  ASSERT_EQ(send_trap(port, 2), MACH_MSG_SUCCESS);
  int order[3] = {-1, -1, -1};
  for (int i = 0; i < 3; ++i) {
    SimpleRcv r{};
    if (receive_simple(port, r, 500) == MACH_MSG_SUCCESS) order[i] = r.msg.value;
  }
  EXPECT_EQ(order[0], 0);
  EXPECT_EQ(order[1], 1) << "A2's fast send (value 1) must arrive before its later trap send (value 2)";
  EXPECT_EQ(order[2], 2);
  // A1 resumes: publish its slot so the ring drains.
  auto* slot = reinterpret_cast<machd_send_slot*>(find_region() + MACHD_SEND_RING_OFFSET +
                                                  (pos % MACHD_SEND_SLOTS) * MACHD_SEND_SLOT_SIZE);
  SimpleMsg m{};
  m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  m.head.msgh_size = sizeof m;
  m.head.msgh_remote_port = port;
  m.value = 99;
  slot->credit = idx | (MACHD_CREDIT_EPOCH(w) << 16);
  slot->size = sizeof m;
  memcpy(slot->msg, &m, sizeof m);
  A(slot->seq).store(pos + 1, std::memory_order_release);
  A(f->async_pending).fetch_or(MACHD_ASYNC_SEND);
  mach_port_type_t t;
  mach_port_type(mach_task_self(), port, &t);  // any trap: machd services the ring
  for (int i = 0; i < 4; ++i) {
    SimpleRcv r{};
    if (receive_simple(port, r, 300) != MACH_MSG_SUCCESS) break;
    EXPECT_EQ(r.msg.value, 99) << "the late slot arrives once written";
  }
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
}

// Senders already blocked on a full queue when a lane opens are never told
// about (SENDERS_WAITING is only set by a sender arriving while the lane is
// open; lend() resets flags to 0). The receiver drains the lane without a
// trap, the queue stays "full" in machd, the blocked sender stays blocked.
TEST(FastLaneRaces, SendersBlockedBeforeALaneOpensGetInAsTheReceiverTakes) {
  mach_port_t port = make_port();  // qlimit 5
  for (int i = 0; i < 5; ++i) ASSERT_EQ(send_trap(port, i), MACH_MSG_SUCCESS);
  std::atomic<int> done{0};
  std::thread s1([&] { if (send_trap(port, 100) == MACH_MSG_SUCCESS) done++; });
  std::thread s2([&] { if (send_trap(port, 101) == MACH_MSG_SUCCESS) done++; });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(done.load(), 0);
  SimpleRcv r{};
  ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);  // trap: lane opens after it
  // Take the next 3 (lane hits). On XNU the second blocked sender got in at
  // the first of these.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(done.load(), 2) << "a blocked sender was not let in although the receiver made room";
  // Unstick: a trap receive closes the lane and settles.
  for (int i = 0; i < 3; ++i) receive_simple(port, r, 1000);
  s1.join();
  s2.join();
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
}

// mach_port_get_srights does not settle the lane: a message the receiver
// already took still counts its destination send right.
TEST(FastLaneRaces, GetSrightsDoesNotCountMessagesTakenFromTheLane) {
  mach_port_t port = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port), KERN_SUCCESS);
  ASSERT_EQ(mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  ASSERT_EQ(send_trap(port, 0), MACH_MSG_SUCCESS);
  ASSERT_EQ(send_trap(port, 1), MACH_MSG_SUCCESS);
  ASSERT_EQ(mach_port_deallocate(mach_task_self(), port), KERN_SUCCESS);  // only the messages' rights left
  SimpleRcv r{};
  ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);  // trap; lends message 1
  ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);  // from the lane
  mach_port_rights_t n = 99;
  ASSERT_EQ(mach_port_get_srights(mach_task_self(), port, &n), KERN_SUCCESS);
  EXPECT_EQ(n, 0u) << "XNU: no send right left anywhere";
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

// Send-possible with sync on a queue that has room, but whose free slots
// are reserved by a send credit: XNU fires at once; machd arms it.
TEST(FastLaneRaces, SendPossibleFiresAtOnceWhenOnlyReservationsFillTheQueue) {
  mach_port_t port = make_port();  // qlimit 5
  ASSERT_EQ(send_simple(port, 0, "grant"), MACH_MSG_SUCCESS);  // trap: queue 1, credits 2
  ASSERT_EQ(send_trap(port, 1), MACH_MSG_SUCCESS);
  ASSERT_EQ(send_trap(port, 2), MACH_MSG_SUCCESS);  // 3 queued of 5, 2 reserved
  mach_port_t notify = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &notify), KERN_SUCCESS);
  mach_port_t prev = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_request_notification(mach_task_self(), port, MACH_NOTIFY_SEND_POSSIBLE, 1, notify,
                                           MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev),
            KERN_SUCCESS);
  struct {
    mach_send_possible_notification_t n;
    mach_msg_max_trailer_t t;
  } m{};
  mach_msg_return_t mr = mach_msg(&m.n.not_header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, notify, 500,
                                  MACH_PORT_NULL);
  EXPECT_EQ(mr, MACH_MSG_SUCCESS) << "3 of 5 queued: send-possible should fire at once";
  EXPECT_EQ(m.n.not_header.msgh_id, MACH_NOTIFY_SEND_POSSIBLE);
  mach_port_mod_refs(mach_task_self(), notify, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
}

// A task that took credits (here: zeroed its credit word, as if its threads
// had taken every slot) and never writes the messages holds no room in the
// receiver's queue once the credit is revoked.
TEST(FastLaneRaces, CreditsAnotherTaskTookAndNeverWroteHoldNoRoomInTheQueue) {
  mach_port_t port = MACH_PORT_NULL;  // the victim's port: no one else holds a send right
  ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port), KERN_SUCCESS);
  int up[2], down[2];
  ASSERT_EQ(pipe(up), 0);
  ASSERT_EQ(pipe(down), 0);
  pid_t child = spawn_task([up, down] {
    mach_port_t rv = MACH_PORT_NULL;
    std::string rvname = check_in_unique("credit-rv", &rv);
    char buf[128] = {};
    strncpy(buf, rvname.c_str(), sizeof buf - 1);
    (void)!write(up[1], buf, sizeof buf);
    struct {
      mach_msg_header_t head;
      mach_msg_body_t body;
      mach_msg_port_descriptor_t port;
      mach_msg_max_trailer_t t;
    } m{};
    if (mach_msg(&m.head, MACH_RCV_MSG, 0, sizeof m, rv, 0, MACH_PORT_NULL) != MACH_MSG_SUCCESS) return 1;
    mach_port_t dest = m.port.name;
    if (send_simple(dest, 0, "grant") != MACH_MSG_SUCCESS) return 2;  // trap: 2 credits
    machd_fast_header* f = fast();
    const uint32_t idx = (dest >> 8) % MACHD_CREDITS;
    uint64_t w = A(f->credits[idx]).load();
    if (MACHD_CREDIT_NAME(w) != dest || MACHD_CREDIT_COUNT(w) == 0) return 3;
    // Scribble: count 0 (as if taken and never posted).
    A(f->credits[idx]).store(w & ~uint64_t(0xffff));
    // Dropping the send right revokes every credit of the task first.
    if (mach_port_deallocate(mach_task_self(), dest) != KERN_SUCCESS) return 4;
    char c = 'x';
    (void)!write(down[1], &c, 1);
    sleep(30);  // alive, its credit taken and never written
    return 0;
  });
  close(up[1]);  // (ours: a child that fails early ends the reads)
  close(down[1]);
  char buf[128] = {};
  ASSERT_EQ(read(up[0], buf, sizeof buf), ssize_t(sizeof buf));
  mach_port_t rv = look_up(buf);
  ASSERT_NE(rv, MACH_PORT_NULL);
  ASSERT_EQ(send_right(rv, port, MACH_MSG_TYPE_MAKE_SEND), MACH_MSG_SUCCESS);
  char c;
  ASSERT_EQ(read(down[0], &c, 1), 1);
  SimpleRcv r{};
  ASSERT_EQ(receive_simple(port, r, 1000), MACH_MSG_SUCCESS);  // the child's one real message
  // (The child still holds a send right in flight for the two messages it
  // took, as it would by keeping its own send right: no-senders waits.)
  EXPECT_EQ(queued(port), 0u);
  // The queue is empty: XNU takes 5 messages with a zero timeout.
  ASSERT_EQ(mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  int sent = 0;
  for (int i = 0; i < 5; ++i)
    if (send_trap(port, i, MACH_SEND_TIMEOUT, 0) == MACH_MSG_SUCCESS) sent++;
  EXPECT_EQ(sent, 5) << "slots of an empty queue held by another task";
  kill(child, SIGKILL);
  wait_exit(child);
  for (int i = 0; i < 5; ++i) receive_simple(port, r, 0);
  for (int fd : {up[0], down[0]}) close(fd);
  mach_port_deallocate(mach_task_self(), rv);  // a dead name by now
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
}
