// tests/system/robustness_test.cc — hostile or careless clients.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "machd_abi.h"
#include "support.h"

using namespace systest;

TEST(Robustness, FloodingSenderBlocksAtQlimitAndMachdStaysBounded) {
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("flood", &port);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t flooder = spawn_task([&] {
    mach_port_t dest = look_up(name);
    int ok = 0, timed_out = 0;
    for (int i = 0; i < 100; ++i) {
      mach_msg_return_t mr = send_simple(dest, i, "flood", MACH_PORT_NULL, MACH_MSG_TYPE_COPY_SEND,
                                         MACH_MSG_TYPE_MAKE_SEND_ONCE, MACH_SEND_TIMEOUT, 0);
      if (mr == MACH_MSG_SUCCESS) ++ok;
      else if (mr == MACH_SEND_TIMED_OUT) ++timed_out;
      else return 1;
    }
    // Default qlimit is 5: five queued, the rest refused without blocking.
    if (ok != MACH_PORT_QLIMIT_DEFAULT || timed_out != 100 - MACH_PORT_QLIMIT_DEFAULT) return 2;
    (void)!write(ready[1], "x", 1);
    // Now a blocking send: it waits until the receiver makes room.
    return send_simple(dest, 999, "blocked") == MACH_MSG_SUCCESS ? 0 : 3;
  });
  close(ready[1]);  // (ours: a child that fails early ends the read)
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  usleep(50000);
  Holdings h = holdings();
  EXPECT_LE(h.messages, uint64_t(MACH_PORT_QLIMIT_DEFAULT + 1)) << "queue stays at qlimit (+1 blocked sender)";
  EXPECT_EQ(wait_exit_for(flooder, 100), -1) << "the blocking sender is still blocked";
  for (int i = 0; i < MACH_PORT_QLIMIT_DEFAULT + 1; ++i) {
    SimpleRcv r;
    ASSERT_EQ(receive_simple(port, r, 2000), MACH_MSG_SUCCESS);
    if (i < MACH_PORT_QLIMIT_DEFAULT) EXPECT_EQ(r.msg.value, i);
    else EXPECT_EQ(r.msg.value, 999);
  }
  EXPECT_EQ(wait_exit(flooder), 0);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  close(ready[0]);
}

TEST(Robustness, GarbageInOwnRingDisconnectsOnlyThatTask) {
  uint64_t base_tasks = holdings().tasks;
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("garbage", &port);
  pid_t vandal = spawn_task([&] {
    uint8_t* region = find_region();
    if (region == nullptr) return 1;
    std::mt19937_64 rng(12345);
    // Random bytes over the header and the first channels' headers and data,
    // with every pending bit set: machd must survive whatever it reads.
    for (size_t i = 0; i < 64; ++i) region[i] = uint8_t(rng());
    for (int ch = 0; ch < 64; ++ch) {
      uint8_t* c = region + MACHD_CHANNELS_OFFSET + size_t(ch) * MACHD_CHANNEL_SIZE;
      for (size_t i = 0; i < 4096; ++i) c[i] = uint8_t(rng());
      *reinterpret_cast<uint32_t*>(c) = 1;  // looks submitted
    }
    memset(region + 32, 0xFF, 32);  // every pending bit
    // A normal call rings the doorbell; it may fail or the task may be cut off.
    mach_port_t p = MACH_PORT_NULL;
    mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p);
    usleep(200000);
    return 0;
  });
  reap_within(vandal, 10000);
  EXPECT_TRUE(wait_for_tasks(base_tasks));
  // machd and every other task carry on.
  pid_t good = spawn_task([&] { return send_simple(look_up(name), 5, "still here") == MACH_MSG_SUCCESS ? 0 : 1; });
  SimpleRcv r;
  ASSERT_EQ(receive_simple(port, r, 5000), MACH_MSG_SUCCESS);
  EXPECT_EQ(r.msg.value, 5);
  EXPECT_EQ(wait_exit(good), 0);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Robustness, MalformedMessagesGetMachErrorsNotCrashes) {
  mach_port_t port = make_port();
  // Too small.
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  h.msgh_remote_port = port;
  h.msgh_size = 8;
  EXPECT_EQ(mach_msg(&h, MACH_SEND_MSG, 8, 0, 0, 0, 0), MACH_SEND_MSG_TOO_SMALL);
  // Invalid destination name.
  h.msgh_size = sizeof h;
  h.msgh_remote_port = 0x12345678;
  EXPECT_EQ(mach_msg(&h, MACH_SEND_MSG, sizeof h, 0, 0, 0, 0), MACH_SEND_INVALID_DEST);
  // A complex message whose descriptor count runs past its size.
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
  } m{};
  m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  m.head.msgh_size = sizeof m;
  m.head.msgh_remote_port = port;
  m.body.msgh_descriptor_count = 1000;
  mach_msg_return_t mr = mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, 0, 0, 0);
  EXPECT_NE(mr, MACH_MSG_SUCCESS);
  // Receive on a name that is not a receive right.
  SimpleRcv r;
  EXPECT_EQ(receive_simple(0x7777, r, 0), MACH_RCV_INVALID_NAME);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
}

// What a flood of messages cost machd goes back to the system once the
// messages are received: 128 MiB of 64 KiB messages (the size that stays in
// machd's heap) queued, then received, and machd's resident memory comes
// back to within 24 MiB of where it was.
TEST(Robustness, MachdGivesTheMemoryOfAFloodBackOnceItIsReceived) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "a sanitizer build of machd allocates through AddressSanitizer, which keeps freed memory in "
                  "quarantine: glibc's trim does not apply";
#endif
  constexpr size_t kBody = 64 * 1024;
  constexpr int kPorts = 2, kPerPort = 1024;
  struct Msg {
    mach_msg_header_t head;
    uint8_t body[kBody];
    mach_msg_max_trailer_t trailer;
  };
  const uint64_t before = holdings().rss_bytes;
  ASSERT_GT(before, 0u);
  auto m = std::make_unique<Msg>();
  memset(m->body, 0x5a, sizeof m->body);
  mach_port_t ports[kPorts];
  for (mach_port_t& p : ports) {
    p = make_port();
    set_qlimit(p, kPerPort);
    for (int i = 0; i < kPerPort; ++i) {
      m->head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MAKE_SEND, 0);
      m->head.msgh_remote_port = p;
      m->head.msgh_local_port = MACH_PORT_NULL;
      m->head.msgh_size = offsetof(Msg, trailer);
      ASSERT_EQ(mach_msg(&m->head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, offsetof(Msg, trailer), 0, MACH_PORT_NULL, 0,
                         MACH_PORT_NULL),
                MACH_MSG_SUCCESS)
          << i;
    }
  }
  const uint64_t flooded = holdings().rss_bytes;
  EXPECT_GT(flooded, before + 100 * 1024 * 1024) << "the flood is in machd's memory";
  for (mach_port_t p : ports)
    for (int i = 0; i < kPerPort; ++i)
      ASSERT_EQ(mach_msg(&m->head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof(Msg), p, 1000, MACH_PORT_NULL),
                MACH_MSG_SUCCESS);
  uint64_t after = holdings().rss_bytes;
  for (int i = 0; i < 50 && after > before + 24 * 1024 * 1024; ++i) {
    usleep(100000);
    after = holdings().rss_bytes;
  }
  printf("machd resident: %.1f MiB before, %.1f MiB with the flood queued, %.1f MiB after it was received\n",
         before / 1048576.0, flooded / 1048576.0, after / 1048576.0);
  EXPECT_LE(after, before + 24 * 1024 * 1024);
  for (mach_port_t p : ports) mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
}
