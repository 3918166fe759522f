// tests/system/default_pager_test.cc — anonymous memory under machd's
// memory budget (machd --memory-limit) and the default memory manager
// (pagers/default-pager): real tasks, real faults, a private machd each.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "../common/private_machd.h"
#include "pager_program.h"
#include "support.h"

namespace {

constexpr long kBudgetMib = 16;
// What a task may map beyond the budget at a moment: machd pages out after
// each batch of faults, down to 15/16 of the budget; a batch is at most a
// few clusters.
constexpr long kSlackKb = 4096;

class DefaultPagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* machd = getenv("MACHD_BIN");
    if (machd == nullptr || getenv("TASK_HELPER") == nullptr || getenv("DEFAULT_PAGER") == nullptr)
      GTEST_SKIP() << "MACHD_BIN, TASK_HELPER and DEFAULT_PAGER must name the programs";
    // Warnings show in the test's log: a pager's request that timed out,
    // a manager that died.
    ASSERT_TRUE(machd_.start(machd, "warn", nullptr, {"--memory-limit", std::to_string(kBudgetMib) + "M"}));
  }
  void TearDown() override { machd_.stop(); }

  // Starts a default-pager on the private machd.
  bool start_pager(systest::PagerProgram& pager) {
    const std::string saved = getenv("MACHD_SOCKET") ? getenv("MACHD_SOCKET") : "";
    setenv("MACHD_SOCKET", machd_.socket().c_str(), 1);
    const bool ok = pager.start("DEFAULT_PAGER", {});
    setenv("MACHD_SOCKET", saved.c_str(), 1);
    return ok;
  }

  // task_helper anon-fill with `mib` MiB; its output lines go to `out`.
  pid_t fill(long mib, int* out, int* in = nullptr) {
    return systest::spawn_helper(machd_.socket(), "anon-fill", out, in, [mib, in] {
      setenv("ANON_MIB", std::to_string(mib).c_str(), 1);
      if (in) setenv("ANON_PAUSE", "1", 1);
      return true;
    });
  }

  // The number after `word` in `line` ("filled 1234"), -1 if not that line.
  static long value_of(const std::string& line, const char* word) {
    long v = -1;
    return sscanf(line.c_str(), (std::string(word) + " %ld").c_str(), &v) == 1 ? v : -1;
  }
  // Reads the helper's lines until the one starting with `word`: its number
  // (-1 if the output ended first).
  static long wait_value(int out, const char* word) {
    for (;;) {
      const std::string line = systest::read_line(out, 60000);
      if (line.empty()) return -1;
      if (const long v = value_of(line, word); v >= 0) return v;
    }
  }

  testsupport::PrivateMachd machd_;
};

