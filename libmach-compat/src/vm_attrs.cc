// libmach-compat/src/vm_attrs.cc — see vm_attrs.h.
#include "vm_attrs.h"

#include <iterator>
#include <map>
#include <mutex>
#include <new>

namespace machcompat::vm_attrs {

namespace {

struct Seg {
  uint64_t end;
  vm_prot_t max;
  bool permanent;
  vm_inherit_t inherit;
  bool is_default() const { return max == VM_PROT_ALL && !permanent && inherit == VM_INHERIT_COPY; }
};

std::mutex g_mu;
std::map<uint64_t, Seg> g_segs;  // disjoint, by start

// Splits the segment containing x (if any) at x. Caller holds g_mu.
void split_at(uint64_t x) {
  auto it = g_segs.upper_bound(x);
  if (it == g_segs.begin()) return;
  --it;
  if (it->first < x && x < it->second.end) {
    Seg tail = it->second;
    it->second.end = x;
    g_segs.emplace(x, tail);
  }
}

// Makes [start, end) covered by segments (defaults in the gaps) and calls
// fn on each. Caller holds g_mu.
template <typename Fn>
void update(uint64_t start, uint64_t end, Fn fn) {
  split_at(start);
  split_at(end);
  uint64_t at = start;
  auto it = g_segs.lower_bound(start);
  while (at < end) {
    if (it == g_segs.end() || it->first > at) {
      uint64_t gap_end = (it == g_segs.end() || it->first > end) ? end : it->first;
      it = g_segs.emplace_hint(it, at, Seg{gap_end, VM_PROT_ALL, false, VM_INHERIT_COPY});
    }
    fn(it->second);
    at = it->second.end;
    ++it;
  }
  // Drop segments back at the defaults.
  for (auto i = g_segs.lower_bound(start); i != g_segs.end() && i->first < end;)
    i = i->second.is_default() ? g_segs.erase(i) : std::next(i);
}

}  // namespace

vm_prot_t max_protection(uint64_t start, uint64_t end) {
  std::lock_guard<std::mutex> lk(g_mu);
  vm_prot_t m = VM_PROT_ALL;
  auto it = g_segs.upper_bound(start);
  if (it != g_segs.begin()) --it;
  for (; it != g_segs.end() && it->first < end; ++it)
    if (it->second.end > start) m &= it->second.max;
  return m;
}

void set_max_protection(uint64_t start, uint64_t end, vm_prot_t max) {
  std::lock_guard<std::mutex> lk(g_mu);
  update(start, end, [max](Seg& s) { s.max = max; });
}

bool any_permanent(uint64_t start, uint64_t end) {
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_segs.upper_bound(start);
  if (it != g_segs.begin()) --it;
  for (; it != g_segs.end() && it->first < end; ++it)
    if (it->second.end > start && it->second.permanent) return true;
  return false;
}

void set_permanent(uint64_t start, uint64_t end) {
  std::lock_guard<std::mutex> lk(g_mu);
  update(start, end, [](Seg& s) { s.permanent = true; });
}

void set_inherit(uint64_t start, uint64_t end, vm_inherit_t inherit) {
  std::lock_guard<std::mutex> lk(g_mu);
  update(start, end, [inherit](Seg& s) { s.inherit = inherit; });
}

std::vector<Piece> pieces(uint64_t start, uint64_t end) {
  std::vector<Piece> out;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    uint64_t at = start;
    auto it = g_segs.upper_bound(start);
    if (it != g_segs.begin()) --it;
    for (; it != g_segs.end() && it->first < end && at < end; ++it) {
      if (it->second.end <= at) continue;
      if (it->first > at) out.push_back(Piece{at, it->first, VM_PROT_ALL, false, VM_INHERIT_COPY});
      uint64_t s = it->first > at ? it->first : at;
      uint64_t e = it->second.end < end ? it->second.end : end;
      out.push_back(Piece{s, e, it->second.max, it->second.permanent, it->second.inherit});
      at = e;
    }
    if (at < end) out.push_back(Piece{at, end, VM_PROT_ALL, false, VM_INHERIT_COPY});
  }
  return out;
}

void forget(uint64_t start, uint64_t end) {
  std::lock_guard<std::mutex> lk(g_mu);
  split_at(start);
  split_at(end);
  for (auto it = g_segs.lower_bound(start); it != g_segs.end() && it->first < end;) it = g_segs.erase(it);
}

void after_fork_child() { new (&g_mu) std::mutex; }

void drop_inherit_none() {
  std::lock_guard<std::mutex> lk(g_mu);
  for (auto it = g_segs.begin(); it != g_segs.end();)
    it = it->second.inherit == VM_INHERIT_NONE ? g_segs.erase(it) : std::next(it);
}

}  // namespace machcompat::vm_attrs
