// tests/system/file_pager_test.cc — pagers/file-pager, the program, against
// the test's machd: a temporary file served as a memory object, mapped by
// this task and by forked client tasks, with real page faults.  Every byte
// checked is compared with the file's known pattern or with what a task
// wrote.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../common/private_machd.h"
#include "pager_program.h"
#include "support.h"

using namespace systest;

namespace {

constexpr uint64_t kPage = 4096;

// The file's byte at `off` before any test writes it (never zero).
uint8_t pattern(uint64_t off) { return uint8_t('a' + (off * 7 + off / kPage) % 26); }

// A one-byte message over a pipe, for a parent and its forked child.
struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() { EXPECT_EQ(pipe(fd), 0); }
  ~Pipe() {
    close(fd[0]);
    close(fd[1]);
  }
  bool post() { return write(fd[1], "x", 1) == 1; }
  bool take() {
    char c;
    return read(fd[0], &c, 1) == 1;
  }
};

// Polls `ok` every 10 ms for up to timeout_ms.
template <typename F>
bool eventually(F ok, int timeout_ms = 5000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!ok()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class FilePagerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!path_.empty()) unlink(path_.c_str());
  }

  // A fresh file of `size` pattern bytes.
  void make_file(uint64_t size) {
    char tmpl[] = "/tmp/file-pager-test-XXXXXX";
    const int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    path_ = tmpl;
    std::vector<uint8_t> bytes(size);
    for (uint64_t i = 0; i < size; ++i) bytes[i] = pattern(i);
    ASSERT_EQ(write(fd, bytes.data(), size), ssize_t(size));
    close(fd);
  }

  // Starts file-pager on the file under a unique name (plus `extra`
  // options).
  bool start(std::vector<std::string> extra = {}) {
    name_ = "org.machd.test.file-pager." + std::to_string(getpid()) + "." + std::to_string(++serial_);
    std::vector<std::string> args = {"--name", name_};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(path_);
    return pager_.start("FILE_PAGER", args);
  }

  std::vector<uint8_t> file() const {
    std::vector<uint8_t> out;
    const int fd = open(path_.c_str(), O_RDONLY);
    if (fd < 0) return out;
    struct stat st;
    fstat(fd, &st);
    out.resize(size_t(st.st_size));
    EXPECT_EQ(pread(fd, out.data(), out.size(), 0), ssize_t(out.size()));
    close(fd);
    return out;
  }

  // Maps the object (found by its name, as any client does); nullptr on
  // failure.  *object gets the send right (the caller releases it).
  uint8_t* map(uint64_t size, mach_port_t* object) { return map_named_object(name_, size, object); }
  static void unmap(uint8_t* p, uint64_t size, mach_port_t object) {
    mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
    mach_port_deallocate(mach_task_self(), object);
  }

  static inline int serial_ = 0;
  std::string path_;
  std::string name_;
  PagerProgram pager_;
};

TEST_F(FilePagerTest, TwoTasksMappingTheFileSeeItsDataAndEachOthersWrites) {
  make_file(3 * kPage + 100);
  ASSERT_TRUE(start());
  mach_port_t obj;
  uint8_t* p = map(4 * kPage, &obj);
  ASSERT_NE(p, nullptr);
  for (uint64_t off = 0; off < 3 * kPage + 100; off += 97) ASSERT_EQ(p[off], pattern(off)) << off;
  Pipe written, answered;
  const std::string name = name_;
  pid_t child = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, 4 * kPage);
    if (q == nullptr) return 2;
    if (q[2 * kPage + 5] != pattern(2 * kPage + 5)) return 3;
    q[kPage + 7] = 'X';
    written.post();
    if (!answered.take()) return 4;
    return q[2 * kPage + 9] == 'Y' ? 0 : 5;  // the parent's write, with no write-back in between
  });
  ASSERT_TRUE(written.take());
  EXPECT_EQ(p[kPage + 7], 'X');
  p[2 * kPage + 9] = 'Y';
  answered.post();
  EXPECT_EQ(wait_exit(child), 0);
  unmap(p, 4 * kPage, obj);
}

