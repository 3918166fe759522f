// tests/net/main.cc — the net tests' main: removes the network namespaces
// a killed run left behind, then runs the tests. This process is no Mach
// task: every Mach call is made by net_task processes on the hosts.
#include <gtest/gtest.h>

#include "netns.h"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  nettest::Network::remove_stale();
  return RUN_ALL_TESTS();
}
