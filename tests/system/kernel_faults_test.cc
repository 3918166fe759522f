// tests/system/kernel_faults_test.cc — faults the kernel takes on a task's
// behalf: a system call (read(2), write(2)) touching a page of a memory
// object, or of vm_allocate memory under machd --memory-limit, that no one
// has touched yet. A task that can make only a UFFD_USER_MODE_ONLY
// userfaultfd cannot have those routed; machd --lend-userfaultfd hands it
// machd's /dev/userfaultfd so it can (machd_abi.h, MACHD_SOCK_UFFD_DEVICE).
//
// Each test runs a private machd as root and the task as user nobody, who
// may neither open /dev/userfaultfd nor make a full userfaultfd while
// vm.unprivileged_userfaultfd is 0: so they need root, and that sysctl at 0.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../common/private_machd.h"
#include "pager_program.h"
#include "support.h"

namespace {

constexpr long kPage = 4096;

// Why the tests cannot run here, or "" if they can.
std::string unable() {
  if (geteuid() != 0) return "needs root: the task runs as another user (nobody) than machd";
  if (access("/dev/userfaultfd", F_OK) != 0) return "no /dev/userfaultfd on this system";
  std::ifstream sysctl("/proc/sys/vm/unprivileged_userfaultfd");
  int unprivileged = -1;
  if (!(sysctl >> unprivileged)) return "vm.unprivileged_userfaultfd is unreadable";
  if (unprivileged != 0) return "vm.unprivileged_userfaultfd is 1: every task makes a full userfaultfd itself";
  if (getenv("MACHD_BIN") == nullptr || getenv("TASK_HELPER") == nullptr) return "MACHD_BIN and TASK_HELPER must name the programs";
  return "";
}

// What `task_helper syscall-faults` printed.
struct Outcome {
  long allocate_read = -2, allocate_errno = -1, managed = -1;
  long object_write = -2, object_write_errno = -1, object_read = -2, object_read_errno = -1, same = -1;
  int exit_code = -1;
};

class KernelFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = unable();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  void TearDown() override {
    pager_.reset();
    if (!file_.empty()) unlink(file_.c_str());
  }

  // A machd with a 64 MiB budget for vm_allocate memory that serves nobody
  // too, and shares bootstrap names (nobody looks up root's pager), plus
  // `extra`; its socket reachable by nobody.
  void start_machd(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--allow-uid", "65534", "--shared-bootstrap", "--memory-limit", "64M"};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(machd_.start(getenv("MACHD_BIN"), "warn", nullptr, args));
    const std::string& sock = machd_.socket();
    ASSERT_EQ(chmod(sock.substr(0, sock.rfind('/')).c_str(), 0711), 0);
    ASSERT_EQ(chmod(sock.c_str(), 0777), 0);
  }

  // file-pager (a task of root) serving 4 pages of a pattern under `name`.
  void start_pager(const std::string& name) {
    char tmpl[] = "/tmp/kernel-faults-XXXXXX";
    const int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    file_ = tmpl;
    std::string bytes(4 * kPage, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char('a' + (i * 7 + i / kPage) % 26);
    ASSERT_EQ(write(fd, bytes.data(), bytes.size()), ssize_t(bytes.size()));
    close(fd);
    const char* before = getenv("MACHD_SOCKET");
    const std::string saved = before ? before : "";
    setenv("MACHD_SOCKET", machd_.socket().c_str(), 1);
    pager_ = std::make_unique<systest::PagerProgram>();
    const bool ok = pager_->start("FILE_PAGER", {"--name", name, file_});
    if (before) setenv("MACHD_SOCKET", saved.c_str(), 1);
    else unsetenv("MACHD_SOCKET");
    ASSERT_TRUE(ok) << "file-pager did not start";
  }

  // Runs `task_helper syscall-faults` as nobody (mapping `object` if not
  // empty) and reads what it printed.
  Outcome run_task(const std::string& object = "") {
    Outcome o;
    int out = -1;
    const pid_t pid = systest::spawn_helper(machd_.socket(), "syscall-faults", &out, nullptr, [&] {
      if (!object.empty()) setenv("OBJECT_NAME", object.c_str(), 1);
      return systest::become_nobody();
    });
    EXPECT_GT(pid, 0);
    if (pid <= 0) return o;
    std::istringstream a(systest::read_line(out));
    std::string word;
    if (a >> word && word == "allocate") a >> o.allocate_read >> o.allocate_errno >> o.managed;
    if (!object.empty()) {
      std::istringstream b(systest::read_line(out));
      if (b >> word && word == "object")
        b >> o.object_write >> o.object_write_errno >> o.object_read >> o.object_read_errno >> o.same;
    }
    close(out);
    o.exit_code = systest::reap_within(pid, 20000);
    return o;
  }

  testsupport::PrivateMachd machd_;
  std::unique_ptr<systest::PagerProgram> pager_;
  std::string file_;
};

TEST_F(KernelFaults, ATaskWithOnlyUserModeFaultsKeepsItsVmAllocateMemoryOutOfTheBudgetSoSystemCallsCanFillIt) {
  start_machd({});
  const Outcome o = run_task();
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.allocate_read, 2 * kPage) << "read(2) into fresh vm_allocate memory failed with errno "
                                        << o.allocate_errno;
  EXPECT_EQ(o.managed, 0) << "its memory came under --memory-limit, where a read(2) into it fails with EFAULT";
}

TEST_F(KernelFaults, WithoutTheDeviceASystemCallOnAnUntouchedObjectPageFailsWithEfault) {
  start_machd({});
  const std::string name = "org.machd.test.kernel-faults." + std::to_string(getpid()) + ".plain";
  start_pager(name);
  const Outcome o = run_task(name);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.object_write, -1);
  EXPECT_EQ(o.object_write_errno, EFAULT);
  EXPECT_EQ(o.object_read, -1);
  EXPECT_EQ(o.object_read_errno, EFAULT);
}

TEST_F(KernelFaults, ALentDeviceRoutesTheSystemCallFaultsOfATaskOfAnotherUser) {
  start_machd({"--lend-userfaultfd"});
  const std::string name = "org.machd.test.kernel-faults." + std::to_string(getpid()) + ".lent";
  start_pager(name);
  const Outcome o = run_task(name);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.allocate_read, 2 * kPage) << "errno " << o.allocate_errno;
  EXPECT_EQ(o.managed, 1) << "with a full userfaultfd its vm_allocate memory comes under --memory-limit";
  EXPECT_EQ(o.object_write, 2 * kPage) << "write(2) from untouched object pages: errno " << o.object_write_errno;
  EXPECT_EQ(o.object_read, 2 * kPage) << "read(2) into untouched object pages: errno " << o.object_read_errno;
  EXPECT_EQ(o.same, 1) << "pages 2-3 do not hold what was written from pages 0-1";
}

}  // namespace