TEST_F(FilePagerTest, WritesReachTheFileOnSigusr1WhileTasksStillMapIt) {
  make_file(3 * kPage + 100);
  ASSERT_TRUE(start());
  mach_port_t obj;
  uint8_t* p = map(4 * kPage, &obj);
  ASSERT_NE(p, nullptr);
  p[10] = 'Q';
  p[2 * kPage + 1] = 'R';
  EXPECT_EQ(file()[10], pattern(10));  // in machd's cache only, so far
  pager_.signal(SIGUSR1);
  EXPECT_NE(pager_.wait_line("synced, 2 pages written"), "");
  std::vector<uint8_t> f = file();
  ASSERT_EQ(f.size(), 3 * kPage + 100);
  EXPECT_EQ(f[10], 'Q');
  EXPECT_EQ(f[2 * kPage + 1], 'R');
  EXPECT_EQ(f[11], pattern(11));
  // Clean now: the next clean writes only the page written since.
  p[11] = 'S';
  pager_.signal(SIGUSR1);
  EXPECT_NE(pager_.wait_line("synced, 3 pages written"), "");
  EXPECT_EQ(file()[11], 'S');
  unmap(p, 4 * kPage, obj);
}

TEST_F(FilePagerTest, SyncEverySecondsBringsWritesToTheFileUnasked) {
  make_file(2 * kPage);
  ASSERT_TRUE(start({"--sync-every", "0.2"}));
  mach_port_t obj;
  uint8_t* p = map(2 * kPage, &obj);
  ASSERT_NE(p, nullptr);
  p[kPage + 3] = 'P';
  EXPECT_NE(pager_.wait_line("synced, 1 pages written", 5000), "");
  EXPECT_EQ(file()[kPage + 3], 'P');
  unmap(p, 2 * kPage, obj);
}

TEST_F(FilePagerTest, WritesReachTheFileWhenTheLastMappingGoes) {
  make_file(3 * kPage + 100);
  ASSERT_TRUE(start());
  const std::string name = name_;
  pid_t child = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, 4 * kPage);
    if (q == nullptr) return 2;
    q[5] = 'L';
    q[3 * kPage + 99] = 'M';
    return 0;  // exiting unmaps it: the object is terminated, its dirty pages returned
  });
  ASSERT_EQ(wait_exit(child), 0);
  EXPECT_TRUE(eventually([&] {
    std::vector<uint8_t> f = file();
    return f.size() == 3 * kPage + 100 && f[5] == 'L' && f[3 * kPage + 99] == 'M';
  }));
  // Mapped again: the data comes from the file.
  mach_port_t obj;
  uint8_t* p = map(4 * kPage, &obj);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p[5], 'L');
  EXPECT_EQ(p[6], pattern(6));
  unmap(p, 4 * kPage, obj);
}

TEST_F(FilePagerTest, WritesReachTheFileWhenThePagerIsTerminated) {
  make_file(3 * kPage + 100);
  ASSERT_TRUE(start());
  Pipe written, done;
  const std::string name = name_;
  pid_t child = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, 4 * kPage);
    if (q == nullptr) return 2;
    q[100] = 'T';
    q[3 * kPage + 50] = 'U';
    written.post();
    done.take();  // still mapped while the pager ends; not touched again
    return 0;
  });
  ASSERT_TRUE(written.take());
  pager_.signal(SIGTERM);
  EXPECT_EQ(pager_.wait_exit(), 0);
  std::vector<uint8_t> f = file();
  ASSERT_EQ(f.size(), 3 * kPage + 100);
  EXPECT_EQ(f[100], 'T');
  EXPECT_EQ(f[3 * kPage + 50], 'U');
  EXPECT_EQ(f[101], pattern(101));
  done.post();
  EXPECT_EQ(wait_exit(child), 0);
}

