// When machd looks at its free heap memory (daemon/memory_return.h): at
// most once a period, again at the end of a busy period, never for an idle
// machd; and free memory above the bound goes back to the system.
#include <gtest/gtest.h>
#include <malloc.h>

#include <vector>

#include "daemon/memory_return.h"

using machd::MemoryReturn;

namespace {
constexpr uint64_t kPeriod = MemoryReturn::kPeriodNs;
}

TEST(MemoryReturn, ABusyMachdIsCalledBackAtTheNextCheckAndAnIdleOneNever) {
  MemoryReturn m;
  const uint64_t t0 = 5 * kPeriod;
  EXPECT_EQ(m.tick(t0), std::nullopt);                      // the first turn checks at once
  EXPECT_EQ(m.tick(t0 + 1), std::optional<uint64_t>(t0 + kPeriod));  // busy: a check is due then
  EXPECT_EQ(m.tick(t0 + kPeriod), std::nullopt);            // the check, and nothing after it
  EXPECT_EQ(m.tick(t0 + 5 * kPeriod), std::nullopt);        // idle since: nothing to look at
  EXPECT_EQ(m.tick(t0 + 5 * kPeriod + 1), std::optional<uint64_t>(t0 + 6 * kPeriod));
}

TEST(MemoryReturn, FreeHeapMemoryAboveTheBoundIsGivenBack) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's allocator replaces glibc's: no glibc heap to measure or trim";
#endif
  MemoryReturn::configure_allocator();
  MemoryReturn m;
  uint64_t now = kPeriod;
  m.tick(now);  // the first check
  const uint64_t trims = m.trims();
  // 32 MiB in blocks below the mmap threshold, kept apart by live ones so
  // the heap's top cannot simply shrink.
  std::vector<void*> freed, kept;
  for (int i = 0; i < 1024; ++i) {
    freed.push_back(malloc(32 * 1024));
    kept.push_back(malloc(64));
  }
  for (void* p : freed) free(p);
  EXPECT_GT(mallinfo2().fordblks, MemoryReturn::kKeepBytes);
  m.tick(now + 1);           // busy
  m.tick(now + kPeriod);     // the check
  EXPECT_EQ(m.trims(), trims + 1);
  for (void* p : kept) free(p);
}
