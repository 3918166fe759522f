// What machd keeps of a task for the next image of its process
// (machd/kern/kept_across_exec.h) goes as soon as nothing can take it: the
// process's exit, the grace period, a later value. Real child processes
// stand for the tasks' processes; a fake host polls the watched pidfds as
// the daemon's loop would.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <vector>

#include "kern/kept_across_exec.h"
#include "kern/process.h"

namespace {

using machd::kern::KeptAcrossExec;
using machd::kern::start_time_of;

class PollingHost final : public machd::kern::TaskHost {
 public:
  pid_t pid_of(machd::ipc::TaskId) const override { return 0; }
  int pidfd_of(machd::ipc::TaskId) const override { return -1; }
  machd::ipc::TaskId task_of_pid(pid_t) const override { return machd::ipc::kNoTask; }
  std::vector<machd::ipc::TaskId> tasks() const override { return {}; }
  uint64_t watch_fd(int fd, std::function<void()> cb) override {
    watches_[++next_] = Watch{fd, std::move(cb)};
    return next_;
  }
  void unwatch_fd(uint64_t token) override { watches_.erase(token); }

  // Runs the callbacks of the watched fds that are readable within `ms`.
  void run_ready(int ms) {
    std::vector<uint64_t> ready;
    for (auto& [token, w] : watches_) {
      pollfd p{w.fd, POLLIN, 0};
      if (poll(&p, 1, ms) == 1) ready.push_back(token);
    }
    for (uint64_t token : ready)
      if (auto it = watches_.find(token); it != watches_.end()) {
        auto cb = it->second.cb;  // the callback may unwatch itself
        cb();
      }
  }
  size_t watching() const { return watches_.size(); }

 private:
  struct Watch {
    int fd;
    std::function<void()> cb;
  };
  std::map<uint64_t, Watch> watches_;
  uint64_t next_ = 0;
};

// A child process that waits to be killed.
struct Child {
  pid_t pid = fork();
  Child() {
    if (pid == 0) {
      pause();
      _exit(0);
    }
  }
  uint64_t started() const {
    for (int i = 0; i < 1000; ++i)
      if (uint64_t s = start_time_of(pid)) return s;
    return 0;
  }
  void end() {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
  ~Child() { end(); }
};

class Kept : public ::testing::Test {
 protected:
  PollingHost host;
  std::vector<int> released;
  KeptAcrossExec<int> kept{[this](int& v) { released.push_back(v); }};
};

TEST_F(Kept, AValueStaysWhileItsProcessLivesAndGoesWhenItExits) {
  Child c;
  const uint64_t started = c.started();
  ASSERT_NE(started, 0u);
  kept.put(host, c.pid, started, 0, 7);
  host.run_ready(0);
  EXPECT_TRUE(released.empty());
  EXPECT_EQ(kept.size(), 1u);
  kill(c.pid, SIGKILL);  // exits; not reaped yet (a zombie still has its pid)
  host.run_ready(5000);
  EXPECT_EQ(released, std::vector<int>{7});
  EXPECT_EQ(kept.size(), 0u);
  EXPECT_EQ(host.watching(), 0u);
}

TEST_F(Kept, AValueForAProcessAlreadyGoneIsReleasedAtOnce) {
  Child c;
  const pid_t pid = c.pid;
  const uint64_t started = c.started();
  c.end();
  kept.put(host, pid, started, 0, 3);
  EXPECT_EQ(released, std::vector<int>{3});
  EXPECT_EQ(kept.size(), 0u);
  EXPECT_EQ(host.watching(), 0u);
}

TEST_F(Kept, TheNextImageTakesTheValueAndTheProcessIsNoLongerWatched) {
  Child c;
  const uint64_t started = c.started();
  kept.put(host, c.pid, started, 0, 5);
  EXPECT_EQ(kept.take(c.pid, started + 1), std::nullopt);  // a later process with the pid
  EXPECT_EQ(kept.take(c.pid, started), std::optional<int>(5));
  EXPECT_EQ(host.watching(), 0u);
  c.end();
  host.run_ready(0);
  EXPECT_TRUE(released.empty());  // the taker owns it now
}

TEST_F(Kept, AValueGoesAfterTheGracePeriod) {
  Child c;
  const uint64_t started = c.started();
  kept.put(host, c.pid, started, 1000, 9);
  kept.expire(1000 + KeptAcrossExec<int>::kGraceNs - 1);
  EXPECT_TRUE(released.empty());
  kept.expire(1000 + KeptAcrossExec<int>::kGraceNs);
  EXPECT_EQ(released, std::vector<int>{9});
  EXPECT_EQ(host.watching(), 0u);
}

TEST_F(Kept, ALaterValueForTheSameProcessReleasesTheEarlierOne) {
  Child c;
  const uint64_t started = c.started();
  kept.put(host, c.pid, started, 0, 1);
  kept.put(host, c.pid, started, 0, 2);
  EXPECT_EQ(released, std::vector<int>{1});
  EXPECT_EQ(host.watching(), 1u);
  EXPECT_EQ(kept.take(c.pid, started), std::optional<int>(2));
}

TEST_F(Kept, ClearReleasesEverything) {
  Child a, b;
  kept.put(host, a.pid, a.started(), 0, 1);
  kept.put(host, b.pid, b.started(), 0, 2);
  kept.clear();
  EXPECT_EQ(released.size(), 2u);
  EXPECT_EQ(host.watching(), 0u);
}

}  // namespace
