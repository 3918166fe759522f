// tests/system/scale_test.cc — machd at sizes far beyond what a program
// usually meets: port sets of 100,000 members, 100,000 names, a task with
// millions of names dying. Figures are
// printed (the machine is shared: timings are not asserted).
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_port.h>
#include <mach/notify.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

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

namespace {

// Puts `n` names in this task's space cheaply: send-once rights to one port
// of its own arrive 50,000 at a time in out-of-line port arrays (each right
// gets a name of its own). False if a message fails.
bool hold_send_once_names(size_t n) {
  constexpr size_t kBatch = 16000;  // under XNU's IPC_KMSG_MAX_OOL_PORT_COUNT (16383)
  mach_port_t p = make_port();
  if (p == MACH_PORT_NULL) return false;
  std::vector<mach_port_t> arr(kBatch, p);
  struct Msg {
    mach_msg_header_t h;
    mach_msg_body_t b;
    mach_msg_ool_ports_descriptor_t d;
  };
  struct Rcv {
    Msg m;
    mach_msg_max_trailer_t t;
  };
  for (size_t have = 0; have < n; have += kBatch) {
    Msg m{};
    m.h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
    m.h.msgh_size = sizeof m;
    m.h.msgh_remote_port = p;
    m.b.msgh_descriptor_count = 1;
    m.d.address = arr.data();
    m.d.count = kBatch;
    m.d.deallocate = false;
    m.d.copy = MACH_MSG_PHYSICAL_COPY;
    m.d.disposition = MACH_MSG_TYPE_MAKE_SEND_ONCE;
    m.d.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
    mach_msg_return_t mr = mach_msg(&m.h, MACH_SEND_MSG, sizeof m, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL);
    Rcv r{};
    if (mr == MACH_MSG_SUCCESS) mr = mach_msg(&r.m.h, MACH_RCV_MSG, 0, sizeof r, p, 0, MACH_PORT_NULL);
    if (mr != MACH_MSG_SUCCESS || r.m.d.count != kBatch) {
      fprintf(stderr, "hold_send_once_names: %zu names, then %#x (count %u)\n", have, mr, r.m.d.count);
      return false;
    }
    vm_deallocate(self(), vm_address_t(r.m.d.address), kBatch * sizeof(mach_port_t));  // the names stay
  }
  return true;
}

// Waits up to timeout_ms for one byte on fd.
bool read_byte(int fd, int timeout_ms) {
  pollfd pfd{fd, POLLIN, 0};
  char c;
  return poll(&pfd, 1, timeout_ms) == 1 && read(fd, &c, 1) == 1;
}

}  // namespace

// A task holding 2,000,000 names (and 10,000 receive rights) is killed while
// this task does RPCs through machd: machd tears the dead space down a batch
// per loop turn, so no RPC waits for the whole teardown. The bound asserted
// (1 s) is far above a batch (milliseconds) and below the whole teardown on
// this machine, so a teardown done all at once fails it; the figure printed
// is the real one.
TEST(Scale, KillingATaskWithMillionsOfNamesDoesNotStallOtherTasks) {
  constexpr size_t kNames = 2000000, kReceive = 10000;
  const uint64_t ports_before = holdings().ports;
  mach_port_t checkin = MACH_PORT_NULL;
  const std::string name = check_in_unique("teardown", &checkin);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = spawn_task([&] {
    close(ready[0]);
    if (trade_inbox(name) == MACH_PORT_NULL) return 1;
    if (make_ports(kReceive).size() != kReceive) return 2;
    if (!hold_send_once_names(kNames)) return 3;
    if (write(ready[1], "r", 1) != 1) return 4;
    pause();
    return 0;
  });
  close(ready[1]);
  mach_port_t child_port = receive_right(checkin, 60000);
  ASSERT_NE(child_port, MACH_PORT_NULL);
  mach_port_t dn = make_port(), prev = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_request_notification(self(), child_port, MACH_NOTIFY_DEAD_NAME, 0, dn,
                                           MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev),
            KERN_SUCCESS);
  if (!read_byte(ready[0], 300000)) {
    kill(pid, SIGKILL);
    FAIL() << "the child did not get its names: exit " << wait_exit(pid);
  }
  close(ready[0]);
  const Holdings full = holdings();
  ASSERT_GE(full.ports, ports_before + kReceive);

  mach_port_t echo = make_port();
  auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGKILL);
  double max_us = 0, total_us = 0;
  size_t rpcs = 0;
  bool done = false;
  while (!done && us_since(t0) < 120e6) {
    auto r0 = std::chrono::steady_clock::now();
    ASSERT_EQ(send_simple(echo, int32_t(rpcs), "rpc"), MACH_MSG_SUCCESS);
    SimpleRcv r;
    ASSERT_EQ(receive_simple(echo, r, 10000), MACH_MSG_SUCCESS);
    ASSERT_EQ(r.msg.value, int32_t(rpcs));
    const double us = us_since(r0);
    max_us = std::max(max_us, us);
    total_us += us;
    rpcs++;
    if (rpcs % 16 == 0) {
      const Holdings h = holdings();  // an RPC too (not timed)
      // Left: what this task held before, plus checkin, dn, echo and the
      // dead port child_port names.
      done = h.ports <= ports_before + 4 && h.tasks == full.tasks - 1;
    }
  }
  const double teardown_ms = us_since(t0) / 1000;
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  ASSERT_TRUE(done) << "the dead task's ports were not all released";
  printf("[ figure ] killing a task with %zu names and %zu receive rights: released within %.0f ms; "
         "another task's %zu RPCs meanwhile: max %.0f us, mean %.1f us\n",
         kNames + kReceive + 2, kReceive, teardown_ms, rpcs, max_us, total_us / double(rpcs));
  EXPECT_LT(max_us, 1e6);

  SimpleRcv n;
  ASSERT_EQ(receive_simple(dn, n, 10000), MACH_MSG_SUCCESS);
  EXPECT_EQ(n.msg.head.msgh_id, MACH_NOTIFY_DEAD_NAME) << "dead-name notifications still come";
  mach_port_type_t t = 0;
  EXPECT_EQ(mach_port_type(self(), child_port, &t), KERN_SUCCESS);
  EXPECT_EQ(t, MACH_PORT_TYPE_DEAD_NAME);
  mach_port_deallocate(self(), child_port);  // the right
  mach_port_deallocate(self(), child_port);  // the notification's reference
  destroy_ports({echo, dn});
  mach_port_mod_refs(self(), checkin, MACH_PORT_RIGHT_RECEIVE, -1);
  Holdings after = holdings();
  for (int i = 0; i < 100 && after.ports > ports_before; i++) {
    usleep(50000);
    after = holdings();
  }
  EXPECT_EQ(after.ports, ports_before) << "nothing of the dead task is left";
  EXPECT_EQ(after.messages, full.messages);
}
