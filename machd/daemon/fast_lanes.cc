// machd/daemon/fast_lanes.cc — see fast_lanes.h.
#include "fast_lanes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "session.h"

namespace machd {

namespace {

template <typename T>
std::atomic_ref<T> atomic(T& v) { return std::atomic_ref<T>(v); }

constexpr uint32_t kIndexMask = 0x7fffffffu;
constexpr uint32_t kMaxCreditsPerGrant = 256;

machd_send_slot* send_slot(uint8_t* region, uint64_t pos) {
  return reinterpret_cast<machd_send_slot*>(region + MACHD_SEND_RING_OFFSET +
                                            (pos % MACHD_SEND_SLOTS) * MACHD_SEND_SLOT_SIZE);
}

machd_lane_slot* lane_slot(uint8_t* region, uint32_t lane, uint32_t index) {
  return reinterpret_cast<machd_lane_slot*>(
      region + MACHD_LANES_OFFSET +
      (uint64_t(lane) * MACHD_LANE_SLOTS + index % MACHD_LANE_SLOTS) * MACHD_LANE_SLOT_SIZE);
}

// A send that the fast lane could carry: simple, copy-send, no reply.
bool fast_sendable(const uint8_t* msg, size_t size) {
  if (size < sizeof(mach_msg_header_t) || size > MACHD_SEND_MSG_MAX) return false;
  mach_msg_header_t h;
  memcpy(&h, msg, sizeof h);
  return h.msgh_bits == MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) && h.msgh_size == size &&
         h.msgh_local_port == MACH_PORT_NULL && h.msgh_voucher_port == MACH_PORT_NULL &&
         MACH_PORT_VALID(h.msgh_remote_port);
}

}  // namespace

FastLanes::FastLanes(ipc::Kernel& kernel) : kernel_(kernel) { kernel_.set_lane_hooks(this); }

FastLanes::~FastLanes() { kernel_.set_lane_hooks(nullptr); }

void FastLanes::attach(Session& s) {
  Task& t = tasks_[s.id()];
  t.sid = s.id();
  t.task = s.task;
  t.region = s.region();
  t.fast = reinterpret_cast<machd_fast_header*>(s.region() + MACHD_FAST_OFFSET);
}

void FastLanes::retire(uint64_t sid) {
  if (Task* t = find(sid); t && t->used) drain_send_ring(*t);  // stops at the first bad entry
}

void FastLanes::detach(uint64_t sid) {
  auto it = tasks_.find(sid);
  if (it == tasks_.end()) return;
  for (auto& [key, id] : it->second.by_key) credits_.erase(id);
  tasks_.erase(it);
  used_.erase(std::remove(used_.begin(), used_.end(), sid), used_.end());
}

FastLanes::Task* FastLanes::find(uint64_t sid) {
  auto it = tasks_.find(sid);
  return it == tasks_.end() ? nullptr : &it->second;
}

void FastLanes::service(std::vector<uint64_t>& violators) {
  // (Lanes are topped up when their receiver traps, not here: lending after
  // every drain measured slower, the receiver then took smaller batches.)
  for (size_t i = 0; i < used_.size(); ++i) {
    Task* t = find(used_[i]);
    if (t == nullptr || atomic(t->fast->async_pending).load(std::memory_order_relaxed) == 0) continue;
    uint32_t what = atomic(t->fast->async_pending).exchange(0, std::memory_order_acq_rel);
    if ((what & MACHD_ASYNC_SEND) && !drain_send_ring(*t)) {
      violators.push_back(t->sid);
      continue;
    }
    if (what & MACHD_ASYNC_SETTLE) settle_lanes(*t);
  }
}

