// machd/ipc/space.cc — names, generations and the send-right reverse map.
#include "space.h"

#include <cstdint>

namespace machd::ipc {

namespace {
constexpr uint32_t kGenOne = 0x04000000u;   // XNU IE_BITS_GEN_ONE
constexpr uint32_t kInitialGen = kGenMask;  // first use gives generation 0x03
constexpr uint32_t next_gen(uint32_t gen) { return (gen + kGenOne) & kGenMask; }
}  // namespace

// ---- SendHash ---------------------------------------------------------------

size_t SendHash::slot_of(const Port* port) const {
  uint64_t h = reinterpret_cast<uintptr_t>(port);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<size_t>(h) & (slots_.size() - 1);
}

bool SendHash::find(const Port* port, uint32_t* index) const {
  if (count_ == 0) return false;
  const size_t mask = slots_.size() - 1;
  for (size_t i = slot_of(port);; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.key == nullptr) return false;
    if (s.key == port) {
      *index = s.index;
      return true;
    }
  }
}

void SendHash::grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
  count_ = 0;
  for (const Slot& s : old)
    if (s.key) insert(s.key, s.index);
}

void SendHash::insert(const Port* port, uint32_t index) {
  if ((count_ + 1) * 4 > slots_.size() * 3) grow();
  const size_t mask = slots_.size() - 1;
  for (size_t i = slot_of(port);; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.key == nullptr || s.key == port) {
      if (s.key == nullptr) count_++;
      s.key = port;
      s.index = index;
      return;
    }
  }
}

void SendHash::erase(const Port* port) {
  if (count_ == 0) return;
  const size_t mask = slots_.size() - 1;
  size_t i = slot_of(port);
  for (;; i = (i + 1) & mask) {
    if (slots_[i].key == nullptr) return;
    if (slots_[i].key == port) break;
  }
  // Backward-shift deletion keeps probe chains intact without tombstones.
  size_t hole = i;
  for (size_t j = (hole + 1) & mask; slots_[j].key != nullptr; j = (j + 1) & mask) {
    size_t home = slot_of(slots_[j].key);
    bool movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
  count_--;
  if (count_ == 0) std::vector<Slot>().swap(slots_);
}

// ---- Space ------------------------------------------------------------------

Entry* Space::lookup(mach_port_name_t name) {
  uint32_t index = MACH_PORT_INDEX(name);
  if (index == 0 || index >= table.size()) return nullptr;
  Entry& e = table[index];
  if (!e.in_use() || e.gen() != MACH_PORT_GEN(name)) return nullptr;
  return &e;
}

kern_return_t Space::alloc(mach_port_name_t* name, uint32_t* index) {
  while (!free_idx.empty()) {
    uint32_t i = free_idx.back();
    free_idx.pop_back();
    if (i < table.size() && !table[i].in_use()) {
      Entry& e = table[i];
      e.bits = next_gen(e.gen());
      e.object = nullptr;
      e.request = 0;
      in_use++;
      *index = i;
      *name = name_of(i);
      return KERN_SUCCESS;
    }
  }
  if (table.size() >= limit) return KERN_NO_SPACE;
  uint32_t i = static_cast<uint32_t>(table.size());
  table.push_back(Entry{nullptr, next_gen(kInitialGen), 0});
  in_use++;
  *index = i;
  *name = name_of(i);
  return KERN_SUCCESS;
}

kern_return_t Space::alloc_name(mach_port_name_t name, uint32_t* index, bool* existing) {
  *existing = false;
  if (!MACH_PORT_VALID(name) || (name & 3u) != 3u) return KERN_INVALID_VALUE;
  uint32_t i = MACH_PORT_INDEX(name);
  uint32_t gen = MACH_PORT_GEN(name);
  if (i == 0) return KERN_FAILURE;  // XNU ipc_entry_alloc_name: index 0 is never a name
  if (i >= limit) return KERN_NO_SPACE;
  if (i >= table.size()) {
    size_t old = table.size();
    table.resize(i + 1, Entry{nullptr, kInitialGen, 0});
    for (size_t k = i; k-- > old;) free_idx.push_back(static_cast<uint32_t>(k));
  }
  Entry& e = table[i];
  if (e.in_use()) {
    if (e.gen() != gen) return KERN_NAME_EXISTS;
    *existing = true;
    *index = i;
    return KERN_SUCCESS;
  }
  e.bits = gen;  // the requested generation, no rights yet
  e.object = nullptr;
  e.request = 0;
  in_use++;
  *index = i;
  return KERN_SUCCESS;
}

void Space::dealloc(uint32_t index) {
  Entry& e = table[index];
  e.bits = e.gen();
  e.object = nullptr;
  e.request = 0;
  in_use--;
  free_idx.push_back(index);
}

}  // namespace machd::ipc
