// tests/system/scale_test.cc — machd at sizes far beyond what a program
// usually meets: port sets of 100,000 members, 100,000 names. Figures are
// printed (the machine is shared: timings are not asserted).
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_port.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "support.h"

using namespace systest;

namespace {

mach_port_t self() { return mach_task_self(); }

double us_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

// `n` receive rights (each with a send right under its name if `send`).
std::vector<mach_port_t> make_ports(size_t n, bool send = true) {
  std::vector<mach_port_t> ports;
  ports.reserve(n);
  for (size_t i = 0; i < n; i++) {
    mach_port_t p = MACH_PORT_NULL;
    if (mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) break;
    if (send && mach_port_insert_right(self(), p, p, MACH_MSG_TYPE_MAKE_SEND) != KERN_SUCCESS) break;
    ports.push_back(p);
  }
  return ports;
}

// Destroys the receive rights of `ports` (and the send right under each
// name if `send`).
void destroy_ports(const std::vector<mach_port_t>& ports, bool send = true) {
  for (mach_port_t p : ports) EXPECT_EQ(mach_port_destruct(self(), p, send ? -1 : 0, 0), KERN_SUCCESS);
}

// A set holding every port of `ports`; the time it took in *build_us.
mach_port_t make_set(const std::vector<mach_port_t>& ports, double* build_us) {
  mach_port_t set = MACH_PORT_NULL;
  EXPECT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_PORT_SET, &set), KERN_SUCCESS);
  auto t0 = std::chrono::steady_clock::now();
  for (mach_port_t p : ports) {
    kern_return_t kr = mach_port_insert_member(self(), p, set);
    if (kr != KERN_SUCCESS) {
      ADD_FAILURE() << "insert_member: " << kr;
      break;
    }
  }
  *build_us = us_since(t0);
  return set;
}

// Sends one message to each of `picks` (indices into ports, value = index),
// then receives them all from `set`: each must come from the member it was
// sent to, in the order the members became ready. Returns the mean receive
// time in microseconds.
double send_then_receive(mach_port_t set, const std::vector<mach_port_t>& ports, const std::vector<size_t>& picks) {
  for (size_t i : picks) EXPECT_EQ(send_simple(ports[i], int32_t(i), "member"), MACH_MSG_SUCCESS);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<size_t> got;
  for (size_t n = 0; n < picks.size(); n++) {
    SimpleRcv r;
    mach_msg_return_t mr = receive_simple(set, r, 1000);
    if (mr != MACH_MSG_SUCCESS) {
      ADD_FAILURE() << "receive " << n << ": " << mr;
      break;
    }
    const size_t i = size_t(r.msg.value);
    EXPECT_LT(i, ports.size());
    if (i < ports.size()) {
      EXPECT_EQ(r.msg.head.msgh_local_port, ports[i]) << "the member's name identifies it";
    }
    got.push_back(i);
  }
  const double us = us_since(t0) / double(picks.size());
  EXPECT_EQ(got, picks) << "one message per member: served in the order they became ready";
  SimpleRcv r;
  EXPECT_EQ(receive_simple(set, r, 0), MACH_RCV_TIMED_OUT);
  return us;
}

}  // namespace

TEST(Scale, PortSetOfAHundredThousandMembersServesEachMessageFromItsMember) {
  constexpr size_t kBig = 100000;
  std::vector<size_t> picks;
  for (size_t i = 0; i < 2000; i++) picks.push_back((i * 7919) % kBig);
  std::sort(picks.begin(), picks.end());
  picks.erase(std::unique(picks.begin(), picks.end()), picks.end());
  std::reverse(picks.begin(), picks.end());  // not the insertion order

  std::vector<mach_port_t> small = make_ports(10);
  ASSERT_EQ(small.size(), 10u);
  double small_build = 0;
  mach_port_t small_set = make_set(small, &small_build);
  // One message per member at a time (the order rule above needs it).
  double small_us = 0;
  for (size_t round = 0; round < picks.size() / 10; round++)
    small_us += send_then_receive(small_set, small, {9, 3, 0, 7, 1, 8, 2, 6, 4, 5});
  small_us /= double(picks.size() / 10);

  std::vector<mach_port_t> big = make_ports(kBig);
  ASSERT_EQ(big.size(), kBig);
  double big_build = 0;
  mach_port_t big_set = make_set(big, &big_build);
  const double big_us = send_then_receive(big_set, big, picks);

  mach_port_name_array_t members = nullptr;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(mach_port_get_set_status(self(), big_set, &members, &n), KERN_SUCCESS)
      << "the member list is larger than a channel";
  ASSERT_EQ(n, kBig);
  std::vector<mach_port_t> got(members, members + n), want = big;
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  vm_deallocate(self(), vm_address_t(members), n * sizeof(*members));

  printf("[ figure ] port set receive (mach_msg through machd): %.2f us at 10 members, %.2f us at %zu members; "
         "building the set: %.2f us/member at 10, %.2f us/member at %zu\n",
         small_us, big_us, kBig, small_build / 10, big_build / double(kBig), kBig);
  mach_port_mod_refs(self(), small_set, MACH_PORT_RIGHT_PORT_SET, -1);
  mach_port_mod_refs(self(), big_set, MACH_PORT_RIGHT_PORT_SET, -1);
  destroy_ports(small);
  destroy_ports(big);
}

TEST(Scale, PortNamesListsAHundredThousandNames) {
  constexpr size_t kMany = 100000;
  std::vector<mach_port_t> ports = make_ports(kMany, false);
  ASSERT_EQ(ports.size(), kMany);
  mach_port_name_array_t names = nullptr;
  mach_port_type_array_t types = nullptr;
  mach_msg_type_number_t n = 0, nt = 0;
  ASSERT_EQ(mach_port_names(self(), &names, &n, &types, &nt), KERN_SUCCESS) << "more names than a channel holds";
  ASSERT_EQ(n, nt);
  ASSERT_GE(n, kMany);
  size_t found = 0;
  std::vector<mach_port_t> want = ports;
  std::sort(want.begin(), want.end());
  for (mach_msg_type_number_t i = 0; i < n; i++) {
    if (!std::binary_search(want.begin(), want.end(), names[i])) continue;
    found++;
    EXPECT_EQ(types[i], MACH_PORT_TYPE_RECEIVE) << names[i];
  }
  EXPECT_EQ(found, kMany);
  EXPECT_EQ(vm_deallocate(self(), vm_address_t(names), n * sizeof(*names)), KERN_SUCCESS);
  EXPECT_EQ(vm_deallocate(self(), vm_address_t(types), nt * sizeof(*types)), KERN_SUCCESS);
  destroy_ports(ports, false);
}
