// tests/vm/page_states_test.cc — the rules of machd/vm/page_states.h: a
// byte per page, held sparsely in chunks that exist only while one of their
// pages is not zero.
#include "vm/page_states.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

using machd::vm::PageStates;

namespace {

constexpr uint64_t kChunk = PageStates::kChunkPages;
constexpr uint64_t kTiBPages = (uint64_t(1) << 40) / 4096;

TEST(PageStates, PagesNeverSetReadZeroAndTakeNoChunk) {
  PageStates s;
  EXPECT_EQ(s.get(0), 0);
  EXPECT_EQ(s.get(kTiBPages - 1), 0);
  EXPECT_EQ(s.get(UINT64_MAX), 0);
  s.set(12345, 0);  // writing 0 to an absent chunk allocates nothing
  EXPECT_EQ(s.chunks(), 0u);
  EXPECT_EQ(s.next_nonzero(0, kTiBPages), kTiBPages);
}

TEST(PageStates, APageReadsWhatWasLastSetAndItsNeighboursStayZero) {
  PageStates s;
  s.set(kChunk + 7, 0x21);
  s.add(kChunk + 7, 0x04);
  EXPECT_EQ(s.get(kChunk + 7), 0x25);
  s.remove(kChunk + 7, 0x01);
  EXPECT_EQ(s.get(kChunk + 7), 0x24);
  EXPECT_EQ(s.get(kChunk + 6), 0);
  EXPECT_EQ(s.get(kChunk + 8), 0);
  EXPECT_EQ(s.get(7), 0);
  EXPECT_EQ(s.get(2 * kChunk + 7), 0);
}

TEST(PageStates, AChunkIsFreedWhenItsLastNonZeroPageReturnsToZero) {
  PageStates s;
  s.set(3 * kChunk + 1, 5);
  s.set(3 * kChunk + 2, 6);
  EXPECT_EQ(s.chunks(), 1u);
  s.set(3 * kChunk + 1, 0);
  EXPECT_EQ(s.chunks(), 1u) << "a page of the chunk is still 6";
  s.remove(3 * kChunk + 2, 6);
  EXPECT_EQ(s.chunks(), 0u);
  EXPECT_EQ(s.get(3 * kChunk + 2), 0);
  EXPECT_EQ(s.next_nonzero(0, 10 * kChunk), 10 * kChunk);
  s.set(3 * kChunk + 2, 1);  // and comes back, zeroed, when touched again
  EXPECT_EQ(s.get(3 * kChunk + 1), 0);
  EXPECT_EQ(s.get(3 * kChunk + 2), 1);
}

TEST(PageStates, ClearZeroesEveryPageAndFreesEveryChunk) {
  PageStates s;
  for (uint64_t i = 0; i < 10; ++i) s.set(i * kTiBPages / 10, uint8_t(i + 1));
  EXPECT_EQ(s.chunks(), 10u);
  s.clear();
  EXPECT_EQ(s.chunks(), 0u);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(s.get(i * kTiBPages / 10), 0);
}

TEST(PageStates, MemoryFollowsTheChunksTouchedNotTheRangeSpanned) {
  PageStates s;
  // A page at each end of a terabyte of pages: two chunks.
  s.set(0, 1);
  s.set(kTiBPages - 1, 1);
  EXPECT_EQ(s.chunks(), 2u);
  // Every page of one chunk: still one chunk for them.
  for (uint64_t i = 0; i < kChunk; ++i) s.set(kTiBPages / 2 - kChunk / 2 + i, 3);
  EXPECT_EQ(s.chunks(), 4u) << "the run straddles two chunks";
  // 100 pages far apart: one chunk each.
  for (uint64_t k = 1; k <= 100; ++k) s.set(k * 1000 * kChunk + 17, 2);
  EXPECT_EQ(s.chunks(), 104u);
}

TEST(PageStates, NextNonZeroVisitsExactlyTheNonZeroPagesInOrder) {
  PageStates s;
  std::mt19937_64 rng(7);
  std::set<uint64_t> set;
  for (int k = 0; k < 2000; ++k) {
    // Clustered and scattered pages over a terabyte's worth.
    const uint64_t i = (k % 2) ? rng() % kTiBPages : (rng() % 64) * kChunk + rng() % (3 * kChunk);
    s.set(i, uint8_t(1 + rng() % 255));
    set.insert(i);
  }
  // Some back to zero (and their chunks maybe freed).
  for (auto it = set.begin(); it != set.end();) {
    if (rng() % 3 == 0) {
      s.set(*it, 0);
      it = set.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<uint64_t> seen;
  for (uint64_t i = s.next_nonzero(0, kTiBPages); i < kTiBPages; i = s.next_nonzero(i + 1, kTiBPages)) seen.push_back(i);
  EXPECT_EQ(seen, std::vector<uint64_t>(set.begin(), set.end()));
  // A sub-range that starts and ends inside chunks.
  const uint64_t a = 5 * kChunk + 100, b = 40 * kChunk + 3;
  seen.clear();
  for (uint64_t i = s.next_nonzero(a, b); i < b; i = s.next_nonzero(i + 1, b)) seen.push_back(i);
  EXPECT_EQ(seen, std::vector<uint64_t>(set.lower_bound(a), set.lower_bound(b)));
}

TEST(PageStates, NextNonZeroStopsAtTheEndOfItsRange) {
  PageStates s;
  s.set(10, 1);
  EXPECT_EQ(s.next_nonzero(0, 10), 10u) << "page 10 is outside [0, 10)";
  EXPECT_EQ(s.next_nonzero(0, 11), 10u);
  EXPECT_EQ(s.next_nonzero(11, 5), 5u) << "an empty range answers its end";
  s.set(kChunk + 1, 1);
  EXPECT_EQ(s.next_nonzero(11, kChunk + 1), kChunk + 1);
}

TEST(PageStates, ALoopMayClearThePagesItVisits) {
  PageStates s;
  for (uint64_t k = 0; k < 5; ++k) s.set(k * 3 * kChunk + k, uint8_t(k + 1));
  int visited = 0;
  for (uint64_t i = s.next_nonzero(0, kTiBPages); i < kTiBPages; i = s.next_nonzero(i + 1, kTiBPages)) {
    s.set(i, 0);  // frees the chunk under the loop
    ++visited;
  }
  EXPECT_EQ(visited, 5);
  EXPECT_EQ(s.chunks(), 0u);
}

// Stepping over absent chunks does not visit their pages: a walk over 2^52
// pages (the whole 64-bit offset space) with three pages set finishes at
// once (a page-by-page walk would take days).
TEST(PageStates, NextNonZeroStepsOverAbsentChunksWithoutVisitingTheirPages) {
  PageStates s;
  const uint64_t end = uint64_t(1) << 52;
  s.set(1, 1);
  s.set(end / 2, 1);
  s.set(end - 1, 1);
  std::vector<uint64_t> seen;
  for (uint64_t i = s.next_nonzero(0, end); i < end; i = s.next_nonzero(i + 1, end)) seen.push_back(i);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, end / 2, end - 1}));
}

}  // namespace

