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

#include "../common/private_machd.h"
#include "support.h"

namespace systest {
void set_machd(const std::string& socket, pid_t pid);
}

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const char* machd = getenv("MACHD_BIN");
  if (machd == nullptr) {
    fprintf(stderr, "MACHD_BIN is not set\n");
    return 2;
  }
  testsupport::PrivateMachd daemon;
  if (!daemon.start(machd)) {
    fprintf(stderr, "machd did not start\n");
    return 2;
  }
  setenv("MACHD_SOCKET", daemon.socket().c_str(), 1);
  systest::set_machd(daemon.socket(), daemon.pid());
  // Become a task now (the library connects lazily when started before machd).
  mach_port_t p = mach_reply_port();
  if (p == MACH_PORT_NULL || mach_task_self() == MACH_PORT_NULL) {
    fprintf(stderr, "cannot connect to machd\n");
    return 2;
  }
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);

  int rc = RUN_ALL_TESTS();

  int status = daemon.stop();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "machd did not exit cleanly on SIGTERM (status %d)\n", status);
    return rc != 0 ? rc : 1;
  }
  return rc;
}