TEST_F(FilePagerTest, ReadingPastTheEndOfTheFileGivesZeroes) {
  make_file(5000);
  ASSERT_TRUE(start());
  mach_port_t obj;
  uint8_t* p = map(4 * kPage, &obj);
  ASSERT_NE(p, nullptr);
  for (uint64_t off = 0; off < 5000; ++off) ASSERT_EQ(p[off], pattern(off)) << off;
  for (uint64_t off = 5000; off < 4 * kPage; ++off) ASSERT_EQ(p[off], 0) << off;
  unmap(p, 4 * kPage, obj);
}

TEST_F(FilePagerTest, WritesPastTheEndOfTheFileAreDroppedWithoutGrow) {
  make_file(5000);
  ASSERT_TRUE(start());
  mach_port_t obj;
  uint8_t* p = map(4 * kPage, &obj);
  ASSERT_NE(p, nullptr);
  p[4999] = 'E';       // the file's last byte
  p[5000] = 'F';       // past the end, same page
  p[3 * kPage] = 'G';  // past the end, a page of zero-fill
  pager_.signal(SIGUSR1);
  EXPECT_NE(pager_.wait_line("synced, 2 pages written"), "");
  std::vector<uint8_t> f = file();
  ASSERT_EQ(f.size(), 5000u);
  EXPECT_EQ(f[4999], 'E');
  EXPECT_EQ(f[4998], pattern(4998));
  unmap(p, 4 * kPage, obj);
}

TEST_F(FilePagerTest, WithGrowWritesPastTheEndExtendTheFileToTheirLastByte) {
  make_file(5000);
  ASSERT_TRUE(start({"--grow"}));
  mach_port_t obj;
  uint8_t* p = map(4 * kPage, &obj);
  ASSERT_NE(p, nullptr);
  memcpy(p + 3 * kPage + 10, "tail", 4);
  pager_.signal(SIGUSR1);
  EXPECT_NE(pager_.wait_line("synced, 1 pages written"), "");
  std::vector<uint8_t> f = file();
  ASSERT_EQ(f.size(), 3 * kPage + 14);
  EXPECT_EQ(memcmp(f.data() + 3 * kPage + 10, "tail", 4), 0);
  EXPECT_EQ(f[4999], pattern(4999));
  for (uint64_t off = 5000; off < 3 * kPage + 10; ++off) ASSERT_EQ(f[off], 0) << off;
  unmap(p, 4 * kPage, obj);
}

TEST_F(FilePagerTest, APagerKilledMidFaultCostsTheFaultingClientSigbus) {
  make_file(128 * kPage);
  ASSERT_TRUE(start());
  // This task maps the object and reads a page first, so the pager has
  // answered memory_object_init (AFaultBeforeThePagerAnsweredInit... below
  // is a pager killed before that).  It does not touch the object again.
  mach_port_t obj;
  uint8_t* p = map(128 * kPage, &obj);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p[0], pattern(0));  // pages 0-63 come in one cluster
  pager_.signal(SIGSTOP);       // it will not answer the next fault
  const std::string name = name_;
  pid_t child = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, 128 * kPage);
    if (q == nullptr) return 2;
    return q[100 * kPage] == pattern(100 * kPage) ? 0 : 3;  // a page of another cluster
  });
  EXPECT_EQ(wait_exit_for(child, 300), -1);  // waiting on the stopped pager
  pager_.signal(SIGKILL);
  EXPECT_EQ(pager_.wait_exit(), 128 + SIGKILL);
  EXPECT_EQ(reap_within(child, 1500), 128 + SIGBUS);  // well before machd's 2 s request timeout
  unmap(p, 128 * kPage, obj);
}