TEST_F(DefaultPagerTest, AnonymousMemoryBeyondTheBudgetIsPagedOutAndComesBackIntact) {
  systest::PagerProgram pager;
  ASSERT_TRUE(start_pager(pager));
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(systest::seccomp_filters(pager.pid()), systest::seccomp_filters(getpid()) + 1)
      << "the default pager serves without its system-call filter";
#endif
  int out = -1;
  const pid_t pid = fill(4 * kBudgetMib, &out);
  ASSERT_GT(pid, 0);
  const long filled = value_of(systest::read_line(out, 60000), "filled");
  const long verified = value_of(systest::read_line(out, 60000), "verified");
  EXPECT_EQ(systest::reap_within(pid, 30000), 0) << "a page came back wrong (20) or the task failed";
  close(out);
  ASSERT_GE(filled, 0);
  ASSERT_GE(verified, 0);
  // The task wrote four times the budget; what it has in RAM stayed within it.
  EXPECT_LE(filled, kBudgetMib * 1024 + kSlackKb);
  EXPECT_LE(verified, kBudgetMib * 1024 + kSlackKb);
  // The manager was handed the pages beyond the budget, gave them back,
  // and freed them once the task ended (memory_object_terminate).
  std::string stats;
  for (int i = 0; i < 50; ++i) {
    pager.signal(SIGUSR1);
    stats = pager.wait_line("stats:", 5000);
    if (stats.find(" 0 objects") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  unsigned long objects = 0, served = 0, held = 0, slots = 0, written = 0, read = 0;
  ASSERT_EQ(sscanf(stats.c_str(),
                   "default-pager: stats: %lu objects (%lu served), %lu pages held in %lu slots, %lu written, %lu read",
                   &objects, &served, &held, &slots, &written, &read),
            6)
      << stats;
  EXPECT_EQ(objects, 0u);
  EXPECT_EQ(held, 0u);
  const unsigned long beyond = (3 * kBudgetMib << 20) / 4096;
  EXPECT_GE(written, beyond);
  EXPECT_GE(read, beyond);
}

TEST_F(DefaultPagerTest, WithoutADefaultPagerMemoryStaysResidentAndIntact) {
  int out = -1;
  const pid_t pid = fill(2 * kBudgetMib, &out);
  ASSERT_GT(pid, 0);
  const long filled = value_of(systest::read_line(out, 60000), "filled");
  EXPECT_GE(wait_value(out, "verified"), 0);
  EXPECT_EQ(systest::reap_within(pid, 30000), 0);
  close(out);
  // Nowhere to page out to: over the budget, nothing lost.
  EXPECT_GT(filled, kBudgetMib * 1024);
}

TEST_F(DefaultPagerTest, ASecondDefaultPagerReplacesTheFirstAndIsToldSo) {
  systest::PagerProgram first, second;
  ASSERT_TRUE(start_pager(first));
  EXPECT_EQ(first.banner().find("replacing"), std::string::npos) << first.banner();
  ASSERT_TRUE(start_pager(second));
  EXPECT_NE(second.banner().find("replacing another"), std::string::npos) << second.banner();
  // The second one gets the work.
  int out = -1;
  const pid_t pid = fill(2 * kBudgetMib, &out);
  ASSERT_GT(pid, 0);
  EXPECT_GE(wait_value(out, "verified"), 0);
  EXPECT_EQ(systest::reap_within(pid, 30000), 0);
  close(out);
  second.signal(SIGUSR1);
  const std::string stats = second.wait_line("stats:", 5000);
  unsigned long objects = 0, served = 0, held = 0, slots = 0, written = 0;
  ASSERT_EQ(sscanf(stats.c_str(), "default-pager: stats: %lu objects (%lu served), %lu pages held in %lu slots, %lu written",
                   &objects, &served, &held, &slots, &written),
            5)
      << stats;
  EXPECT_GT(written, 0u);
}

TEST_F(DefaultPagerTest, VmReadAndVmWriteOfPagedOutPagesOfAnotherTaskWaitForThemWithoutHangingMachd) {
  // machd must not fault on the task's pages itself (the fault would wait
  // for machd): it copies through the object's cache, and a call that
  // finds a page with its pager is served again once the page is back.
  // Each call succeeds the first time (task_helper.c anon_remote_read).
  systest::PagerProgram pager;
  ASSERT_TRUE(start_pager(pager));
  int out = -1;
  const pid_t pid = systest::spawn_helper(machd_.socket(), "anon-remote-read", &out, nullptr, [] {
    setenv("ANON_MIB", std::to_string(3 * kBudgetMib).c_str(), 1);
    return true;
  });
  ASSERT_GT(pid, 0);
  const long tries = wait_value(out, "remote");
  EXPECT_EQ(systest::reap_within(pid, 30000), 0) << "25: vm_read failed or wrong, 26: vm_write failed, 27: write not seen";
  close(out);
  EXPECT_EQ(tries, 1);
  EXPECT_TRUE(testsupport::machd_answers(machd_.socket()));
}

TEST_F(DefaultPagerTest, AnObjectFromTheDefaultPagerOutlivesItsMappingsAndGoesWithItsLastSendRight) {
  // default_pager.defs: info, object_create, objects, object_pages,
  // paging_file (refused), and the object's life (task_helper dp-object).
  systest::PagerProgram pager;
  ASSERT_TRUE(start_pager(pager));
  int out = -1;
  const pid_t pid = systest::spawn_helper(machd_.socket(), "dp-object", &out);
  ASSERT_GT(pid, 0);
  const std::string line = systest::read_line(out, 30000);
  EXPECT_EQ(systest::reap_within(pid, 30000), 0) << "the step that failed: task_helper.c dp_object";
  EXPECT_EQ(line, "dp-object ok");
  close(out);
}

// A pager must not outlive its kernel: its main thread, waiting for
// signals, learns of machd's death too, and the program exits non-zero.
TEST_F(DefaultPagerTest, ThePagerExitsWhenMachdDies) {
  systest::PagerProgram pager;
  ASSERT_TRUE(start_pager(pager));
  machd_.kill_now();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(pager.wait_exit(3000), 1) << "default-pager exits with 1 (machd is gone), not -1 (still running)";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
}

TEST_F(DefaultPagerTest, ADeadDefaultPagerCostsTheTaskItsPagedOutPagesNotMachd) {
  auto pager = std::make_unique<systest::PagerProgram>();
  ASSERT_TRUE(start_pager(*pager));
  int out = -1, in = -1;
  const pid_t pid = fill(3 * kBudgetMib, &out, &in);
  ASSERT_GT(pid, 0);
  ASSERT_GE(value_of(systest::read_line(out, 60000), "filled"), 0);
  pager->signal(SIGKILL);
  pager->wait_exit();
  // Reading back pages only the dead pager held is a memory error.
  ASSERT_EQ(write(in, "go\n", 3), 3);
  EXPECT_EQ(systest::reap_within(pid, 30000), 128 + SIGBUS);
  close(out);
  close(in);
  // machd carries on: a new default pager serves a new task.
  pager = std::make_unique<systest::PagerProgram>();
  ASSERT_TRUE(start_pager(*pager));
  const pid_t again = fill(2 * kBudgetMib, &out);
  ASSERT_GT(again, 0);
  EXPECT_GE(wait_value(out, "verified"), 0);
  EXPECT_EQ(systest::reap_within(again, 30000), 0);
  close(out);
}

}  // namespace