bool FastLanes::drain_send_ring(Task& t) {
  uint32_t cached_key = ~0u;
  ipc::CreditId cached_id = 0;
  CreditInfo* cached = nullptr;
  for (;;) {
    machd_send_slot* slot = send_slot(t.region, t.send_head);
    if (atomic(slot->seq).load(std::memory_order_acquire) != t.send_head + 1) return true;
    // One copy of everything, then only the copy is used.
    const uint32_t key = atomic(slot->credit).load(std::memory_order_relaxed);
    const uint32_t size = atomic(slot->size).load(std::memory_order_relaxed);
    if (size < sizeof(mach_msg_header_t) || size > MACHD_SEND_MSG_MAX) return false;
    ++t.send_head;
    if (key != cached_key) {  // a stream uses one credit for many messages
      auto k = t.by_key.find(key);
      if (k == t.by_key.end()) return false;
      auto c = credits_.find(k->second);
      if (c == credits_.end()) return false;
      cached_key = key;
      cached_id = k->second;
      cached = &c->second;
    }
    if (cached->remaining == 0) return false;
    cached->remaining--;
    t.outstanding--;
    // The core copies the message out of the slot once, then checks its copy.
    const uint64_t closes = closes_;
    if (kernel_.credit_post(t.task, cached_id, std::span<const uint8_t>(slot->msg, size)) != MACH_MSG_SUCCESS)
      return false;
    if (closes_ != closes) cached_key = ~0u;  // a credit closed: `cached` may be gone
  }
}

void FastLanes::settle_lanes(Task& t) {
  for (uint32_t i = 0; i < MACHD_LANES; ++i) {
    if (!t.lanes[i].open) continue;
    uint32_t n = reclaim(t, i, false);
    if (n) kernel_.lane_settle(lane_id(t.sid, i), n, false);
  }
}

void FastLanes::after_msg(Session& s, mach_msg_option_t options, const uint8_t* msg, size_t size,
                          mach_port_name_t rcv_name, mach_msg_return_t result) {
  Task* t = find(s.id());
  if (t == nullptr || result != MACH_MSG_SUCCESS) return;
  if ((options & MACH_SEND_MSG) && !(options & MACH_RCV_MSG) && fast_sendable(msg, size)) {
    mach_msg_header_t h;
    memcpy(&h, msg, sizeof h);
    grant(*t, h.msgh_remote_port);
  }
  if ((options & MACH_RCV_MSG) && MACH_PORT_VALID(rcv_name)) lend(*t, rcv_name);
}

void FastLanes::grant(Task& t, mach_port_name_t name) {
  const uint32_t i = (name >> 8) % MACHD_CREDITS;
  CreditSlot& slot = t.slots[i];
  if (slot.id != 0) {
    // A credit for another name keeps its slot while the task can still use it.
    uint64_t w = atomic(t.fast->credits[i]).load(std::memory_order_acquire);
    if (slot.name != name && MACHD_CREDIT_COUNT(w) != 0) return;
    kernel_.credit_revoke(slot.id);  // calls credit_revoke() below: the slot is free
  }
  if (t.outstanding + 2 > MACHD_SEND_SLOTS) return;
  const uint32_t want = std::min<uint32_t>(kMaxCreditsPerGrant, MACHD_SEND_SLOTS - 1 - t.outstanding);
  uint16_t epoch = uint16_t(slot.epoch + 1);
  while (t.by_key.count(i | (uint32_t(epoch) << 16))) ++epoch;  // still in flight under that epoch
  ipc::CreditGrant g = kernel_.credit_grant(t.task, name, want);
  if (g.count == 0) return;
  const uint32_t key = i | (uint32_t(epoch) << 16);
  slot = CreditSlot{g.id, name, epoch};
  t.by_key[key] = g.id;
  credits_[g.id] = CreditInfo{t.sid, key, g.count};
  t.outstanding += g.count;
  if (!t.used) {
    t.used = true;
    used_.push_back(t.sid);
  }
  atomic(t.fast->credits[i]).store(MACHD_CREDIT(name, epoch, g.count), std::memory_order_release);
}

uint32_t FastLanes::credit_revoke(ipc::CreditId id) {
  auto c = credits_.find(id);
  if (c == credits_.end()) return 0;
  Task* t = find(c->second.sid);
  if (t == nullptr) return 0;
  const uint32_t i = c->second.key & 0xffu;
  CreditSlot& slot = t->slots[i];
  if (slot.id != id) return 0;  // already taken back from the task
  uint64_t old = atomic(t->fast->credits[i]).exchange(MACHD_CREDIT(slot.name, slot.epoch, 0), std::memory_order_acq_rel);
  uint32_t unused = 0;
  if (MACHD_CREDIT_NAME(old) == slot.name && MACHD_CREDIT_EPOCH(old) == slot.epoch)
    unused = std::min(MACHD_CREDIT_COUNT(old), c->second.remaining);
  slot.id = 0;
  c->second.remaining -= unused;
  t->outstanding -= unused;
  return unused;
}

