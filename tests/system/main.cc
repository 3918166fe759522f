// tests/system/main.cc — starts a private machd, then runs the tests.
//
// machd runs with --socket in a fresh temporary directory; MACHD_SOCKET points
// there so this process (and every child) uses it. At the end machd gets
// SIGTERM and must exit cleanly (status 0).
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "../common/private_machd.h"
#include "support.h"

namespace systest {
void set_machd(const std::string& socket);
}

namespace {
// SYSTEST_TRACE_HOLDINGS=1: after each test, machd's port count when it
// changed (finding which test leaves something behind).
class HoldingsTracer : public testing::EmptyTestEventListener {
  void OnTestEnd(const testing::TestInfo& t) override {
    systest::wait_for_tasks(2);
    const uint64_t ports = systest::holdings().ports;
    if (ports != last_) fprintf(stderr, "holdings: %s.%s: ports %lu -> %lu\n", t.test_suite_name(), t.name(),
                                (unsigned long)last_, (unsigned long)ports);
    last_ = ports;
  }
  uint64_t last_ = 0;
};
}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  testsupport::PrivateMachd daemon;
  // A pager that never answers fails the faulting thread after 2 s here
  // (pager_test.cc), not the default 30. Some tests run a task as nobody
  // (65534) against this root machd (task_test.cc, processor_test.cc,
  // vm_test.cc): it must serve that uid too.
  if (!testsupport::start_and_join(daemon, {"--pager-timeout", "2", "--allow-uid", "65534"})) return 2;
  systest::set_machd(daemon.socket());

  // After every test, and every child task they started, has finished,
  // machd must hold nothing more than before the first test.
  (void)mig_get_reply_port();  // the main thread's MIG reply port lives on
  systest::Holdings before = systest::holdings();
  if (getenv("SYSTEST_TRACE_HOLDINGS")) testing::UnitTest::GetInstance()->listeners().Append(new HoldingsTracer);
  int rc = RUN_ALL_TESTS();
  systest::wait_for_tasks(before.tasks);
  // What the last tasks held is released as machd notices their ends (a
  // process's exit, then its threads' and exec state's): give it up to 5 s
  // to come back to where it started; a leak stays.
  systest::Holdings after = systest::holdings();
  for (int i = 0; i < 100 && (after.ports > before.ports || after.messages != before.messages ||
                              after.ool_payloads != 0 || after.memfd_payloads != 0 || after.waiters != before.waiters);
       ++i) {
    usleep(50000);
    after = systest::holdings();
  }
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
    // What is left, for whoever reads the log: machd's own names and ours.
    if (const char* machctl = getenv("MACHCTL")) {
      fflush(nullptr);
      const std::string cmd = std::string(machctl) + " ports 0 >&2; " + machctl + " ports " +
                              std::to_string(getpid()) + " >&2";
      if (system(cmd.c_str()) != 0) fprintf(stderr, "(machctl could not list the ports)\n");
    }
    if (rc == 0) rc = 1;
  }

  return testsupport::stop_and_check(daemon, rc);
}
