// tests/system/main.cc — starts a private machd, then runs the tests.
//
// machd runs with --socket in a fresh temporary directory; MACHD_SOCKET points
// there so this process (and every child) uses it. At the end machd gets
// SIGTERM and must exit cleanly (status 0).
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "support.h"

namespace systest {
void set_machd(const std::string& socket, pid_t pid);
}

namespace {

bool answers(const std::string& path) {
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const char* machd = getenv("MACHD_BIN");
  if (machd == nullptr) {
    fprintf(stderr, "MACHD_BIN is not set\n");
    return 2;
  }
  char dir[] = "/tmp/machd-systest-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 2;
  std::string sock = std::string(dir) + "/machd.sock";
  setenv("MACHD_SOCKET", sock.c_str(), 1);
  pid_t pid = fork();
  if (pid == 0) {
    execl(machd, machd, "--foreground", "--socket", sock.c_str(), "--log-level", "warn",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 500 && !answers(sock); ++i) usleep(10000);
  if (!answers(sock)) {
    fprintf(stderr, "machd did not start\n");
    kill(pid, SIGKILL);
    return 2;
  }
  systest::set_machd(sock, pid);
  // Become a task now (the library connects lazily when started before machd).
  mach_port_t p = mach_reply_port();
  if (p == MACH_PORT_NULL || mach_task_self() == MACH_PORT_NULL) {
    fprintf(stderr, "cannot connect to machd\n");
    kill(pid, SIGKILL);
    return 2;
  }
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);

  int rc = RUN_ALL_TESTS();

  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  unlink(sock.c_str());
  rmdir(dir);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "machd did not exit cleanly on SIGTERM (status %d)\n", status);
    return rc != 0 ? rc : 1;
  }
  return rc;
}
