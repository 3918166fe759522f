// tests/ipc/fuzz_test.cc — the message copyin decoder under hostile bytes:
// random and mutated messages never crash, never leak, and every failure is
// a MACH_SEND_* code. Seeded (IPC_FUZZ_SEED, IPC_FUZZ_ITERS).
#include <cstdlib>
#include <random>

#include "harness.h"

namespace machd::ipc::test {
namespace {

using FuzzTest = IpcTest;

TEST_F(FuzzTest, RandomAndMutatedMessagesNeverCrashOrLeak) {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("IPC_FUZZ_SEED")) seed = std::strtoull(s, nullptr, 0);
  uint64_t iters = 30000;
  if (const char* s = std::getenv("IPC_FUZZ_ITERS")) iters = std::strtoull(s, nullptr, 0);
  std::printf("FuzzTest seed: IPC_FUZZ_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };

  TaskId a = task();
  std::vector<mach_port_name_t> names;
  for (int i = 0; i < 4; i++) names.push_back(port_with_send(a));
  mach_port_name_t set;
  ASSERT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_PORT_SET, &set), KERN_SUCCESS);
  names.push_back(set);
  names.push_back(k.task_self_name(a));
  // Plausible words make the decoder go deeper than pure noise would.
  auto word = [&]() -> uint32_t {
    switch (pick(6)) {
      case 0: return names[pick(static_cast<uint32_t>(names.size()))];
      case 1: return MACH_MSG_TYPE_MOVE_RECEIVE + pick(8);
      case 2: return pick(64);
      case 3: return (MACH_MSG_TYPE_MOVE_RECEIVE + pick(7)) << 16 | pick(6) << 24;
      case 4: return MACH_MSGH_BITS_SET(17 + pick(5), pick(22), pick(20), pick(2) ? MACH_MSGH_BITS_COMPLEX : 0);
      default: return static_cast<uint32_t>(rng());
    }
  };

  for (uint64_t i = 0; i < iters; i++) {
    SendArgs args;
    if (pick(2)) {
      // Pure structure-aware noise.
      uint32_t words = 6 + pick(24);
      for (uint32_t w = 0; w < words; w++) {
        uint32_t v = word();
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        args.msg.insert(args.msg.end(), p, p + 4);
      }
      if (pick(4) == 0) args.msg.resize(args.msg.size() - pick(4));
    } else {
      // A valid message, then mutated.
      Msg m = simple(names[pick(4)], 1, MACH_MSG_TYPE_COPY_SEND);
      m.descs = {Desc::port(names[pick(4)], MACH_MSG_TYPE_MAKE_SEND), Desc::memory({1, 2, 3, 4, 5, 6, 7, 8}),
                 Desc::port_array({names[pick(4)], names[pick(4)]}, MACH_MSG_TYPE_MAKE_SEND_ONCE)};
      args = m.encode();
      for (uint32_t f = 1 + pick(4); f > 0; f--) args.msg[pick(static_cast<uint32_t>(args.msg.size()))] ^= 1u << pick(8);
    }
    // Random OOL material (often not matching the descriptors).
    for (uint32_t o = pick(3); o > 0; o--)
      args.ool.push_back(pick(3) ? std::make_unique<BytesPayload>(std::vector<uint8_t>(pick(16), 1)) : nullptr);
    for (uint32_t o = pick(3); o > 0; o--) {
      std::vector<mach_port_name_t> ports;
      for (uint32_t q = pick(4); q > 0; q--) ports.push_back(word());
      args.ool_ports.push_back(ports);
    }
    MsgArgs ma;
    ma.options = MACH_SEND_MSG | MACH_SEND_TIMEOUT;
    ma.send = std::move(args);
    MsgOutcome o = k.msg(a, next_waiter(), std::move(ma), now_);
    ASSERT_FALSE(o.blocked);
    const mach_msg_return_t mr = o.done.result & ~MACH_MSG_MASK;
    ASSERT_TRUE(mr == MACH_MSG_SUCCESS || (mr & 0xFFFFF000u) == 0x10000000u)
        << "unexpected result " << mr_name(o.done.result) << " at iteration " << i << " seed " << seed;
    // Keep queues short and rights bounded: drain everything received.
    if (i % 8 == 0) {
      for (size_t n = 0; n + 2 < names.size(); n++) {
        while (true) {
          Received r = receive(a, names[n], MACH_RCV_LARGE, 1 << 16);
          if (r.mr != MACH_MSG_SUCCESS) break;
        }
      }
      // Rebuild the name list if rights were consumed.
      for (size_t n = 0; n < 4; n++) {
        mach_port_type_t ty = 0;
        if (k.port_type(a, names[n], &ty) != KERN_SUCCESS || !(ty & MACH_PORT_TYPE_RECEIVE))
          names[n] = port_with_send(a);
      }
      // Names the received messages created are dropped wholesale.
      if (i % 512 == 0) {
        kill(a);
        a = task();
        names.clear();
        for (int q = 0; q < 4; q++) names.push_back(port_with_send(a));
        ASSERT_EQ(k.port_allocate(a, MACH_PORT_RIGHT_PORT_SET, &set), KERN_SUCCESS);
        names.push_back(set);
        names.push_back(k.task_self_name(a));
      }
    }
  }
}

TEST_F(FuzzTest, TruncatedDescriptorsAreMessageTooSmall) {
  TaskId a = task();
  mach_port_name_t p = port_with_send(a);
  Msg m = simple(p, 1);
  m.descs = {Desc::memory({1, 2, 3, 4})};
  for (size_t cut = 4; cut <= 16; cut += 4) {
    SendArgs args = m.encode();
    args.msg.resize(args.msg.size() - cut);
    MsgArgs ma;
    ma.options = MACH_SEND_MSG;
    ma.send = std::move(args);
    EXPECT_EQ(k.msg(a, next_waiter(), std::move(ma), now_).done.result, MACH_SEND_MSG_TOO_SMALL);
  }
  EXPECT_EQ(refs(a, p, MACH_PORT_RIGHT_SEND), 1u);
}

}  // namespace
}  // namespace machd::ipc::test
