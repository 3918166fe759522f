// machd/vm/page_states.cc — see page_states.h.
#include "page_states.h"

#include <algorithm>
#include <cstring>

namespace machd::vm {

PageStates::Chunk* PageStates::chunk(uint64_t n) const {
  if (n == cached_number_) return cached_;
  auto it = chunks_.find(n);
  cached_number_ = n;
  cached_ = it == chunks_.end() ? nullptr : it->second.get();
  return cached_;
}

uint8_t PageStates::get(uint64_t i) const {
  const Chunk* c = chunk(i / kChunkPages);
  return c == nullptr ? 0 : c->bytes[i % kChunkPages];
}

void PageStates::set(uint64_t i, uint8_t v) {
  const uint64_t n = i / kChunkPages;
  Chunk* c = chunk(n);
  if (c == nullptr) {
    if (v == 0) return;
    c = chunks_.emplace(n, std::make_unique<Chunk>()).first->second.get();
    cached_ = c;  // cached_number_ is n already
  }
  uint8_t& b = c->bytes[i % kChunkPages];
  if (b == 0 && v != 0) ++c->nonzero;
  if (b != 0 && v == 0) --c->nonzero;
  b = v;
  if (c->nonzero == 0) {
    chunks_.erase(n);
    cached_ = nullptr;  // chunk n is absent now
  }
}

uint64_t PageStates::scan(const Chunk& c, uint64_t base, uint64_t from, uint64_t end) {
  const uint64_t lim = std::min(end - base, kChunkPages);
  uint64_t k = from - base;
  // A byte at a time to a word boundary, then a word at a time: most pages
  // of a sparse chunk are 0.
  for (; k < lim && k % 8 != 0; ++k)
    if (c.bytes[k] != 0) return base + k;
  for (; k + 8 <= lim; k += 8) {
    uint64_t word;
    memcpy(&word, c.bytes + k, sizeof word);
    if (word != 0) break;
  }
  for (; k < lim; ++k)
    if (c.bytes[k] != 0) return base + k;
  return end;
}

uint64_t PageStates::next_nonzero(uint64_t from, uint64_t end) const {
  if (from >= end) return end;
  // The chunk of `from` (maybe present), then the present chunks after it.
  for (auto it = chunks_.lower_bound(from / kChunkPages); it != chunks_.end(); ++it) {
    const uint64_t base = it->first * kChunkPages;
    if (base >= end) break;
    const uint64_t found = scan(*it->second, base, std::max(from, base), end);
    if (found != end) return found;
  }
  return end;
}

void PageStates::clear() {
  chunks_.clear();
  cached_number_ = kNoChunk;
  cached_ = nullptr;
}

}  // namespace machd::vm