// The one-entry cache and the word-at-a-time scan against a plain model:
// random reads, writes (zeros included, so chunks come and go) and scans
// over a few neighbouring chunks, every scan starting at any byte offset.
TEST(PageStates, AgreesWithAPlainModelUnderRandomReadsWritesAndScans) {
  PageStates s;
  std::map<uint64_t, uint8_t> model;  // the pages whose byte is not 0
  std::mt19937_64 rng(42);
  const uint64_t span = 4 * kChunk;
  for (int step = 0; step < 200000; ++step) {
    const uint64_t i = rng() % span;
    switch (rng() % 4) {
      case 0: {
        // Few pages are non-zero at a time, so chunks empty and come back often.
        const uint8_t v = (rng() % 2 == 0) ? 0 : uint8_t(rng() % 255 + 1);
        s.set(i, v);
        if (v == 0) model.erase(i);
        else model[i] = v;
        break;
      }
      case 1: {
        auto it = model.find(i);
        ASSERT_EQ(s.get(i), it == model.end() ? 0 : it->second) << "page " << i << " at step " << step;
        break;
      }
      case 2: {
        const uint64_t end = std::min(span, i + rng() % (2 * kChunk));
        auto it = model.lower_bound(i);
        const uint64_t want = (it == model.end() || it->first >= end) ? end : it->first;
        ASSERT_EQ(s.next_nonzero(i, end), want) << "from " << i << " to " << end << " at step " << step;
        break;
      }
      default: {
        // Clear a run of pages, up to a chunk long, as a flush does.
        const uint64_t run = rng() % 2 == 0 ? 64 : kChunk;
        for (uint64_t k = i; k < std::min(span, i + run); ++k) {
          s.set(k, 0);
          model.erase(k);
        }
        break;
      }
    }
  }
  uint64_t with_pages = 0;
  for (uint64_t c = 0; c < 4; ++c) {
    auto it = model.lower_bound(c * kChunk);
    if (it != model.end() && it->first < (c + 1) * kChunk) ++with_pages;
  }
  EXPECT_EQ(s.chunks(), with_pages) << "exactly the chunks holding a non-zero page";
}
