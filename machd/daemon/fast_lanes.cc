// machd/daemon/fast_lanes.cc — see fast_lanes.h.
#include "fast_lanes.h"

#include "kern/trace.h"

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
constexpr uint64_t kFilled = ~uint64_t(0);  // a hole of drain_send_ring posted since

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
  used_.erase(std::remove(used_.begin(), used_.end(), &it->second), used_.end());
  tasks_.erase(it);
}

FastLanes::Task* FastLanes::find(uint64_t sid) {
  auto it = tasks_.find(sid);
  return it == tasks_.end() ? nullptr : &it->second;
}

void FastLanes::service(std::vector<uint64_t>& violators) {
  // (Lanes are topped up when their receiver traps, not here: lending after
  // every drain measured slower, the receiver then took smaller batches.)
  for (size_t i = 0; i < used_.size(); ++i) {
    Task* t = used_[i];
    if (atomic(t->fast->async_pending).load(std::memory_order_relaxed) == 0) continue;
    uint32_t what = atomic(t->fast->async_pending).exchange(0, std::memory_order_acq_rel);
    if ((what & MACHD_ASYNC_SEND) && !drain_send_ring(*t)) {
      violators.push_back(t->sid);
      continue;
    }
    if (what & MACHD_ASYNC_SETTLE) settle_lanes(*t);
  }
}

// Posts every written slot from send_head on, in position order. A slot a
// thread has taken but not written yet (preempted between its fetch_add and
// its seq store, or in a signal handler) does not hold back the others: they
// are posted around it, and send_head moves only over a consumed prefix.
// One thread takes its positions in order and writes them in that order; so
// before a written slot is posted, every hole before it is looked at again:
// once the later slot's seq has been read (acquire), an earlier slot of the
// same thread is visible as written, and goes first. Every send that has
// returned is posted by the next drain, so anything after it sees it sent.
bool FastLanes::drain_send_ring(Task& t) {
  uint64_t window = atomic(t.fast->send_tail).load(std::memory_order_acquire) - t.send_head;
  if (window > MACHD_SEND_SLOTS) window = MACHD_SEND_SLOTS;  // (only a scribbled tail gets here)
  PostCache cache;
  holes_.clear();
  for (uint64_t pos = t.send_head; pos < t.send_head + window; ++pos) {
    if (t.consumed[pos % MACHD_SEND_SLOTS]) continue;
    if (!slot_written(t, pos)) {
      holes_.push_back(pos);
      continue;
    }
    for (size_t h = 0; h < holes_.size(); ++h) {
      if (holes_[h] == kFilled || !slot_written(t, holes_[h])) continue;
      if (!post_slot(t, holes_[h], cache)) return false;
      holes_[h] = kFilled;
    }
    if (!post_slot(t, pos, cache)) return false;
  }
  while (t.consumed[t.send_head % MACHD_SEND_SLOTS]) {
    t.consumed[t.send_head % MACHD_SEND_SLOTS] = false;
    ++t.send_head;
  }
  return true;
}

bool FastLanes::slot_written(Task& t, uint64_t pos) {
  return atomic(send_slot(t.region, pos)->seq).load(std::memory_order_acquire) == pos + 1;
}

bool FastLanes::post_slot(Task& t, uint64_t pos, PostCache& cache) {
  machd_send_slot* slot = send_slot(t.region, pos);
  // One copy of each field, then only the copy is used.
  const uint32_t key = atomic(slot->credit).load(std::memory_order_relaxed);
  const uint32_t size = atomic(slot->size).load(std::memory_order_relaxed);
  if (size < sizeof(mach_msg_header_t) || size > MACHD_SEND_MSG_MAX) return false;
  t.consumed[pos % MACHD_SEND_SLOTS] = true;
  // A stream uses one credit for many messages. (An empty cache is always
  // looked up: a slot may name any key, the empty cache's ~0u included.)
  if (cache.info == nullptr || key != cache.key) {
    auto k = t.by_key.find(key);
    if (k == t.by_key.end()) return false;
    auto c = credits_.find(k->second);
    if (c == credits_.end()) return false;
    cache = PostCache{key, k->second, &c->second};
  }
  if (cache.info->remaining == 0) return false;
  cache.info->remaining--;
  // The core copies the message out of the slot once, then checks its copy.
  const uint64_t closes = closes_;
  // Traced: a copy of what the post reads (the slot stays the sender's).
  const bool traced = kern::tracer_count() != 0 && post_observer_;
  uint8_t copy[MACHD_SEND_MSG_MAX];
  if (traced) memcpy(copy, slot->msg, size);
  const mach_msg_return_t mr = kernel_.credit_post(t.task, cache.id, std::span<const uint8_t>(slot->msg, size));
  if (traced) post_observer_(t.task, copy, size, mr);
  if (mr != MACH_MSG_SUCCESS) return false;
  if (closes_ != closes) cache = PostCache{};  // a credit closed: `info` may be gone
  return true;
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
  // Positions the task may take: fewer than a ring's worth ahead of the
  // oldest unconsumed one (a slot not written yet holds send_head back), so
  // a position never lands on a slot still in use.
  uint64_t window = atomic(t.fast->send_tail).load(std::memory_order_acquire) - t.send_head;
  if (window > MACHD_SEND_SLOTS) return;  // scribbled: no more credits
  uint64_t used = window;  // and the credited slots not posted or returned yet
  for (const auto& [key, id] : t.by_key)
    if (auto c = credits_.find(id); c != credits_.end()) used += c->second.remaining;
  if (used + 2 >= MACHD_SEND_SLOTS) return;
  const uint32_t want = std::min<uint32_t>(kMaxCreditsPerGrant, uint32_t(MACHD_SEND_SLOTS - 1 - used));
  uint16_t epoch = uint16_t(slot.epoch + 1);
  while (t.by_key.count(i | (uint32_t(epoch) << 16))) ++epoch;  // still in flight under that epoch
  ipc::CreditGrant g = kernel_.credit_grant(t.task, name, want);
  if (g.count == 0) return;
  const uint32_t key = i | (uint32_t(epoch) << 16);
  slot = CreditSlot{g.id, name, epoch};
  t.by_key[key] = g.id;
  credits_[g.id] = CreditInfo{t.sid, key, g.count};
  if (!t.used) {
    t.used = true;
    used_.push_back(&t);
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
  bool senders_blocked = false;
  const uint32_t n = room ? kernel_.lane_lend(t.task, name, lane_id(t.sid, i), room, MACHD_LANE_IMAGE_MAX, images_,
                                              &senders_blocked)
                          : 0;
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
  // Senders wait for room: the receiver reports what it takes, so they get
  // in as it takes (without a trap of its own it would never tell).
  if (senders_blocked) atomic(shared.flags).fetch_or(MACHD_LANE_SENDERS_WAITING, std::memory_order_seq_cst);
  atomic(shared.tail).store(lane.tail, std::memory_order_release);
  if (!t.used) {
    t.used = true;
    used_.push_back(&t);
  }
}

uint32_t FastLanes::reclaim(Task& t, uint32_t i, bool close) {
  LaneState& lane = t.lanes[i];
  if (!lane.open) return 0;
  machd_lane& shared = t.fast->lanes[i];
  const uint64_t head = close ? atomic(shared.head).fetch_or(0x80000000ull, std::memory_order_acq_rel)
                              : atomic(shared.head).load(std::memory_order_seq_cst);
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
    atomic(t->fast->lanes[i].flags).fetch_or(MACHD_LANE_SENDERS_WAITING, std::memory_order_seq_cst);
  return reclaim(*t, i, close);
}

}  // namespace machd
