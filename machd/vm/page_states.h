// machd/vm/page_states.h — a byte of state per page of a memory object,
// held sparsely: the memory it takes follows the pages whose byte is not
// zero, not the size of the object (a task may map a terabyte of a pager's
// object and touch three pages of it).
//
// Pages are grouped in chunks of kChunkPages bytes. A chunk is allocated by
// the first non-zero write to one of its pages and freed as soon as all its
// pages are zero again; a page of an absent chunk reads 0. The chunks are
// kept in order by number, so next_nonzero() steps over absent chunks
// without visiting their pages. The fault path reads and writes pages near
// each other (a cluster, a range): the last chunk looked up (present or
// absent) is remembered, and a lookup in it costs a comparison. Not for use
// by two threads at once (a read updates that memory).
#pragma once

#include <cstdint>
#include <map>
#include <memory>

namespace machd::vm {

class PageStates {
 public:
  static constexpr uint64_t kChunkPages = 4096;

  // Page i's byte: 0 if it was never set, or was set back to 0. O(1) in
  // the chunk looked up last, O(log chunks) elsewhere.
  uint8_t get(uint64_t i) const;

  // Page i's byte becomes v. Allocates the page's chunk if v is not 0 and
  // the chunk is absent; frees it if this makes all its pages 0. Costs as
  // get(), plus O(log chunks) when a chunk is allocated or freed.
  void set(uint64_t i, uint8_t v);

  // set(i, get(i) | bits) and set(i, get(i) & ~bits).
  void add(uint64_t i, uint8_t bits) { set(i, uint8_t(get(i) | bits)); }
  void remove(uint64_t i, uint8_t bits) { set(i, uint8_t(get(i) & ~bits)); }

  // The first page in [from, end) whose byte is not 0; end if there is
  // none (or from >= end). Absent chunks are skipped whole: the cost is
  // O(log chunks) per chunk stepped over plus the pages looked at inside
  // the chunks present, so a loop
  //   for (i = next_nonzero(a, b); i < b; i = next_nonzero(i + 1, b))
  // visits exactly the non-zero pages of [a, b), in order, and costs what
  // the chunks present cost, not what b - a is. The loop may set bytes as
  // it goes (each call looks at the table as it is then).
  uint64_t next_nonzero(uint64_t from, uint64_t end) const;

  // Every byte becomes 0 and every chunk is freed.
  void clear();

  // Chunks allocated now (each kChunkPages bytes and a few words): the
  // memory held is proportional to this, hence to the pages touched.
  uint64_t chunks() const { return chunks_.size(); }

 private:
  struct Chunk {
    uint32_t nonzero = 0;  // pages whose byte is not 0 (never 0 while allocated)
    uint8_t bytes[kChunkPages] = {};
  };

  // The first non-zero page of chunk c at or after page index `from`
  // (inside c) and before `end`; `end` if none.
  static uint64_t scan(const Chunk& c, uint64_t base, uint64_t from, uint64_t end);

  // Chunk n, or null if it is absent (through the one-entry cache).
  Chunk* chunk(uint64_t n) const;

  static constexpr uint64_t kNoChunk = ~uint64_t(0);
  std::map<uint64_t, std::unique_ptr<Chunk>> chunks_;  // by chunk number (page / kChunkPages)
  mutable uint64_t cached_number_ = kNoChunk;         // the chunk looked up last...
  mutable Chunk* cached_ = nullptr;                    // ...and where it is (null: absent)
};

}  // namespace machd::vm
