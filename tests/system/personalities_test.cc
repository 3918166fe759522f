// tests/system/personalities_test.cc — two personalities at once: the
// example emulation servers (examples/fs_personality.c, a file server with
// its own tree; examples/sandbox_personality.c, another system's uname and
// no network) serve two programs running at the same time, each program's
// chosen system calls (examples/personality.h) redirected to its server.
// The servers are the example binaries, run as separate processes; the
// programs are forked children (a seccomp filter is for life), which talk to
// the test through the native gate since their read/write may be the file
// server's.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mach/emulation.h>
#include <mach/mach.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

#include "pager_program.h"
#include "../../examples/personality.h"
#include "support.h"

using namespace systest;

namespace {

#define CHECK_OR(cond, code)  \
  do {                        \
    if (!(cond)) return code; \
  } while (0)

// A personality server (the example binary named by `env`) under a fresh
// bootstrap name.
struct Personality {
  PagerProgram program;
  std::string name;
  bool start(const char* env) {
    static std::atomic<int> unique{0};
    name = std::string("org.machd.test.persona.") + env + "." + std::to_string(getpid()) + "." +
           std::to_string(unique.fetch_add(1));
    return program.start(env, {"--name", name});
  }
};

// The child side of a pipe used as a gate: the byte is written and read
// through the native gate, whatever the child's personality.
void native_signal(int fd) {
  const char c = 'g';
  mach_emulation_native(SYS_write, fd, long(&c), 1, 0, 0, 0);
}
bool native_wait(int fd) {
  char c;
  return mach_emulation_native(SYS_read, fd, long(&c), 1, 0, 0, 0) == 1;
}

kern_return_t take_personality(const std::string& name, const int* calls, unsigned n) {
  mach_port_t server = look_up(name);
  if (!MACH_PORT_VALID(server)) return KERN_INVALID_NAME;
  return mach_emulation_set_server(mach_task_self(), calls, n, server);
}

std::string read_file(const char* path) {
  const int fd = open(path, O_RDONLY);
  if (fd < 0) return "open: " + std::string(strerror(errno));
  char buf[512];
  const ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n < 0 ? "read: " + std::string(strerror(errno)) : std::string(buf, size_t(n));
}

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() { EXPECT_EQ(pipe(fd), 0); }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
};

