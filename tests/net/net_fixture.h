// tests/net/net_fixture.h — the gtest fixture of the net tests: hosts
// started per test (hosts.h), and after each test the check that every
// mach-netmsgd and machd holds what it held before.
#pragma once

#include <gtest/gtest.h>
#include <mach/mach.h>

#include <cstdlib>
#include <string>

#include "hosts.h"

namespace nettest {

class NetTest : public testing::Test {
 protected:
  // Starts the hosts: a failure, or a skip when the environment cannot
  // make them (network namespaces without root). Use START_HOSTS.
  void start_hosts(const HostsOptions& options) {
    std::string why;
    bool skip = false;
    if (!hosts_.start(options, &why, &skip)) {
      if (skip) GTEST_SKIP() << why;
      FAIL() << why;
    }
  }
  void TearDown() override {
    if (hosts_.size() == 0) return;
    const std::string leaks = hosts_.leaks();
    EXPECT_EQ(leaks, "") << "something stayed held after the test's tasks ended\n" << all_logs();
    if (HasFailure()) fprintf(stderr, "%s", all_logs().c_str());
  }
  std::string all_logs() const {
    std::string s;
    for (int i = 0; i < hosts_.size(); i++) s += hosts_.log(i);
    return s;
  }

  Hosts hosts_;
};

// A mach_port_type answer ("ok 0x30000") as a number.
inline mach_port_type_t port_type(const std::string& answer) {
  auto w = ok_words(answer);
  return w.empty() ? 0 : mach_port_type_t(strtoul(w.back().c_str(), nullptr, 16));
}

}  // namespace nettest

// Starts the hosts and ends the test when they did not start.
#define START_HOSTS(options)                            \
  do {                                                  \
    start_hosts(options);                               \
    if (IsSkipped() || HasFatalFailure()) return;       \
  } while (0)
