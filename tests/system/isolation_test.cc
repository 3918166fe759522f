// tests/system/isolation_test.cc — another process of the same user gains
// nothing from a task's descriptors: what /proc/PID/fd and
// /proc/PID/map_files show of a task opens to nothing that reaches its
// region (the shared memory its requests travel in) or its doorbell. (A
// process allowed to ptrace the task can act as it anyway, as on any Linux
// system; this is about the ones that are not.)
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "../common/private_machd.h"
#include "support.h"

namespace {

constexpr uid_t kNobody = 65534;

// As root, both sides run as nobody (machd serves it: the suite's machd
// has --allow-uid 65534), so that "the same user" is not root, who may
// open anything.
bool become_unprivileged() { return systest::become_nobody(); }

// The inode of the task region mapped into `pid` (its maps name it
// memfd:machd-task), and the range as /proc/PID/map_files names it.
bool region_of(pid_t pid, ino_t* ino, std::string* range) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("memfd:machd-task") == std::string::npos) continue;
    char r[64], perms[8], dev[16];
    unsigned long long off = 0, inode = 0;
    if (sscanf(line.c_str(), "%63s %7s %llx %15s %llu", r, perms, &off, dev, &inode) != 5) return false;
    *ino = ino_t(inode);
    *range = r;
    return true;
  }
  return false;
}

// In the prober: every descriptor of `victim` that opens, read-write or
// read-only; exit 0 if none is the region, 1 if one is, 2 if the region
// could not be found, 3 if map_files opened it.
int probe(pid_t victim) {
  if (!become_unprivileged()) return 4;
  ino_t region = 0;
  std::string range;
  if (!region_of(victim, &region, &range)) return 2;
  const std::string fds = "/proc/" + std::to_string(victim) + "/fd";
  DIR* d = opendir(fds.c_str());
  if (d == nullptr) return 0;  // not even listed
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    for (int mode : {O_RDWR, O_RDONLY}) {
      int fd = open((fds + "/" + e->d_name).c_str(), mode | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0) continue;
      struct stat st{};
      const bool hit = fstat(fd, &st) == 0 && st.st_ino == region;
      close(fd);
      if (hit) return 1;
    }
  }
  closedir(d);
  const std::string mf = "/proc/" + std::to_string(victim) + "/map_files/" + range;
  int fd = open(mf.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return 3;
  }
  return 0;
}

}  // namespace

TEST(Isolation, ATasksDescriptorsOpenToNothingThatReachesItsRegion) {
  const char* helper = getenv("TASK_HELPER");
  const char* machd = getenv("MACHD_BIN");
  ASSERT_NE(helper, nullptr);
  ASSERT_NE(machd, nullptr);
  // A machd of its own that nobody can reach (its socket directory opened
  // to others, --allow-uid for nobody).
  testsupport::PrivateMachd daemon;
  ASSERT_TRUE(daemon.start(machd, "error", nullptr, {"--allow-uid", std::to_string(kNobody)}));
  const std::string dir = daemon.socket().substr(0, daemon.socket().rfind('/'));
  ASSERT_EQ(chmod(dir.c_str(), 0711), 0);
  int out = -1;
  pid_t victim = systest::spawn_helper(daemon.socket(), "block-receive", &out, nullptr, become_unprivileged);
  const std::string line = systest::read_line(out);
  close(out);
  if (line != "ready") {
    kill(victim, SIGKILL);
    systest::wait_exit(victim);
  }
  ASSERT_EQ(line, "ready") << "the task did not start";
  pid_t prober = fork();
  if (prober == 0) _exit(probe(victim));
  const int code = systest::wait_exit(prober);
  kill(victim, SIGKILL);
  systest::wait_exit(victim);
  EXPECT_NE(code, 2) << "the task's region was not found in its maps";
  EXPECT_NE(code, 1) << "/proc/PID/fd of a task opened its region";
  EXPECT_NE(code, 3) << "/proc/PID/map_files of a task opened its region";
  EXPECT_EQ(code, 0);
}

TEST(Isolation, MachdServesUnderItsSystemCallFilterUnlessToldNot) {
  const char* machd = getenv("MACHD_BIN");
  ASSERT_NE(machd, nullptr);
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "a sanitizer build of machd runs without its filter (its leak checker needs ptrace)";
#endif
  // machd inherits this process's filters (a container may have its own):
  // it must run under one more, or, told not to, the same ones.
  const int ours = systest::seccomp_filters(getpid());
  ASSERT_GE(ours, 0) << "no Seccomp_filters in /proc/self/status";
  for (bool filtered : {true, false}) {
    testsupport::PrivateMachd d;
    ASSERT_TRUE(d.start(machd, "error", nullptr,
                        filtered ? std::vector<std::string>{} : std::vector<std::string>{"--no-syscall-filter"}));
    // A task is served all the way (the filter let everything it took through).
    const pid_t helper = systest::spawn_helper(d.socket(), "exec-check");
    ASSERT_GT(helper, 0);
    EXPECT_EQ(systest::reap_within(helper, 10000), 0);
    const int filters = systest::seccomp_filters(d.pid());
    const int mode = systest::seccomp_mode(d.pid());
    d.stop();
    EXPECT_EQ(filters, ours + (filtered ? 1 : 0))
        << (filtered ? "machd runs without its seccomp filter" : "--no-syscall-filter still filtered");
    if (filtered) {
      EXPECT_EQ(mode, 2);
    }
  }
}
