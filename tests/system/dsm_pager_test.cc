// tests/system/dsm_pager_test.cc — pagers/dsm-pager, the program, against
// the test's machd (one kernel): tasks that map its object see each
// other's writes through real faults (a read fault is supplied read-only,
// the first write to such a page goes through data_unlock), what they
// wrote outlives them in the pager, and examples/dsm_counters run as three
// processes gets its sums right.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "pager_program.h"
#include "support.h"

extern char** environ;

using namespace systest;

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kSize = 64 * kPage;

uint8_t content(uint64_t off) { return uint8_t(off * 7 + off / kPage); }

// Waits up to 10 s until *at == value.
bool wait_for(volatile uint8_t* at, uint8_t value) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (*at != value) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class DsmPagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = "org.machd.test.dsm-pager." + std::to_string(getpid()) + "." + std::to_string(++serial_);
    ASSERT_TRUE(pager_.start("DSM_PAGER", {"--name", name_, "--size", "256K"}));
  }
  static inline int serial_ = 0;
  std::string name_;
  PagerProgram pager_;
};

TEST_F(DsmPagerTest, TwoTasksSeeEachOthersWritesOnOnePage) {
  const std::string name = name_;
  pid_t ping = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, kSize);
    if (q == nullptr) return 2;
    q[3 * kPage] = 'p';                     // a write fault: supplied writable
    if (!wait_for(q + 3 * kPage + 100, 'q')) return 3;
    return q[3 * kPage] == 'p' ? 0 : 4;
  });
  pid_t pong = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, kSize);
    if (q == nullptr) return 2;
    if (!wait_for(q + 3 * kPage, 'p')) return 3;
    q[3 * kPage + 100] = 'q';
    return 0;
  });
  EXPECT_EQ(wait_exit(ping), 0);
  EXPECT_EQ(wait_exit(pong), 0);
}

TEST_F(DsmPagerTest, AWriteToAPageFirstReadIsGrantedAndKept) {
  const std::string name = name_;
  pid_t writer = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, kSize);
    if (q == nullptr) return 2;
    for (uint64_t off = 0; off < kSize; off += kPage)
      if (q[off] != 0) return 3;            // read faults: every page read-only
    for (uint64_t off = 0; off < kSize; ++off) q[off] = content(off);  // data_unlock, page by page
    return 0;                               // unmapped: the dirty pages go back to the pager
  });
  ASSERT_EQ(wait_exit(writer), 0);
  // The returns come before the terminate: wait for both.
  const std::string s = pager_.signal_until(SIGUSR1, "stats: ", [](const std::string& l) {
    return l.find(" 64 returned") != std::string::npos && l.find(" 0 kernels (") != std::string::npos;
  });
  EXPECT_NE(s.find(" 64 returned"), std::string::npos) << s;
  EXPECT_NE(s.find(" 64 unlocked"), std::string::npos) << "each page's first write asked: " << s;
  EXPECT_NE(s.find(" 0 kernels ("), std::string::npos) << "the kernel terminated: " << s;
  pid_t reader = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, kSize);
    if (q == nullptr) return 2;
    for (uint64_t off = 0; off < kSize; ++off)
      if (q[off] != content(off)) return 3;
    return 0;
  });
  EXPECT_EQ(wait_exit(reader), 0);
}

TEST_F(DsmPagerTest, TheCountersExampleRunAsThreeProcessesGetsItsSums) {
  const char* path = getenv("DSM_COUNTERS");
  ASSERT_NE(path, nullptr);
  std::vector<pid_t> workers;
  for (int w = 0; w < 3; ++w) {
    const std::string worker = std::to_string(w);
    std::vector<char*> argv = {const_cast<char*>(path), const_cast<char*>(name_.c_str()),
                               const_cast<char*>(worker.c_str()), const_cast<char*>("3"),
                               const_cast<char*>("500"), nullptr};
    pid_t pid = -1;
    ASSERT_EQ(posix_spawn(&pid, path, nullptr, nullptr, argv.data(), environ), 0);
    workers.push_back(pid);
  }
  for (pid_t pid : workers) EXPECT_EQ(reap_within(pid, 90000), 0) << "dsm_counters' exit status (see its header)";
}

}  // namespace
