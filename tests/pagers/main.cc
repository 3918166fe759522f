// tests/pagers/main.cc — starts a private machd, then runs the libpager
// tests in this task (pager and fake kernel both; see fake_kernel.h).  At the
// end machd must hold no more than before (no message, no out-of-line
// memory, no port left behind) and exit cleanly on SIGTERM.
#include <gtest/gtest.h>
#include <machd/machd_debug.h>

#include <cstdio>

#include "../common/private_machd.h"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  testsupport::PrivateMachd daemon;
  if (!testsupport::start_and_join(daemon)) return 2;

  (void)mig_get_reply_port();
  machd_debug_stats_t before{};
  machd_debug_get_stats(&before);
  int rc = RUN_ALL_TESTS();
  machd_debug_stats_t after{};
  machd_debug_get_stats(&after);
  printf("machd holdings before/after: ports %lu/%lu messages %lu/%lu ool %lu/%lu memfds %lu/%lu\n",
         (unsigned long)before.ports, (unsigned long)after.ports, (unsigned long)before.messages,
         (unsigned long)after.messages, (unsigned long)before.ool_payloads, (unsigned long)after.ool_payloads,
         (unsigned long)before.memfd_payloads, (unsigned long)after.memfd_payloads);
  if (after.messages != before.messages || after.ool_payloads != 0 || after.memfd_payloads != 0 ||
      after.ports > before.ports) {
    fprintf(stderr, "LEAK: machd holds more after the tests than before\n");
    if (rc == 0) rc = 1;
  }
  return testsupport::stop_and_check(daemon, rc);
}
