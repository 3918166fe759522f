// tests/ipc/fake_hooks.h — a scripted LaneHooks (the daemon's side of the
// fast lanes) that records every call, and a fixture that installs it.
#pragma once

#include <map>
#include <utility>
#include <vector>

#include "harness.h"

namespace machd::ipc::test {

class FakeHooks : public LaneHooks {
 public:
  // credit_revoke answers unused[id] if scripted, else `unused_default`
  // (the core clamps it to what the credit still reserves).
  std::map<CreditId, uint32_t> unused;
  uint32_t unused_default = 0xFFFFFFFFu;
  // lane_reclaim answers consumed[lane] and resets it to 0 (the count is
  // "since the previous call").
  std::map<LaneId, uint32_t> consumed;

  std::vector<CreditId> revoked;
  std::vector<CreditId> closed;
  std::vector<std::pair<LaneId, bool>> reclaims;

  uint32_t credit_revoke(CreditId id) override {
    revoked.push_back(id);
    auto it = unused.find(id);
    return it == unused.end() ? unused_default : it->second;
  }
  void credit_closed(CreditId id) override { closed.push_back(id); }
  uint32_t lane_reclaim(LaneId lane, bool close) override {
    reclaims.emplace_back(lane, close);
    uint32_t n = consumed[lane];
    consumed[lane] = 0;
    return n;
  }
};

class LaneTest : public IpcTest {
 protected:
  void SetUp() override { k.set_lane_hooks(&hooks); }
  void TearDown() override {
    IpcTest::TearDown();  // the leak check: tasks die while the hooks still answer
    k.set_lane_hooks(nullptr);
  }

  // Two tasks: `b` holds a receive right `p`, `a` a send right `s` to it.
  void connect() {
    a = task();
    b = task();
    p = recv_port(b);
    s = give_send(b, p, a);
  }

  // The user bytes of a simple COPY_SEND message to `dest`, as a credited
  // sender writes them into its ring.
  static std::vector<uint8_t> simple_bytes(mach_port_name_t dest, mach_msg_id_t id) {
    Msg m;
    m.remote = dest;
    m.id = id;
    m.data = {1, 2, 3, 4};
    return m.encode().msg;
  }

  // Lends everything lendable of `name` to `lane` (large slots).
  std::vector<std::vector<uint8_t>> lend(TaskId t, mach_port_name_t name, LaneId lane,
                                         uint32_t max = 64, uint32_t max_image = 4096) {
    std::vector<std::vector<uint8_t>> out;
    const uint32_t n = k.lane_lend(t, name, lane, max, max_image, out);
    EXPECT_LE(n, out.size());
    out.resize(n);
    return out;
  }

  static mach_msg_max_trailer_t trailer_of(const std::vector<uint8_t>& image) {
    mach_msg_header_t h;
    std::memcpy(&h, image.data(), sizeof h);
    mach_msg_max_trailer_t t{};
    const size_t at = round_msg(h.msgh_size);
    EXPECT_EQ(image.size(), at + sizeof t);
    if (image.size() >= at + sizeof t) std::memcpy(&t, image.data() + at, sizeof t);
    return t;
  }

  static mach_msg_header_t header_of(const std::vector<uint8_t>& image) {
    mach_msg_header_t h;
    std::memcpy(&h, image.data(), sizeof h);
    return h;
  }

  // Receive options asking for the seqno trailer.
  static constexpr mach_msg_option_t kSeqno = MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_SEQNO);

  FakeHooks hooks;
  TaskId a = kNoTask, b = kNoTask;
  mach_port_name_t p = MACH_PORT_NULL, s = MACH_PORT_NULL;
};

}  // namespace machd::ipc::test