void FastLanes::credit_closed(ipc::CreditId id) {
  ++closes_;
  auto c = credits_.find(id);
  if (c == credits_.end()) return;
  if (Task* t = find(c->second.sid)) {
    const uint32_t i = c->second.key & 0xffu;
    if (t->slots[i].id == id) {
      atomic(t->fast->credits[i]).store(MACHD_CREDIT(t->slots[i].name, t->slots[i].epoch, 0), std::memory_order_release);
      t->slots[i].id = 0;
    }
    t->outstanding -= std::min(t->outstanding, c->second.remaining);
    t->by_key.erase(c->second.key);
  }
  credits_.erase(c);
}

void FastLanes::lend(Task& t, mach_port_name_t name) {
  uint32_t i = MACHD_LANES;
  for (uint32_t j = 0; j < MACHD_LANES; ++j) {
    if (t.lanes[j].open && t.lanes[j].name == name) {
      i = j;
      break;
    }
    if (!t.lanes[j].open && i == MACHD_LANES) i = j;
  }
  if (i == MACHD_LANES) return;  // every lane in use
  LaneState& lane = t.lanes[i];
  if (lane.open) {
    if (uint32_t n = reclaim(t, i, false)) kernel_.lane_settle(lane_id(t.sid, i), n, false);
  }
  const uint32_t room = lane.open ? MACHD_LANE_SLOTS - ((lane.tail - lane.base) & kIndexMask) : MACHD_LANE_SLOTS;
  // The core takes the lane for the port only when it lends something.
  const uint32_t n = room ? kernel_.lane_lend(t.task, name, lane_id(t.sid, i), room, MACHD_LANE_IMAGE_MAX, images_) : 0;
  if (n == 0) return;
  machd_lane& shared = t.fast->lanes[i];
  if (!lane.open) {
    lane = LaneState{true, name, lane.tail, lane.tail};
    atomic(shared.flags).store(0, std::memory_order_relaxed);
    atomic(shared.tail).store(lane.tail, std::memory_order_relaxed);
    atomic(shared.head).store(MACHD_LANE_HEAD(name, 0, lane.tail), std::memory_order_release);
  }
  for (uint32_t k = 0; k < n; ++k) {
    const std::vector<uint8_t>& img = images_[k];
    machd_lane_slot* slot = lane_slot(t.region, i, lane.tail);
    mach_msg_header_t h;
    memcpy(&h, img.data(), sizeof h);  // machd's own copy, not the slot
    slot->size = h.msgh_size;
    memcpy(slot->image, img.data(), std::min<size_t>(img.size(), MACHD_LANE_IMAGE_MAX));
    lane.tail = (lane.tail + 1) & kIndexMask;
  }
  atomic(shared.tail).store(lane.tail, std::memory_order_release);
  if (!t.used) {
    t.used = true;
    used_.push_back(t.sid);
  }
}

uint32_t FastLanes::reclaim(Task& t, uint32_t i, bool close) {
  LaneState& lane = t.lanes[i];
  if (!lane.open) return 0;
  machd_lane& shared = t.fast->lanes[i];
  const uint64_t head = close ? atomic(shared.head).fetch_or(0x80000000ull, std::memory_order_acq_rel)
                              : atomic(shared.head).load(std::memory_order_acquire);
  const uint32_t lent = (lane.tail - lane.base) & kIndexMask;
  uint32_t taken = (MACHD_LANE_HEAD_INDEX(head) - lane.base) & kIndexMask;
  if (MACHD_LANE_HEAD_NAME(head) != lane.name || taken > lent) taken = lent;  // scribbled on: clamp
  lane.base = (lane.base + taken) & kIndexMask;
  if (close) {
    lane.open = false;
    atomic(shared.flags).store(0, std::memory_order_relaxed);
  }
  return taken;
}

uint32_t FastLanes::lane_reclaim(ipc::LaneId lane, bool close) {
  Task* t = find(lane >> 8);
  const uint32_t i = uint32_t(lane & 0xffu) - 1;
  if (t == nullptr || i >= MACHD_LANES) return 0;
  // Without `close` the core is a sender that found the port full: from now
  // on the receiver tells machd as it takes messages, so room is seen.
  if (!close && t->lanes[i].open)
    atomic(t->fast->lanes[i].flags).fetch_or(MACHD_LANE_SENDERS_WAITING, std::memory_order_release);
  return reclaim(*t, i, close);
}

}  // namespace machd