// A pager must not outlive its kernel: its main thread, waiting for
// signals, learns of machd's death too, and the program exits non-zero.
// (A machd of its own: the suite's must live on.)
TEST_F(FilePagerTest, ThePagerExitsWhenMachdDies) {
  const char* machd_bin = getenv("MACHD_BIN");
  ASSERT_NE(machd_bin, nullptr);
  testsupport::PrivateMachd machd;
  ASSERT_TRUE(machd.start(machd_bin, "error"));
  make_file(2 * kPage);
  const std::string saved = getenv("MACHD_SOCKET") ? getenv("MACHD_SOCKET") : "";
  setenv("MACHD_SOCKET", machd.socket().c_str(), 1);
  const bool started = start();
  setenv("MACHD_SOCKET", saved.c_str(), 1);
  ASSERT_TRUE(started);
  machd.kill_now();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(pager_.wait_exit(3000), 1) << "file-pager exits with 1 (machd is gone), not -1 (still running)";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
  EXPECT_EQ(file(), [&] {
    std::vector<uint8_t> b(2 * kPage);
    for (uint64_t i = 0; i < b.size(); ++i) b[i] = pattern(i);
    return b;
  }()) << "the file is as it was";
}

TEST_F(FilePagerTest, WithoutANameTheObjectIsPublishedUnderTheFilesAbsolutePath) {
  make_file(kPage);
  std::vector<std::string> args = {path_};
  ASSERT_TRUE(pager_.start("FILE_PAGER", args));
  char real[PATH_MAX];
  ASSERT_NE(realpath(path_.c_str(), real), nullptr);
  name_ = std::string("file-pager:") + real;
  EXPECT_NE(pager_.banner().find(" as " + name_), std::string::npos) << pager_.banner();
  mach_port_t obj;
  uint8_t* p = map(kPage, &obj);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p[77], pattern(77));
  unmap(p, kPage, obj);
}

// Where machd misbehaves today (found with file-pager; machd/ is not this
// branch's to change).  Disabled: each fails now, and pins the behaviour a
// fix must give.  Run them with --gtest_also_run_disabled_tests.

// A fault on an object whose pager has not answered memory_object_init yet
// is held in MemoryObject::deferred_ with no deadline: neither
// --pager-timeout nor the pager's death ends it (next_deadline() only sees
// data requests), so the client waits for ever.
TEST_F(FilePagerTest, AFaultBeforeThePagerAnsweredInitFailsWhenThePagerDies) {
  make_file(4 * kPage);
  ASSERT_TRUE(start());
  pager_.signal(SIGSTOP);  // memory_object_init stays unanswered
  const std::string name = name_;
  pid_t child = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, 4 * kPage);
    if (q == nullptr) return 2;
    return q[kPage] == pattern(kPage) ? 0 : 3;
  });
  EXPECT_EQ(wait_exit_for(child, 300), -1);
  pager_.signal(SIGKILL);
  EXPECT_EQ(pager_.wait_exit(), 128 + SIGKILL);
  EXPECT_EQ(reap_within(child, 3000), 128 + SIGBUS);
}

// A page that was resident and mapped write-protected in a writable
// mapping (every clean page is, for dirty tracking) and then dropped by
// MemoryObject::destroy (memory_object_destroy, which file-pager sends when
// it ends, or the pager's death): the hole punch leaves a uffd-wp marker in
// the task's page table, so UFFDIO_POISON fails with EEXIST, machd wakes the
// thread, it faults again: machd and the client spin for ever instead of
// the client getting SIGBUS.
TEST_F(FilePagerTest, ReadingACleanPageAfterThePagerEndedCostsSigbusNotALivelock) {
  make_file(4 * kPage);
  ASSERT_TRUE(start());
  Pipe read_once, ended;
  const std::string name = name_;
  pid_t child = spawn_task([&]() -> int {
    volatile uint8_t* q = map_named_object(name, 4 * kPage);
    if (q == nullptr) return 2;
    if (q[0] != pattern(0)) return 3;
    read_once.post();
    ended.take();
    return q[1];  // the object is gone
  });
  ASSERT_TRUE(read_once.take());
  pager_.signal(SIGTERM);
  EXPECT_EQ(pager_.wait_exit(), 0);
  ended.post();
  EXPECT_EQ(reap_within(child, 1500), 128 + SIGBUS);
}

}  // namespace
