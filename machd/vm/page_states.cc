// machd/vm/page_states.cc — see page_states.h.
#include "page_states.h"

#include <algorithm>

namespace machd::vm {

uint8_t PageStates::get(uint64_t i) const {
  auto it = chunks_.find(i / kChunkPages);
  return it == chunks_.end() ? 0 : it->second->bytes[i % kChunkPages];
}

void PageStates::set(uint64_t i, uint8_t v) {
  const uint64_t n = i / kChunkPages;
  auto it = chunks_.find(n);
  if (it == chunks_.end()) {
    if (v == 0) return;
    it = chunks_.emplace(n, std::make_unique<Chunk>()).first;
    order_.insert(n);
  }
  Chunk& c = *it->second;
  uint8_t& b = c.bytes[i % kChunkPages];
  if (b == 0 && v != 0) ++c.nonzero;
  if (b != 0 && v == 0) --c.nonzero;
  b = v;
  if (c.nonzero == 0) {
    chunks_.erase(it);
    order_.erase(n);
  }
}

uint64_t PageStates::scan(const Chunk& c, uint64_t base, uint64_t from, uint64_t end) {
  const uint64_t lim = std::min(end - base, kChunkPages);
  for (uint64_t k = from - base; k < lim; ++k)
    if (c.bytes[k] != 0) return base + k;
  return end;
}

uint64_t PageStates::next_nonzero(uint64_t from, uint64_t end) const {
  if (from >= end) return end;
  // The chunk of `from` (maybe present), then the present chunks after it.
  for (auto n = order_.lower_bound(from / kChunkPages); n != order_.end(); ++n) {
    const uint64_t base = *n * kChunkPages;
    if (base >= end) break;
    const uint64_t found = scan(*chunks_.at(*n), base, std::max(from, base), end);
    if (found != end) return found;
  }
  return end;
}

void PageStates::clear() {
  chunks_.clear();
  order_.clear();
}

}  // namespace machd::vm
