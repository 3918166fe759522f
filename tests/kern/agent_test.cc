// tests/kern/agent_test.cc — when machd gives up on a task's in-task agent
// (kern/agent.h): a call unanswered past Agent::kTimeoutNs fails only if
// the task's process sleeps; a stopped or busy one gets up to kPatienceNs.
// The "tasks" are real child processes in the state each test needs; the
// agent area is a buffer here that nobody answers unless the test does.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <optional>

#include "kern/agent.h"
#include "kern/process.h"
#include "kern/runtime.h"

using namespace machd;
using namespace machd::kern;

namespace {

constexpr ipc::TaskId kTask = 7;

class OneProcess final : public TaskHost {
 public:
  pid_t pid = 0;
  pid_t pid_of(ipc::TaskId task) const override { return task == kTask ? pid : 0; }
  int pidfd_of(ipc::TaskId) const override { return -1; }
  ipc::TaskId task_of_pid(pid_t) const override { return ipc::kNoTask; }
  std::vector<ipc::TaskId> tasks() const override { return {kTask}; }
};

class BufferArea final : public AgentLink {
 public:
  BufferArea() : area_(new uint8_t[MACHD_AGENT_AREA_SIZE]()) {}
  uint8_t* agent_area(ipc::TaskId task) override { return task == kTask ? area_.get() : nullptr; }
  bool send_fd(ipc::TaskId, int, uint64_t*) override { return false; }
  void interrupt_wait(ipc::TaskId, pid_t) override {}
  void finish_call(ipc::TaskId, uint32_t, int32_t, const uint64_t*, size_t, const uint8_t*, size_t) override {}
  machd_agent_header* header() { return reinterpret_cast<machd_agent_header*>(area_.get()); }

 private:
  std::unique_ptr<uint8_t[]> area_;
};

// A child process: sleeping in pause(), or spinning.
pid_t child(bool spin) {
  const pid_t pid = fork();
  if (pid == 0) {
    for (;;) {
      if (!spin) pause();
    }
  }
  return pid;
}

// Waits (up to 5 s) until may_still_answer(pid) is `want`.
bool settles(pid_t pid, bool want) {
  for (int i = 0; i < 500; ++i) {
    if (may_still_answer(pid) == want) return true;
    usleep(10000);
  }
  return false;
}

class AgentDeadline : public ::testing::Test {
 protected:
  ~AgentDeadline() override {
    if (host.pid > 0) {
      kill(host.pid, SIGKILL);
      waitpid(host.pid, nullptr, 0);
    }
  }
  // Posts a NOP; a time just after it was posted (its deadline is at most
  // this + kTimeoutNs).
  uint64_t post() {
    agent.request(kTask, AgentCall{}, [this](const AgentResult& r) { result = r.result; });
    return agent_now_ns();
  }

  ipc::Kernel k;
  OneProcess host;
  Runtime rt{k, MACH_PORT_NULL, host};
  BufferArea area;
  Agent agent{area};
  std::optional<kern_return_t> result;
};

}  // namespace

TEST(ProcessState, ARunningProcessMayStillAnswerAndASleepingOneMayNot) {
  EXPECT_TRUE(may_still_answer(getpid()));  // (this thread runs)
  const pid_t sleeper = child(false);
  ASSERT_GT(sleeper, 0);
  EXPECT_TRUE(settles(sleeper, false));
  kill(sleeper, SIGSTOP);
  EXPECT_TRUE(settles(sleeper, true)) << "a stopped process is still there to answer once continued";
  kill(sleeper, SIGKILL);
  waitpid(sleeper, nullptr, 0);
  EXPECT_FALSE(may_still_answer(sleeper)) << "no such process";
  EXPECT_FALSE(may_still_answer(0));
}

TEST_F(AgentDeadline, AnUnansweredCallOfAProcessWhoseThreadsAllSleepFailsAtTheDeadline) {
  host.pid = child(false);
  ASSERT_TRUE(settles(host.pid, false));
  const uint64_t t = post();
  agent.expire(t + Agent::kTimeoutNs - 50'000'000);
  EXPECT_FALSE(result);
  agent.expire(t + Agent::kTimeoutNs);
  EXPECT_EQ(result, KERN_OPERATION_TIMED_OUT);
  EXPECT_FALSE(agent.next_deadline()) << "nothing left to wait for";
}

TEST_F(AgentDeadline, AnUnansweredCallOfAStoppedProcessWaitsUntilItsPatienceRunsOut) {
  host.pid = child(false);
  kill(host.pid, SIGSTOP);
  ASSERT_TRUE(settles(host.pid, true));
  const uint64_t t = post();
  agent.expire(t + Agent::kTimeoutNs);
  EXPECT_FALSE(result) << "stopped (SIGSTOP, a debugger): it answers once continued";
  ASSERT_TRUE(agent.next_deadline());
  EXPECT_LE(*agent.next_deadline(), t + Agent::kTimeoutNs + Agent::kRecheckNs);
  agent.expire(t + Agent::kPatienceNs);
  EXPECT_EQ(result, KERN_OPERATION_TIMED_OUT);
}

TEST_F(AgentDeadline, AnUnansweredCallOfABusyProcessGetsMoreTime) {
  host.pid = child(true);
  ASSERT_TRUE(settles(host.pid, true));
  const uint64_t t = post();
  agent.expire(t + Agent::kTimeoutNs);
  EXPECT_FALSE(result);
  // Once it sleeps without having answered, the call fails at the next look.
  kill(host.pid, SIGKILL);
  waitpid(host.pid, nullptr, 0);
  host.pid = 0;
  agent.expire(t + Agent::kTimeoutNs + Agent::kRecheckNs);
  EXPECT_EQ(result, KERN_OPERATION_TIMED_OUT);
}

TEST_F(AgentDeadline, AnAnswerInTheAreaIsTakenAtTheDeadlineThoughItsDoorbellWasNotRead) {
  host.pid = child(false);
  ASSERT_TRUE(settles(host.pid, false));
  const uint64_t t = post();
  machd_agent_call& c = area.header()->calls[0];
  ASSERT_EQ(c.state, MACHD_AC_REQ);
  c.result = KERN_SUCCESS;
  std::atomic_ref<uint32_t>(c.state).store(MACHD_AC_DONE, std::memory_order_release);
  agent.expire(t + Agent::kTimeoutNs);
  EXPECT_EQ(result, KERN_SUCCESS);
}
