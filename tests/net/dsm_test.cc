// tests/net/dsm_test.cc — distributed shared memory: one dsm-pager, tasks
// on two hosts mapping its object through mach-netmsgd, each host's machd
// one of the pager's kernels.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "net_fixture.h"
#include "process.h"

namespace nettest {
namespace {

using DsmAcrossHosts = NetTest;

const char* env_or(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr ? v : fallback;
}

bool can_fault() {
  int fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */));
  if (fd < 0) fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC));
  if (fd < 0) return false;
  close(fd);
  return true;
}

TEST_F(DsmAcrossHosts, ACounterTableSharedByTwoHostsThroughDsmPagerAddsUp) {
  if (!can_fault()) GTEST_SKIP() << "this system refuses userfaultfd, which machd needs for a pager's faults";
  const std::string name = "dsm-test." + std::to_string(getpid());
  HostsOptions o;
  o.extra = {{"--export", name}};  // h0's netname answers for the pager's bootstrap name
  START_HOSTS(o);

  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  Spawn pager;
  pager.argv = {env_or("DSM_PAGER", "dsm-pager"), "--name", name};
  pager.env = {"MACHD_SOCKET=" + hosts_.socket(0)};
  pager.stdout_fd = out[1];
  const pid_t pager_pid = spawn(pager);
  close(out[1]);
  ASSERT_GT(pager_pid, 0);
  std::string line;
  ASSERT_TRUE(read_line(out[0], &line, 10000)) << "dsm-pager did not start";
  EXPECT_NE(line.find("serving"), std::string::npos) << line;

  // A task of h1 takes the object's right from h0 and offers it to the
  // programs of its host under a bootstrap name.
  Task& relay = hosts_.task(1);
  ASSERT_EQ(ok_words(relay("lookup h0 " + name + " obj")).size(), 1u);
  ASSERT_EQ(relay("publish obj dsm-remote"), "ok");

  const char* counters = env_or("DSM_COUNTERS", "dsm_counters");
  Spawn w0, w1;
  w0.argv = {counters, name, "0", "2", "100"};
  w0.env = {"MACHD_SOCKET=" + hosts_.socket(0)};
  w1.argv = {counters, "dsm-remote", "1", "2", "100"};
  w1.env = {"MACHD_SOCKET=" + hosts_.socket(1)};
  const pid_t p0 = spawn(w0), p1 = spawn(w1);
  ASSERT_GT(p0, 0);
  ASSERT_GT(p1, 0);
  // Exit 0: every counter is 100 x (1 + 2) and each worker's line 100.
  EXPECT_EQ(wait_for(p0, 90000), 0) << "the worker on h0";
  EXPECT_EQ(wait_for(p1, 90000), 0) << "the worker on h1";
  kill_and_wait(p0);
  kill_and_wait(p1);
  kill_and_wait(pager_pid);
  close(out[0]);
}

}  // namespace
}  // namespace nettest
