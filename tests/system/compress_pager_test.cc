// tests/system/compress_pager_test.cc — pagers/compress-pager, the program,
// against the test's machd: data written by client tasks goes back to the
// pager (when the last mapping goes, or when the pager evicts it) and comes
// back equal when mapped again; the statistics it prints say what it holds.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "pager_program.h"
#include "support.h"

using namespace systest;

namespace {

constexpr uint64_t kPage = 4096;

// What the tests write at `off`: text-like, so that it compresses.
uint8_t content(uint64_t off) { return uint8_t("compressible page "[off % 18] + (off / kPage) % 3); }

// The figures of one statistics line of compress-pager.
struct Stats {
  unsigned long long stored = 0, before = 0, after = 0;
};
bool parse_stats(const std::string& line, Stats* s) {
  const size_t at = line.find(": ", line.find(": ") + 2);  // after "compress-pager: <when>: "
  return at != std::string::npos &&
         sscanf(line.c_str() + at + 2, "%llu pages stored, %llu bytes before compression, %llu after", &s->stored,
                &s->before, &s->after) == 3;
}

class CompressPagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = "org.machd.test.compress-pager." + std::to_string(getpid()) + "." + std::to_string(++serial_);
    ASSERT_TRUE(pager_.start("COMPRESS_PAGER", {"--name", name_}));
  }
  // Asks for the statistics (SIGUSR1) until `ok` holds (up to 5 s); the
  // last ones read.
  template <typename F>
  Stats stats_when(F ok) {
    Stats s;
    pager_.signal_until(SIGUSR1, "stats: ", [&](const std::string& line) { return !parse_stats(line, &s) || ok(s); });
    return s;
  }

  static inline int serial_ = 0;
  std::string name_;
  PagerProgram pager_;
};

TEST_F(CompressPagerTest, DataWrittenComesBackEqualAfterTheLastMappingWentAndUnwrittenPagesAreZero) {
  const uint64_t written = 64 * kPage, size = 80 * kPage;
  const std::string name = name_;
  pid_t writer = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, size);
    if (q == nullptr) return 2;
    for (uint64_t off = 0; off < written; ++off) q[off] = content(off);
    return 0;  // exiting unmaps: machd terminates the object and returns the dirty pages
  });
  ASSERT_EQ(wait_exit(writer), 0);
  const Stats s = stats_when([](const Stats& s) { return s.stored == 64; });
  EXPECT_EQ(s.stored, 64u);
  EXPECT_EQ(s.before, written);
  EXPECT_LT(s.after, s.before / 4);  // text of 18 repeated bytes compresses well
  pid_t reader = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, size);
    if (q == nullptr) return 2;
    for (uint64_t off = 0; off < written; ++off)
      if (q[off] != content(off)) return 3;
    for (uint64_t off = written; off < size; ++off)
      if (q[off] != 0) return 4;
    return 0;
  });
  EXPECT_EQ(wait_exit(reader), 0);
}

TEST_F(CompressPagerTest, EvictedPagesAreStoredCompressedAndFaultBackInEqual) {
  const uint64_t size = 32 * kPage;
  mach_port_t obj;
  uint8_t* p = map_named_object(name_, size, &obj);
  ASSERT_NE(p, nullptr);
  for (uint64_t off = 0; off < size; ++off) p[off] = content(off);
  pager_.signal(SIGUSR2);  // lock_request: return dirty pages and flush them from machd's cache
  Stats s;
  ASSERT_TRUE(parse_stats(pager_.wait_line("evicted: "), &s));
  EXPECT_EQ(s.stored, 32u);
  EXPECT_EQ(s.before, size);
  EXPECT_LT(s.after, s.before / 4);
  for (uint64_t off = 0; off < size; ++off) ASSERT_EQ(p[off], content(off)) << off;  // faults to the pager again
  // Overwritten with zeroes: the pages leave the store.
  memset(p, 0, 2 * kPage);
  pager_.signal(SIGUSR2);
  ASSERT_TRUE(parse_stats(pager_.wait_line("evicted: "), &s));
  EXPECT_EQ(s.stored, 30u);
  EXPECT_EQ(p[kPage], 0);
  EXPECT_EQ(p[2 * kPage], content(2 * kPage));
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  mach_port_deallocate(mach_task_self(), obj);
}

TEST_F(CompressPagerTest, StatisticsArePrintedAtExit) {
  pager_.signal(SIGTERM);
  Stats s;
  EXPECT_TRUE(parse_stats(pager_.wait_line("exit: "), &s));
  EXPECT_EQ(s.stored, 0u);
  EXPECT_EQ(pager_.wait_exit(), 0);
}

}  // namespace
