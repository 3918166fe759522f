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

  // After every test, and every child task they started, has finished,
  // machd must hold nothing more than before the first test.
  (void)mig_get_reply_port();  // the main thread's MIG reply port lives on
  systest::Holdings before = systest::holdings();
  int rc = RUN_ALL_TESTS();
  systest::wait_for_tasks(before.tasks);
  systest::Holdings after = systest::holdings();
  printf("machd holdings before/after the tests: tasks %lu/%lu ports %lu/%lu messages %lu/%lu "
         "ool %lu/%lu memfds %lu/%lu waiters %lu/%lu\n",
         (unsigned long)before.tasks, (unsigned long)after.tasks, (unsigned long)before.ports,
         (unsigned long)after.ports, (unsigned long)before.messages, (unsigned long)after.messages,
         (unsigned long)before.ool_payloads, (unsigned long)after.ool_payloads,
         (unsigned long)before.memfd_payloads, (unsigned long)after.memfd_payloads,
         (unsigned long)before.waiters, (unsigned long)after.waiters);
  if (after.tasks != before.tasks || after.messages != before.messages || after.ool_payloads != 0 ||
      after.memfd_payloads != 0 || after.waiters != before.waiters || after.ports > before.ports) {
    fprintf(stderr, "LEAK: machd holds more after the tests than before\n");
    if (rc == 0) rc = 1;
  }

  int status = daemon.stop();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "machd did not exit cleanly on SIGTERM (status %d)\n", status);
    return rc != 0 ? rc : 1;
  }
  return rc;
}