TEST(Personalities, TwoServersServeTwoProgramsAtTheSameTimeEachItsOwnCalls) {
  Personality fs, sandbox;
  ASSERT_TRUE(fs.start("FS_PERSONALITY")) << "examples/fs_personality did not start";
  ASSERT_TRUE(sandbox.start("SANDBOX_PERSONALITY")) << "examples/sandbox_personality did not start";
  Pipe ready, go;
  utsname linux_uts{};
  ASSERT_EQ(uname(&linux_uts), 0);

  // Both take their personality, then both run their calls once both are set.
  pid_t fs_client = spawn_task([&] {
    close(go.fd[1]);  // before close() is the server's
    CHECK_OR(take_personality(fs.name, fs_personality_calls, FS_PERSONALITY_NCALLS) == KERN_SUCCESS, 1);
    native_signal(ready.fd[1]);
    CHECK_OR(!native_wait(go.fd[0]), 2);
    // The server's tree, not Linux's.
    CHECK_OR(read_file("/etc/motd").find("memory of a Mach task") != std::string::npos, 3);
    CHECK_OR(open("/proc/self/status", O_RDONLY) == -1 && errno == ENOENT, 4);
    // A file written here is kept by the server.
    int fd = open("/tmp/note", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK_OR(fd == 3, 5);  // its own table: 0, 1 and 2 are the server's console
    CHECK_OR(write(fd, "kept by the server", 18) == 18, 6);
    CHECK_OR(close(fd) == 0, 7);
    struct stat st {};
    CHECK_OR(stat("/tmp/note", &st) == 0 && st.st_size == 18 && S_ISREG(st.st_mode), 8);
    CHECK_OR(read_file("/tmp/note") == "kept by the server", 9);
    CHECK_OR(unlink("/tmp/note") == 0 && access("/tmp/note", F_OK) == -1 && errno == ENOENT, 10);
    CHECK_OR(open(reinterpret_cast<const char*>(8), O_RDONLY) == -1 && errno == EFAULT, 11);
    CHECK_OR(write(1, "on the server's console\n", 24) == 24, 14);  // printed by the server
    // Calls outside the personality are Linux's.
    utsname u{};
    CHECK_OR(uname(&u) == 0 && strcmp(u.sysname, linux_uts.sysname) == 0, 12);
    CHECK_OR(socket(AF_INET, SOCK_STREAM, 0) >= 0, 13);
    return 0;
  });
  pid_t sandbox_client = spawn_task([&] {
    close(go.fd[1]);
    CHECK_OR(take_personality(sandbox.name, sandbox_personality_calls, SANDBOX_PERSONALITY_NCALLS) == KERN_SUCCESS,
             1);
    native_signal(ready.fd[1]);
    CHECK_OR(!native_wait(go.fd[0]), 2);
    utsname u{};
    CHECK_OR(uname(&u) == 0, 3);
    CHECK_OR(strcmp(u.sysname, "UNIX_System_V") == 0 && strcmp(u.sysname, linux_uts.sysname) != 0, 4);
    CHECK_OR(uname(reinterpret_cast<utsname*>(8)) == -1 && errno == EFAULT, 5);
    CHECK_OR(socket(AF_INET, SOCK_STREAM, 0) == -1 && errno == EACCES, 6);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_OR(connect(0, reinterpret_cast<sockaddr*>(&to), sizeof to) == -1 && errno == EACCES, 7);
    CHECK_OR(sethostname("x", 1) == -1 && errno == EPERM, 8);
    // Linux's files: the file server's tree is not this program's.
    CHECK_OR(read_file("/proc/self/status").find("Pid:") != std::string::npos, 9);
    CHECK_OR(read_file("/etc/motd").find("memory of a Mach task") == std::string::npos, 10);
    return 0;
  });
  char c;
  ASSERT_EQ(read(ready.fd[0], &c, 1), 1);
  ASSERT_EQ(read(ready.fd[0], &c, 1), 1);
  close(go.fd[1]);
  go.fd[1] = -1;
  EXPECT_EQ(reap_within(fs_client, 20000), 0);
  EXPECT_EQ(reap_within(sandbox_client, 20000), 0);
  // Each server saw its own program.
  EXPECT_NE(fs.program.wait_line("pid " + std::to_string(fs_client) + " opened /etc/motd"), "");
  EXPECT_NE(fs.program.wait_line("console of pid " + std::to_string(fs_client) + ": on the server's console"), "");
  EXPECT_NE(sandbox.program.wait_line("refused socket(AF_INET) to pid " + std::to_string(sandbox_client)), "");
  EXPECT_NE(sandbox.program.wait_line("refused connect to 127.0.0.1 port 9 to pid " + std::to_string(sandbox_client)),
            "");
}

TEST(Personalities, FileServerSharesItsTreeButNotDescriptorsBetweenPrograms) {
  Personality fs;
  ASSERT_TRUE(fs.start("FS_PERSONALITY"));
  Pipe a_wrote, b_read;
  pid_t a = spawn_task([&] {
    CHECK_OR(take_personality(fs.name, fs_personality_calls, FS_PERSONALITY_NCALLS) == KERN_SUCCESS, 1);
    CHECK_OR(mkdir("/tmp/shared", 0755) == 0, 2);
    const int fd = open("/tmp/shared/file", O_CREAT | O_RDWR, 0644);
    CHECK_OR(fd == 3, 3);
    CHECK_OR(open("/etc/motd", O_RDONLY) == 4, 4);
    CHECK_OR(write(fd, "from A", 6) == 6, 5);
    native_signal(a_wrote.fd[1]);
    CHECK_OR(native_wait(b_read.fd[0]), 6);
    // B's reads and seeks moved B's offset, not this one.
    CHECK_OR(lseek(fd, 0, SEEK_CUR) == 6, 7);
    char buf[16] = {};
    CHECK_OR(pread(fd, buf, sizeof buf, 0) == 12 && memcmp(buf, "from Aand B", 11) == 0, 8);
    return 0;
  });
  pid_t b = spawn_task([&] {
    CHECK_OR(take_personality(fs.name, fs_personality_calls, FS_PERSONALITY_NCALLS) == KERN_SUCCESS, 1);
    CHECK_OR(native_wait(a_wrote.fd[0]), 2);
    const int fd = open("/tmp/shared/file", O_RDWR | O_APPEND);
    CHECK_OR(fd == 3, 3);  // its own table: A's 3 and 4 are not here
    char buf[8] = {};
    CHECK_OR(read(4, buf, 1) == -1 && errno == EBADF, 4);
    CHECK_OR(read(fd, buf, sizeof buf) == 6 && memcmp(buf, "from A", 6) == 0, 5);
    CHECK_OR(write(fd, "and B!", 6) == 6, 6);
    CHECK_OR(chdir("/tmp/shared") == 0, 7);
    char cwd[64] = {};
    CHECK_OR(getcwd(cwd, sizeof cwd) != nullptr && strcmp(cwd, "/tmp/shared") == 0, 8);
    struct stat st {};
    CHECK_OR(stat("file", &st) == 0 && st.st_size == 12, 9);
    native_signal(b_read.fd[1]);
    return 0;
  });
  EXPECT_EQ(reap_within(a, 20000), 0);
  EXPECT_EQ(reap_within(b, 20000), 0);
}

TEST(Personalities, FileServerDeathMakesFileCallsFailWithEnosys) {
  Personality fs;
  ASSERT_TRUE(fs.start("FS_PERSONALITY"));
  Pipe ready, go;
  pid_t c = spawn_task([&] {
    close(go.fd[1]);  // before close() is the server's
    CHECK_OR(take_personality(fs.name, fs_personality_calls, FS_PERSONALITY_NCALLS) == KERN_SUCCESS, 1);
    const int fd = open("/etc/motd", O_RDONLY);
    CHECK_OR(fd == 3, 2);
    native_signal(ready.fd[1]);
    CHECK_OR(!native_wait(go.fd[0]), 3);  // the server is gone
    char buf[8];
    CHECK_OR(read(fd, buf, sizeof buf) == -1 && errno == ENOSYS, 4);
    CHECK_OR(open("/etc/motd", O_RDONLY) == -1 && errno == ENOSYS, 5);
    CHECK_OR(close(fd) == -1 && errno == ENOSYS, 6);
    return 0;
  });
  char ch;
  ASSERT_EQ(read(ready.fd[0], &ch, 1), 1);
  fs.program.signal(SIGKILL);
  EXPECT_EQ(fs.program.wait_exit(), 128 + SIGKILL);
  close(go.fd[1]);
  go.fd[1] = -1;
  EXPECT_EQ(reap_within(c, 10000), 0) << "calls to a dead server must fail, not hang";
}

}  // namespace
