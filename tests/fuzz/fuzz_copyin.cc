// tests/fuzz/fuzz_copyin.cc — message copyin with descriptors (machd/ipc):
// a task sends arbitrary message bytes, with whatever out-of-line regions
// and port arrays it supplies, through the IPC core; what was queued is then
// received by every port it could reach. Every send ends in success or a
// MACH_SEND_* error, and once the tasks are gone nothing is left (the
// leak check of tests/ipc/harness.h, whose fixture this reuses).
//
// Input: u8 options (bit 0: MACH_SEND_NOTIFY-free send with a timeout of 0
// instead of none, bits 1-2: which receive options the drain uses), u8
// regions (low 2 bits: count, each then u8 size and that many bytes), u8
// arrays (low 2 bits: count, each then u8 count and that many u32 names),
// then the message. The sending task's names are the same for every input:
// four receive rights with send rights, a port set, its task port, and a
// send right to a port of a second task.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_seeds.h"
#include "harness.h"

namespace machd::ipc::test {
namespace {

class CopyinFixture final : public IpcTest {
 public:
  void TestBody() override {}

  void run(const uint8_t* data, size_t size);
  void write_seeds(const std::string& dir);

 private:
  // The sender and its names (see the file comment).
  void set_up();
  TaskId a_ = kNoTask, b_ = kNoTask;
  std::vector<mach_port_name_t> names_;
};

void CopyinFixture::set_up() {
  a_ = task();
  b_ = task();
  for (int i = 0; i < 4; i++) names_.push_back(port_with_send(a_));
  mach_port_name_t set = MACH_PORT_NULL;
  k.port_allocate(a_, MACH_PORT_RIGHT_PORT_SET, &set);
  names_.push_back(set);
  names_.push_back(k.task_self_name(a_));
  names_.push_back(give_send(b_, recv_port(b_), a_));
}

void CopyinFixture::run(const uint8_t* data, size_t size) {
  set_up();
  size_t at = 0;
  auto byte = [&]() -> uint8_t { return at < size ? data[at++] : 0; };
  const uint8_t options = byte();
  {
    // Scoped: the arguments and the outcome go before the leak check (a
    // failed send leaves the sender what it supplied).
    SendArgs args;
    for (uint32_t n = byte() & 3u; n > 0; --n) {
      const size_t len = std::min<size_t>(byte(), size - at);
      args.ool.push_back(len ? std::make_unique<BytesPayload>(std::vector<uint8_t>(data + at, data + at + len))
                             : nullptr);
      at += len;
    }
    for (uint32_t n = byte() & 3u; n > 0; --n) {
      std::vector<mach_port_name_t> ports(std::min<size_t>(byte(), (size - at) / 4));
      if (!ports.empty()) std::memcpy(ports.data(), data + at, ports.size() * 4);
      at += ports.size() * 4;
      args.ool_ports.push_back(std::move(ports));
    }
    args.msg.assign(data + at, data + size);
    MsgArgs ma;
    ma.options = MACH_SEND_MSG | MACH_SEND_TIMEOUT;
    ma.timeout = (options & 1) ? 0 : 10;
    ma.send = std::move(args);
    MsgOutcome o = k.msg(a_, next_waiter(), std::move(ma), now_);
    if (o.blocked) {
      std::fprintf(stderr, "a send with a timeout blocked\n");
      std::abort();
    }
    const mach_msg_return_t mr = o.done.result & ~MACH_MSG_MASK;
    if (mr != MACH_MSG_SUCCESS && (mr & 0xFFFFF000u) != 0x10000000u) {
      std::fprintf(stderr, "a send ended in %s, not a MACH_SEND_* error\n", mr_name(o.done.result).c_str());
      std::abort();
    }
  }
  // Whatever was queued is received (decoded and checked by the harness).
  static constexpr mach_msg_option_t kDrain[4] = {0, MACH_RCV_LARGE, MACH_RCV_VOUCHER,
                                                  MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AV)};
  for (size_t n = 0; n < 4; n++)
    while (receive(a_, names_[n], kDrain[(options >> 1) & 3], 1 << 16).mr == MACH_MSG_SUCCESS) {
    }
  expect_no_leaks();
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "the IPC core leaked (see the expectations above)\n");
    std::abort();
  }
}

// ---- seeds: messages encoded by the harness, as a client lays them out -------

void serialize(const std::string& dir, const char* name, const SendArgs& args, uint8_t options = 0) {
  std::vector<uint8_t> s{options, uint8_t(args.ool.size())};
  for (const auto& p : args.ool) {
    const auto* b = static_cast<const BytesPayload*>(p.get());
    const size_t n = b ? std::min<size_t>(b->data.size(), 255) : 0;
    s.push_back(uint8_t(n));
    if (n) s.insert(s.end(), b->data.begin(), b->data.begin() + long(n));
  }
  s.push_back(uint8_t(args.ool_ports.size()));
  for (const auto& ports : args.ool_ports) {
    s.push_back(uint8_t(ports.size()));
    const auto* b = reinterpret_cast<const uint8_t*>(ports.data());
    s.insert(s.end(), b, b + ports.size() * 4);
  }
  s.insert(s.end(), args.msg.begin(), args.msg.end());
  fuzzseeds::write_seed(dir, name, s);
}

void CopyinFixture::write_seeds(const std::string& dir) {
  set_up();
  const mach_port_name_t p0 = names_[0], p1 = names_[1], p2 = names_[2], set = names_[4], self = names_[5],
                         other = names_[6];
  serialize(dir, "simple", simple(p0, 100).encode());
  Msg m = simple(p0, 101);
  m.local = p1;
  m.local_disp = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  m.data = {1, 2, 3, 4, 5, 6, 7, 8};
  serialize(dir, "with_reply", m.encode());
  m = simple(p0, 102);
  m.descs = {Desc::port(p1, MACH_MSG_TYPE_MAKE_SEND), Desc::port(p2, MACH_MSG_TYPE_COPY_SEND),
             Desc::port(self, MACH_MSG_TYPE_COPY_SEND), Desc::port(other, MACH_MSG_TYPE_MOVE_SEND)};
  serialize(dir, "port_descriptors", m.encode());
  m = simple(p0, 103);
  m.descs = {Desc::memory({1, 2, 3, 4, 5, 6, 7, 8}), Desc::memory({}, false, MACH_MSG_PHYSICAL_COPY),
             Desc::port_array({p1, p2, self}, MACH_MSG_TYPE_MAKE_SEND_ONCE)};
  serialize(dir, "ool_memory_and_ports", m.encode(), 1);
  m = simple(p0, 104);
  m.descs = {Desc::guarded(p2, 0x1234, MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE),
             Desc::port(p1, MACH_MSG_TYPE_MOVE_RECEIVE)};
  serialize(dir, "move_receive", m.encode(), 2);
  m = simple(set, 105);
  serialize(dir, "to_port_set", m.encode());
  m = simple(other, 106, MACH_MSG_TYPE_MOVE_SEND);
  m.descs = {Desc::port_array({other, p0}, MACH_MSG_TYPE_COPY_SEND)};
  serialize(dir, "to_other_task", m.encode(), 4);
  expect_no_leaks();
}

}  // namespace
}  // namespace machd::ipc::test

using machd::ipc::test::CopyinFixture;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("MACHD_FUZZ_WRITE_SEEDS")) {
    CopyinFixture().write_seeds(dir);
    std::exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CopyinFixture().run(data, size);
  return 0;
}
