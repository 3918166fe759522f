// tests/fuzz/fuzz_fast_lanes.cc — the fast lanes (machd_abi.h: send credits,
// the send ring, receive lanes) as a hostile task scribbles them. The task
// gets credits and a lent lane the honest way (mach_msg through channels),
// then writes whatever it likes into its fast-lane header, send ring slots,
// lane slots and agent header between machd's passes (FastLanes::service,
// Daemon::on_doorbell) and its own calls. machd must not crash, must not
// post more than it credited, and must leave nothing behind once the task
// is gone (credits, lanes, lent messages).
//
// Input: records of
//   u8 what: low 2 bits the area (0 fast header, 1 send ring, 2 lane slots,
//            3 agent header), high 4 bits what the task does next
//            (0 nothing, 1 ring the doorbell, 2 receive on the port through a
//            channel, 3 send to it through a channel, 4 destroy the port,
//            5 ask its status, other: ring)
//   u32 offset (modulo the area's size), u8 length (at most 64), the bytes.
// After the last record the doorbell is rung once more and the task hangs up.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "daemon_probe.h"
#include "fuzz_seeds.h"

namespace {

using machd::probe;

struct Area {
  uint64_t offset;
  uint64_t size;
};
constexpr Area kAreas[4] = {
    {MACHD_FAST_OFFSET, MACHD_REGION_HEADER_SIZE - MACHD_FAST_OFFSET},
    {MACHD_SEND_RING_OFFSET, uint64_t(MACHD_SEND_SLOTS) * MACHD_SEND_SLOT_SIZE},
    {MACHD_LANES_OFFSET, uint64_t(MACHD_LANES) * MACHD_LANE_SLOTS * MACHD_LANE_SLOT_SIZE},
    {MACHD_AGENT_OFFSET, MACHD_AGENT_HEADER_SIZE},
};

struct Patch {
  uint8_t what;
  uint32_t offset;
  uint8_t length;
} __attribute__((packed));

// The honest part: a port with a send right and a queue limit of 64, a
// lane lending what a receive left queued, and a credit for the port (a
// send-only message). Returns the port.
mach_port_name_t set_up() {
  auto& p = probe();
  uint64_t args[MACHD_CH_ARGS] = {p.task_self(), MACH_PORT_RIGHT_RECEIVE};
  if (!p.submit(1, MACHD_OP_PORT_ALLOCATE, args, nullptr, 0)) return MACH_PORT_NULL;
  const mach_port_name_t port = mach_port_name_t(p.ret(1, 0));
  uint64_t insert[MACHD_CH_ARGS] = {p.task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND};
  p.submit(1, MACHD_OP_PORT_INSERT_RIGHT, insert, nullptr, 0);
  // Room for credits next to what is queued (the default limit is 5).
  const uint32_t qlimit = 64;
  uint64_t limits[MACHD_CH_ARGS] = {p.task_self(), port, MACH_PORT_LIMITS_INFO, 1};
  p.submit(1, MACHD_OP_PORT_SET_ATTRIBUTES, limits, reinterpret_cast<const uint8_t*>(&qlimit), sizeof qlimit);
  const std::vector<uint8_t> m = machd::fuzzseeds::simple_message(port, MACH_MSG_TYPE_COPY_SEND, 0, 0, 7, 8);
  for (int i = 0; i < 4; ++i) p.msg(1, m, MACH_PORT_NULL);
  p.msg(1, {}, port);                 // takes one, lends the rest
  p.msg(1, m, MACH_PORT_NULL);        // a credit again
  return port;
}

void act(uint32_t action, mach_port_name_t port) {
  auto& p = probe();
  switch (action) {
    case 0: return;
    case 2: p.msg(2, {}, port); return;
    case 3: p.msg(2, machd::fuzzseeds::simple_message(port, MACH_MSG_TYPE_COPY_SEND, 0, 0, 8, 8), MACH_PORT_NULL); return;
    case 4: {
      uint64_t args[MACHD_CH_ARGS] = {p.task_self(), port, MACH_PORT_RIGHT_RECEIVE, uint64_t(-1)};
      p.submit(2, MACHD_OP_PORT_MOD_REFS, args, nullptr, 0);
      return;
    }
    case 5: {
      uint64_t args[MACHD_CH_ARGS] = {p.task_self(), port, MACH_PORT_RECEIVE_STATUS, MACH_PORT_RECEIVE_STATUS_COUNT};
      p.submit(2, MACHD_OP_PORT_GET_ATTRIBUTES, args, nullptr, 0);
      return;
    }
    default: p.ring(); return;
  }
}

bool run_one(const uint8_t* data, size_t size) {
  auto& p = probe();
  if (!p.connect(/*fast_lanes=*/true)) return true;
  const mach_port_name_t port = set_up();
  while (size >= sizeof(Patch) && p.connected()) {
    Patch h;
    std::memcpy(&h, data, sizeof h);
    data += sizeof h;
    size -= sizeof h;
    const Area& a = kAreas[h.what & 3];
    const size_t len = std::min<size_t>({h.length, 64, size});
    const uint64_t off = h.offset % a.size;
    const size_t n = std::min<size_t>(len, a.size - off);
    std::memcpy(p.region() + a.offset + off, data, n);
    data += len;
    size -= len;
    act(h.what >> 4, port);
  }
  if (p.connected()) p.ring();
  return p.disconnect();
}

// ---- seeds: what an honest client writes --------------------------------------

void patch(std::vector<uint8_t>& out, uint8_t what, uint64_t region_offset, const void* bytes, size_t n) {
  const Area& a = kAreas[what & 3];
  Patch h{what, uint32_t(region_offset - a.offset), uint8_t(n)};
  const auto* b = reinterpret_cast<const uint8_t*>(&h);
  out.insert(out.end(), b, b + sizeof h);
  out.insert(out.end(), static_cast<const uint8_t*>(bytes), static_cast<const uint8_t*>(bytes) + n);
}

void write_seeds(const std::string& dir) {
  auto& p = probe();
  if (!p.connect(true)) std::exit(1);
  const mach_port_name_t port = set_up();
  const machd_fast_header* f = p.fast();
  const uint32_t ci = (port >> 8) % MACHD_CREDITS;
  const uint64_t credit = f->credits[ci];
  const uint64_t head = f->lanes[0].head;
  const uint32_t tail = f->lanes[0].tail;
  p.disconnect();
  if (MACHD_CREDIT_NAME(credit) != port || MACHD_CREDIT_COUNT(credit) == 0 || MACHD_LANE_HEAD_NAME(head) != port) {
    std::fprintf(stderr, "no credit or lane after set-up (credit %#llx, lane head %#llx)\n",
                 (unsigned long long)credit, (unsigned long long)head);
    std::exit(1);
  }
  const uint64_t fast = MACHD_FAST_OFFSET;
  using machd::fuzzseeds::write_seed;

  // Two sends through the credit: count down, positions 0 and 1, slots
  // written, MACHD_ASYNC_SEND, doorbell.
  std::vector<uint8_t> s;
  const uint64_t less = credit - 2;
  patch(s, 0, fast + offsetof(machd_fast_header, credits) + ci * 8, &less, 8);
  const uint64_t tail_pos = 2;
  patch(s, 0, fast + offsetof(machd_fast_header, send_tail), &tail_pos, 8);
  const std::vector<uint8_t> m = machd::fuzzseeds::simple_message(port, MACH_MSG_TYPE_COPY_SEND, 0, 0, 9, 8);
  for (uint64_t pos = 0; pos < 2; ++pos) {
    uint8_t slot[16 + 32] = {};
    const uint64_t seq = pos + 1;
    const uint32_t key = ci | (MACHD_CREDIT_EPOCH(credit) << 16);
    const uint32_t size = uint32_t(m.size());
    std::memcpy(slot, &seq, 8);
    std::memcpy(slot + 8, &key, 4);
    std::memcpy(slot + 12, &size, 4);
    std::memcpy(slot + 16, m.data(), m.size());
    patch(s, 1, MACHD_SEND_RING_OFFSET + pos * MACHD_SEND_SLOT_SIZE, slot, sizeof slot);
  }
  const uint32_t pending = MACHD_ASYNC_SEND;
  patch(s, 0x10, fast + offsetof(machd_fast_header, async_pending), &pending, 4);
  write_seed(dir, "credit_sends", s);

  // A receive through the lane: take the first lent message (head index + 1),
  // then settle, then a receive through a channel (the lane closes).
  s.clear();
  const uint64_t taken = MACHD_LANE_HEAD(port, 0, MACHD_LANE_HEAD_INDEX(head) + 1);
  patch(s, 0, fast + offsetof(machd_fast_header, lanes), &taken, 8);
  const uint32_t settle = MACHD_ASYNC_SETTLE;
  patch(s, 0x10, fast + offsetof(machd_fast_header, async_pending), &settle, 4);
  patch(s, 0x20, fast + offsetof(machd_fast_header, lanes) + 8, &tail, 4);
  write_seed(dir, "lane_take", s);

  // The port destroyed while it has a credit and a lane.
  s.clear();
  patch(s, 0x40, fast + offsetof(machd_fast_header, async_pending), &pending, 4);
  patch(s, 0x30, fast + offsetof(machd_fast_header, async_pending), &settle, 4);
  write_seed(dir, "destroy_with_lane", s);
}

}  // namespace

namespace machd::fuzz_target {
bool run_one(const uint8_t* data, size_t size) { return ::run_one(data, size); }
void write_seeds(const std::string& dir) { ::write_seeds(dir); }
}  // namespace machd::fuzz_target
