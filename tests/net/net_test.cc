// tests/net/net_test.cc — mach-netmsgd between hosts: messages, rights,
// notifications, failures and flow control, each test named after the
// rule it pins. Hosts on loopback unless the test needs a link to cut
// (network namespaces, root: skipped otherwise).
#include <mach/mach.h>
#include <mach/notify.h>
#include <servers/netname_defs.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "net_fixture.h"
#include "process.h"

namespace nettest {
namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t) {
  return long(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

std::string err(long code) { return "err " + std::to_string(code); }

HostsOptions loopback(int hosts = 2) {
  HostsOptions o;
  o.hosts = hosts;
  return o;
}

HostsOptions netns(int hosts = 2) {
  HostsOptions o;
  o.hosts = hosts;
  o.netns = true;
  return o;
}

// The id of the next message on `task`'s port `label` within `ms`, or -1
// when none came.
long notification(Task& task, const std::string& label, int ms) {
  auto w = ok_words(task("notified " + label + " " + std::to_string(ms), ms + 5000));
  return w.size() == 2 ? std::stol(w[0]) : -1;
}

class Net : public NetTest {
 protected:
  // An echo server on host `on`, checked in as "echo"; and a task on host
  // `from` holding a send right to it under "e".
  void echo_between(int on, int from) {
    server_ = &hosts_.task(on);
    ASSERT_TRUE(ok_words((*server_)("new svc")).size() == 1);
    ASSERT_EQ((*server_)("checkin echo svc"), "ok");
    ASSERT_EQ((*server_)("serve svc"), "ok");
    client_ = &hosts_.task(from);
    ASSERT_EQ(ok_words((*client_)("lookup " + hosts_.name(on) + " echo e")).size(), 1u);
  }
  // A task on each of hosts 0 and 1 with an inbox the other holds a send
  // right to: `a` has "box" (its own) and "tob" (b's); `b` has "box" and
  // "toa".
  void inboxes() {
    a_ = &hosts_.task(0);
    b_ = &hosts_.task(1);
    ASSERT_EQ(ok_words((*a_)("new box")).size(), 1u);
    ASSERT_EQ((*a_)("checkin boxA box"), "ok");
    ASSERT_EQ(ok_words((*b_)("new box")).size(), 1u);
    ASSERT_EQ((*b_)("checkin boxB box"), "ok");
    ASSERT_EQ(ok_words((*a_)("lookup h1 boxB tob")).size(), 1u);
    ASSERT_EQ(ok_words((*b_)("lookup h0 boxA toa")).size(), 1u);
  }
  Task* server_ = nullptr;
  Task* client_ = nullptr;
  Task* a_ = nullptr;
  Task* b_ = nullptr;
};

using NetNamespaces = Net;

// ---- messages ----

TEST_F(Net, InlineDataRoundTripsByteForByteWithASendOnceReply) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(echo_between(0, 1));
  // net_task checks every reply byte and that the server saw the reply
  // right as a send-once right.
  EXPECT_EQ(ok_words((*client_)("call e 1 0")).size(), 2u);
  EXPECT_EQ(ok_words((*client_)("call e 200 64")).size(), 2u);
  EXPECT_EQ(ok_words((*client_)("call e 20 4096")).size(), 2u);
}

// The number on the line `key` of /proc/PID/status, -1 if none.
int status_field(pid_t pid, const char* key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::atoi(line.c_str() + strlen(key));
  return -1;
}

TEST_F(Net, TheNetworkServerServesUnderItsSystemCallFilter) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "a sanitizer build serves without its filter (its leak checker needs ptrace)";
#endif
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(echo_between(0, 1));
  EXPECT_EQ(ok_words((*client_)("call e 1 0")).size(), 2u);
  // One filter more than this test runs under (a container may add its own).
  for (int h = 0; h < 2; ++h)
    EXPECT_EQ(status_field(hosts_.netmsgd(h), "Seccomp_filters:"), status_field(getpid(), "Seccomp_filters:") + 1)
        << "host " << h;
}

TEST_F(Net, OutOfLineMemoryArrivesByteForByte) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(echo_between(0, 1));
  EXPECT_EQ(ok_words((*client_)("ool e 4096 2")).size(), 1u);
  EXPECT_EQ(ok_words((*client_)("ool e 1048576 3")).size(), 1u);
  EXPECT_EQ(ok_words((*client_)("ool e 67108864 1", 120000)).size(), 1u);
}

TEST_F(Net, UnusedRemoteSendOnceRightSendsTheSendOnceNotification) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(echo_between(0, 1));
  ASSERT_EQ(ok_words((*client_)("new r")).size(), 1u);
  // The server destroys the request, its reply right with it.
  ASSERT_EQ((*client_)("drop e r"), "ok");
  EXPECT_EQ(notification(*client_, "r", 10000), MACH_NOTIFY_SEND_ONCE);
  // And the reply right still works for the next call.
  EXPECT_EQ(ok_words((*client_)("call e 3 8")).size(), 2u);
}

// A message that reaches the remote host after its port died there takes
// the send-once right it carried with it: the right's home gets the
// send-once notification, and nothing of it stays in either mach-netmsgd
// (the fixture's check at the end). The message must cross before h1 hears
// of the death, so the port dies just before the send, a few times over:
// at least one must cross.
TEST_F(Net, ASendOnceRightInAMessageForAPortThatDiedComesHomeAsItsNotification) {
  START_HOSTS(loopback());
  Task& b = hosts_.task(1);
  ASSERT_EQ(ok_words(b("new r")).size(), 1u);
  int crossed = 0;
  for (int attempt = 0; attempt < 5 && crossed < 2; ++attempt) {
    Task& owner = hosts_.task(0);
    const std::string service = "dying-" + std::to_string(attempt);
    ASSERT_EQ(ok_words(owner("new p")).size(), 1u);
    ASSERT_EQ(owner("checkin " + service + " p"), "ok");
    ASSERT_EQ(ok_words(b("lookup h0 " + service + " x")).size(), 1u);
    owner.kill();
    if (b("give x r make-send-once") != "ok") continue;  // h1 knew already: nothing crossed
    ++crossed;
    EXPECT_EQ(notification(b, "r", 10000), MACH_NOTIFY_SEND_ONCE) << "attempt " << attempt;
  }
  EXPECT_GT(crossed, 0) << "no message crossed before h1 heard of the death";
}

// A message that waits at the remote host for room (its sends time out and
// the kernel gives it back, its rights under new names) and then finds its
// port dead gives back every right it carried, under the names it has then:
// the send-once right comes home as its notification, the send right as
// no-senders, and nothing stays in mach-netmsgd (the fixture's leak check).
TEST_F(Net, RightsOfAMessageThatWaitedForRoomAndThenFoundItsPortDeadAllComeHome) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  for (const std::string kind : {"make-send-once", "make-send"}) {
    SCOPED_TRACE(kind);
    ASSERT_EQ(ok_words((*a_)("new r 1")).size(), 1u);
    ASSERT_EQ((*a_)("give tob r make-send"), "ok");
    ASSERT_EQ(ok_words((*b_)("take box x")).size(), 2u);
    ASSERT_EQ((*a_)("fill r 0 10"), "ok 1");  // r's queue is full
    ASSERT_EQ(ok_words((*b_)("new s")).size(), 1u);
    ASSERT_EQ(ok_words((*b_)("new n")).size(), 1u);
    if (kind == "make-send") {
      ASSERT_EQ((*b_)("notify-nosenders s n"), "ok");
      ASSERT_EQ((*b_)("dealloc s"), "ok");  // the right that travels is the only one
    }
    ASSERT_EQ((*b_)("give x s " + kind), "ok");
    // h0's mach-netmsgd tries, times out and tries again; let it do so a few times.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ASSERT_EQ((*a_)("drop-receive r"), "ok");
    EXPECT_EQ(notification(*b_, kind == "make-send" ? "n" : "s", 10000),
              kind == "make-send" ? MACH_NOTIFY_NO_SENDERS : MACH_NOTIFY_SEND_ONCE);
    ASSERT_EQ((*a_)("dealloc r"), "ok");  // the dead name of a's own send right
    ASSERT_EQ((*b_)("dealloc x"), "ok");
  }
}

// The same wait, then room: the message arrives whole, its rights usable
// (a send-once right and an array of send rights, which the kernel gave
// back under new names and in new memory on each timed-out try), and
// nothing stays in mach-netmsgd.
TEST_F(Net, RightsOfAMessageThatWaitedForRoomArriveUsable) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  ASSERT_EQ(ok_words((*a_)("new r 1")).size(), 1u);
  ASSERT_EQ((*a_)("give tob r make-send"), "ok");
  ASSERT_EQ(ok_words((*b_)("take box x")).size(), 2u);
  ASSERT_EQ(ok_words((*b_)("new s")).size(), 1u);
  ASSERT_EQ(ok_words((*b_)("new t")).size(), 1u);
  ASSERT_EQ((*a_)("fill r 0 10"), "ok 1");
  ASSERT_EQ((*b_)("give x s make-send-once"), "ok");
  ASSERT_EQ((*b_)("give-array x make-send s t"), "ok");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ((*a_)("recv r"), "ok 0");
  const std::string once = (*a_)("take r y");
  ASSERT_EQ(ok_words(once).size(), 2u) << once;
  EXPECT_EQ(port_type(once), MACH_PORT_TYPE_SEND_ONCE);
  const auto array = ok_words((*a_)("take-array r z"));
  ASSERT_EQ(array.size(), 2u);
  ASSERT_EQ((*a_)("send y 5"), "ok");
  EXPECT_EQ((*b_)("recv s"), "ok 5");
  ASSERT_EQ((*a_)("send z0 6"), "ok");
  ASSERT_EQ((*a_)("send z1 7"), "ok");
  EXPECT_EQ((*b_)("recv s"), "ok 6");
  EXPECT_EQ((*b_)("recv t"), "ok 7");
}

// ---- rights ----

TEST_F(Net, SendRightPassedToAnotherHostReachesItsPort) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  ASSERT_EQ(ok_words((*a_)("new p")).size(), 1u);
  ASSERT_EQ((*a_)("give tob p make-send"), "ok");
  const std::string took = (*b_)("take box x");
  ASSERT_EQ(ok_words(took).size(), 2u) << took;
  EXPECT_EQ(port_type(took), MACH_PORT_TYPE_SEND);
  ASSERT_EQ((*b_)("send x 42"), "ok");
  EXPECT_EQ((*a_)("recv p"), "ok 42");
}

TEST_F(Net, SendRightPassedOnToAThirdHostReachesItsHome) {
  START_HOSTS(loopback(3));
  ASSERT_NO_FATAL_FAILURE(inboxes());
  Task& c = hosts_.task(2);
  ASSERT_EQ(ok_words(c("new box")).size(), 1u);
  ASSERT_EQ(c("checkin boxC box"), "ok");
  ASSERT_EQ(ok_words((*b_)("lookup h2 boxC toc")).size(), 1u);
  ASSERT_EQ(ok_words((*a_)("new p")).size(), 1u);
  ASSERT_EQ((*a_)("give tob p make-send"), "ok");
  ASSERT_EQ(ok_words((*b_)("take box x")).size(), 2u);
  ASSERT_EQ((*b_)("give toc x move-send"), "ok");
  const std::string took = c("take box y");
  ASSERT_EQ(port_type(took), MACH_PORT_TYPE_SEND) << took;
  ASSERT_EQ(c("send y 7"), "ok");
  EXPECT_EQ((*a_)("recv p"), "ok 7");
}

TEST_F(Net, SendRightSentBackHomeIsTheOriginalName) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  const std::string p = ok_words((*a_)("new p")).at(0);
  ASSERT_EQ((*a_)("give tob p make-send"), "ok");
  ASSERT_EQ(ok_words((*b_)("take box x")).size(), 2u);
  ASSERT_EQ((*b_)("give toa x move-send"), "ok");
  const std::string took = (*a_)("take box y");
  auto w = ok_words(took);
  ASSERT_EQ(w.size(), 2u) << took;
  EXPECT_EQ(w[0], p) << "the right came home under another name";
  EXPECT_EQ(port_type(took), MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_RECEIVE);
  // One more send right than before: the one that travelled.
  EXPECT_EQ((*a_)("dealloc y"), "ok");
  EXPECT_EQ(port_type((*a_)("type p")), MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_RECEIVE);
}

TEST_F(Net, SendRightReturningHomeThroughAThirdHostIsTheOriginalName) {
  START_HOSTS(loopback(3));
  ASSERT_NO_FATAL_FAILURE(inboxes());
  Task& c = hosts_.task(2);
  ASSERT_EQ(ok_words(c("new box")).size(), 1u);
  ASSERT_EQ(c("checkin boxC box"), "ok");
  ASSERT_EQ(ok_words((*b_)("lookup h2 boxC toc")).size(), 1u);
  ASSERT_EQ(ok_words(c("lookup h0 boxA toa")).size(), 1u);
  const std::string p = ok_words((*a_)("new p")).at(0);
  ASSERT_EQ((*a_)("give tob p make-send"), "ok");
  ASSERT_EQ(ok_words((*b_)("take box x")).size(), 2u);
  ASSERT_EQ((*b_)("give toc x move-send"), "ok");
  ASSERT_EQ(ok_words(c("take box y")).size(), 2u);
  ASSERT_EQ(c("give toa y move-send"), "ok");
  const std::string took = (*a_)("take box z");
  auto w = ok_words(took);
  ASSERT_EQ(w.size(), 2u) << took;
  EXPECT_EQ(w[0], p) << "the right came home under another name";
  EXPECT_EQ(port_type(took), MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_RECEIVE);
}

TEST_F(Net, OutOfLinePortArraysCarrySendRightsThereAndHome) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  const std::string p0 = ok_words((*a_)("new p0")).at(0);
  const std::string p1 = ok_words((*a_)("new p1")).at(0);
  ASSERT_EQ((*a_)("give-array tob make-send p0 p1 p0"), "ok");
  const std::string took = (*b_)("take-array box x");
  auto w = ok_words(took);
  ASSERT_EQ(w.size(), 3u) << took;
  // One port twice in the array is one name on b too.
  EXPECT_EQ(w[0], w[2]);
  EXPECT_NE(w[0], w[1]);
  EXPECT_EQ(port_type((*b_)("type x0")), MACH_PORT_TYPE_SEND);
  ASSERT_EQ((*b_)("send x0 0"), "ok");
  ASSERT_EQ((*b_)("send x1 1"), "ok");
  EXPECT_EQ((*a_)("recv p0"), "ok 0");
  EXPECT_EQ((*a_)("recv p1"), "ok 1");
  // Back home: the original names.
  ASSERT_EQ((*b_)("give-array toa copy-send x1 x0"), "ok");
  const std::string home = (*a_)("take-array box y");
  auto h = ok_words(home);
  ASSERT_EQ(h.size(), 2u) << home;
  EXPECT_EQ(h[0], p1 + ":0x30000");
  EXPECT_EQ(h[1], p0 + ":0x30000");
}

TEST_F(Net, SendOnceRightInAMessageIsUsedOnceAcrossHosts) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  ASSERT_EQ(ok_words((*a_)("new p")).size(), 1u);
  ASSERT_EQ((*a_)("give tob p make-send-once"), "ok");
  const std::string took = (*b_)("take box x");
  ASSERT_EQ(port_type(took), MACH_PORT_TYPE_SEND_ONCE) << took;
  ASSERT_EQ((*b_)("send x 5"), "ok");
  EXPECT_EQ((*a_)("recv p"), "ok 5");
  // Used: the name is gone from b's space.
  EXPECT_EQ((*b_)("type x"), "err mach_port_type " + std::to_string(KERN_INVALID_NAME));
}

TEST_F(Net, SendOnceRightSentBackHomeStillReachesItsPort) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  ASSERT_EQ(ok_words((*a_)("new p")).size(), 1u);
  ASSERT_EQ((*a_)("give tob p make-send-once"), "ok");
  ASSERT_EQ(port_type((*b_)("take box x")), MACH_PORT_TYPE_SEND_ONCE);
  ASSERT_EQ((*b_)("give toa x move-send-once"), "ok");
  const std::string took = (*a_)("take box y");
  ASSERT_EQ(port_type(took), MACH_PORT_TYPE_SEND_ONCE) << took;
  ASSERT_EQ((*a_)("send y 9"), "ok");
  EXPECT_EQ((*a_)("recv p"), "ok 9");
}

TEST_F(Net, ReceiveRightMovedToAnotherHostKeepsItsQueueAndItsSenders) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  ASSERT_EQ(ok_words((*a_)("new r")).size(), 1u);
  ASSERT_EQ((*a_)("send r 0"), "ok");  // queued before the move: it moves along
  ASSERT_EQ((*a_)("give tob r move-receive"), "ok");
  const std::string took = (*b_)("take box r2");
  ASSERT_EQ(port_type(took), MACH_PORT_TYPE_RECEIVE) << took;
  // a's send right (same name) now reaches the port on b.
  EXPECT_EQ(port_type((*a_)("type r")), MACH_PORT_TYPE_SEND);
  ASSERT_EQ((*a_)("send r 1"), "ok");
  ASSERT_EQ((*a_)("send r 2"), "ok");
  EXPECT_EQ((*b_)("recvseq r2 3"), "ok");
}

TEST_F(Net, ReceiveRightDyingOnItsNewHostTurnsOldHomeRightsIntoDeadNames) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  ASSERT_EQ(ok_words((*a_)("new r")).size(), 1u);
  ASSERT_EQ(ok_words((*a_)("new n")).size(), 1u);
  ASSERT_EQ((*a_)("give tob r move-receive"), "ok");
  ASSERT_EQ(port_type((*b_)("take box r2")), MACH_PORT_TYPE_RECEIVE);
  ASSERT_EQ((*a_)("notify-dead r n"), "ok");
  ASSERT_EQ((*b_)("drop-receive r2"), "ok");
  EXPECT_EQ(notification(*a_, "n", 10000), MACH_NOTIFY_DEAD_NAME);
  EXPECT_EQ(port_type((*a_)("type r")), MACH_PORT_TYPE_DEAD_NAME);
}

TEST_F(Net, ReceiveRightMovedToAHostWithAProxyBecomesThatProxysPort) {
  // b holds a send right to a's port (a proxy on b); then the receive right
  // moves to b: b's send right and its new receive right are one port.
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  ASSERT_EQ(ok_words((*a_)("new r")).size(), 1u);
  ASSERT_EQ((*a_)("give tob r make-send"), "ok");
  const std::string x = ok_words((*b_)("take box x")).at(0);
  ASSERT_EQ((*a_)("give tob r move-receive"), "ok");
  const std::string took = (*b_)("take box r2");
  ASSERT_EQ(ok_words(took).size(), 2u) << took;
  EXPECT_EQ(ok_words(took)[0], x);
  EXPECT_EQ(port_type(took), MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_RECEIVE);
  ASSERT_EQ((*b_)("send x 0"), "ok");
  ASSERT_EQ((*a_)("send r 1"), "ok");
  EXPECT_EQ((*b_)("recvseq r2 2"), "ok");
}

TEST_F(Net, ReceiveRightComingToItsSendersHostKeepsTheirMessageOrder) {
  // b fills a's port (queue limit 1) until a send times out: some messages
  // wait at a, the rest in b's proxy. Then the receive right moves to b:
  // b's receiver gets every message b sent, in the order b sent them.
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  ASSERT_EQ(ok_words((*a_)("new r 1")).size(), 1u);
  ASSERT_EQ((*a_)("give tob r make-send"), "ok");
  ASSERT_EQ(ok_words((*b_)("take box x")).size(), 2u);
  const auto sent = ok_words((*b_)("fill x 300 100"));
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ((*a_)("give tob r move-receive"), "ok");
  ASSERT_EQ(ok_words((*b_)("take box r2")).size(), 2u);
  EXPECT_EQ((*b_)("recvseq r2 " + sent[0]), "ok");
}

// ---- who sent it ----

TEST_F(Net, ARemoteSendersTrailerNamesItsHostPidAndUid) {
  START_HOSTS(loopback());
  Task& owner = hosts_.task(0);
  ASSERT_EQ(ok_words(owner("new p")).size(), 1u);
  ASSERT_EQ(owner("checkin who p"), "ok");
  Task& far = hosts_.task(1);
  ASSERT_EQ(ok_words(far("lookup h0 who x")).size(), 1u);
  ASSERT_EQ(far("send x 7"), "ok");
  EXPECT_EQ(owner("whosent p"), "ok " + std::to_string(far.pid()) + " " + std::to_string(getuid()) + " remote h1");
  // A sender on the port's own host is not marked remote, even right after
  // the network server relayed one.
  Task& near = hosts_.task(0);
  ASSERT_EQ(ok_words(near("lookup h0 who y")).size(), 1u);
  ASSERT_EQ(near("send y 8"), "ok");
  EXPECT_EQ(owner("whosent p"), "ok " + std::to_string(near.pid()) + " " + std::to_string(getuid()) + " local");
}

// ---- notifications ----

TEST_F(Net, LastRemoteSenderGoneSendsNoSendersHome) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(inboxes());
  ASSERT_EQ(ok_words((*a_)("new p")).size(), 1u);
  ASSERT_EQ(ok_words((*a_)("new n")).size(), 1u);
  ASSERT_EQ((*a_)("notify-nosenders p n"), "ok");
  ASSERT_EQ((*a_)("give tob p make-send"), "ok");
  ASSERT_EQ((*a_)("dealloc p"), "ok");  // a's own send right: b's is the only one
  ASSERT_EQ(ok_words((*b_)("take box x")).size(), 2u);
  EXPECT_EQ((*a_)("notified n 500"), "err receive " + std::to_string(MACH_RCV_TIMED_OUT)) << "no-senders while b still holds a right";
  ASSERT_EQ((*b_)("dealloc x"), "ok");
  EXPECT_EQ(notification(*a_, "n", 10000), MACH_NOTIFY_NO_SENDERS);
}

TEST_F(Net, RemoteReceiverDyingTurnsTheProxyIntoADeadName) {
  START_HOSTS(loopback());
  Task& owner = hosts_.task(0);
  ASSERT_EQ(ok_words(owner("new p")).size(), 1u);
  ASSERT_EQ(owner("checkin dying p"), "ok");
  Task& b = hosts_.task(1);
  ASSERT_EQ(ok_words(b("lookup h0 dying x")).size(), 1u);
  ASSERT_EQ(ok_words(b("new n")).size(), 1u);
  ASSERT_EQ(b("notify-dead x n"), "ok");
  owner.kill();
  EXPECT_EQ(notification(b, "n", 10000), MACH_NOTIFY_DEAD_NAME);
  EXPECT_EQ(port_type(b("type x")), MACH_PORT_TYPE_DEAD_NAME);
  // The name is gone from netname too.
  EXPECT_EQ(b("lookup h0 dying y"), err(NETNAME_NOT_CHECKED_IN));
}

// b holds a right to a's port and waits for its dead-name notification
// after `cut` runs; returns the milliseconds it took (-1: none came).
long dead_name_after(Hosts& hosts, const std::function<void()>& cut, int wait_ms) {
  Task& owner = hosts.task(0);
  if (ok_words(owner("new p")).size() != 1 || owner("checkin far p") != "ok") return -2;
  Task& b = hosts.task(1);
  if (ok_words(b("lookup h0 far x")).size() != 1 || ok_words(b("new n")).size() != 1 ||
      b("notify-dead x n") != "ok")
    return -2;
  const auto t0 = Clock::now();
  cut();
  auto w = ok_words(b("notified n " + std::to_string(wait_ms), wait_ms + 5000));
  if (w.size() != 2 || w[0] != std::to_string(MACH_NOTIFY_DEAD_NAME)) return -1;
  if (port_type(b("type x")) != MACH_PORT_TYPE_DEAD_NAME) return -3;
  return ms_since(t0);
}

// Host 1's right to a port on host 0 is a dead name within 4 heartbeats
// and `slack_ms` after `cut`.
void expect_dead_name_within_4_heartbeats(Hosts& hosts, const std::function<void()>& cut, unsigned heartbeat,
                                          long slack_ms) {
  const long bound = 4 * 1000 * long(heartbeat) + slack_ms;
  const long ms = dead_name_after(hosts, cut, int(bound));
  ASSERT_GE(ms, 0) << "no dead name (" << ms << ")";
  EXPECT_LE(ms, bound);
  printf("dead name after %ld ms (bound %ld ms)\n", ms, bound);
}

TEST_F(Net, IdleConnectionOutlivesTheHeartbeatBound) {
  HostsOptions o = loopback();
  o.heartbeat = 1;
  START_HOSTS(o);
  ASSERT_NO_FATAL_FAILURE(echo_between(0, 1));
  ASSERT_EQ(ok_words((*client_)("new n")).size(), 1u);
  ASSERT_EQ((*client_)("notify-dead e n"), "ok");
  // Nothing crosses for 6 heartbeats but the probes: no dead name.
  EXPECT_EQ((*client_)("notified n 6000"), "err receive " + std::to_string(MACH_RCV_TIMED_OUT));
  EXPECT_EQ(ok_words((*client_)("call e 3 16")).size(), 2u);
}

TEST_F(Net, KilledNetmsgdTurnsRemoteRightsIntoDeadNamesWithin4Heartbeats) {
  HostsOptions o = loopback();
  o.heartbeat = 1;
  START_HOSTS(o);
  expect_dead_name_within_4_heartbeats(hosts_, [&] { hosts_.kill_netmsgd(0); }, o.heartbeat, 2000);
}

TEST_F(Net, StoppedNetmsgdTurnsRemoteRightsIntoDeadNamesWithin8Heartbeats) {
  // Its kernel still acknowledges TCP: only the pings go unanswered.
  HostsOptions o = loopback();
  o.heartbeat = 1;
  START_HOSTS(o);
  const pid_t stopped = hosts_.netmsgd(0);
  const long bound = 8 * 1000 * long(o.heartbeat) + 3000;
  const long ms = dead_name_after(hosts_, [&] { kill(stopped, SIGSTOP); }, int(bound));
  kill(stopped, SIGCONT);
  ASSERT_GE(ms, 0) << "no dead name (" << ms << ")";
  EXPECT_GE(ms, 1000 * long(o.heartbeat)) << "not before a ping went unanswered";
  EXPECT_LE(ms, bound);
  printf("dead name after %ld ms (bound %ld ms)\n", ms, bound);
}

TEST_F(Net, RestartedNetmsgdIsDialedAgainAndServesNewLookUps) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(echo_between(0, 1));
  ASSERT_EQ(ok_words((*client_)("call e 3 16")).size(), 2u);
  hosts_.kill_netmsgd(0);
  std::string why;
  ASSERT_TRUE(hosts_.restart_netmsgd(0, &why)) << why;
  // Its names went with it: the service checks in again.
  ASSERT_EQ((*server_)("checkin echo svc"), "ok");
  // h1 dials h0 again (every heartbeat) and looks the name up anew.
  ASSERT_EQ(ok_words((*client_)("lookup h0 echo e2 10000")).size(), 1u);
  EXPECT_EQ(ok_words((*client_)("call e2 3 16")).size(), 2u);
  EXPECT_EQ(port_type((*client_)("type e")), MACH_PORT_TYPE_DEAD_NAME);
}

TEST_F(NetNamespaces, CutLinkTurnsRemoteRightsIntoDeadNamesWithin4Heartbeats) {
  HostsOptions o = netns();
  o.heartbeat = 1;
  START_HOSTS(o);
  expect_dead_name_within_4_heartbeats(hosts_, [&] { ASSERT_TRUE(hosts_.network()->set_link(0, false)); }, o.heartbeat, 3000);
}

TEST_F(NetNamespaces, SilentlyLostPacketsTurnRemoteRightsIntoDeadNamesWithin4Heartbeats) {
  if (!Network::has_nft()) GTEST_SKIP() << "nft (nftables) is not installed";
  HostsOptions o = netns();
  o.heartbeat = 1;
  START_HOSTS(o);
  std::string why;
  expect_dead_name_within_4_heartbeats(
      hosts_,
      [&] {
        ASSERT_TRUE(hosts_.network()->nft(0,
                                          "table inet cut {\n"
                                          "  chain in { type filter hook input priority 0; iifname \"v0\" drop; }\n"
                                          "  chain out { type filter hook output priority 0; oifname \"v0\" drop; }\n"
                                          "}\n",
                                          &why))
            << why;
      },
      o.heartbeat, 3000);
}

TEST_F(NetNamespaces, RpcsAreAllAnsweredDespiteRandomPacketDrop) {
  if (!Network::has_nft()) GTEST_SKIP() << "nft (nftables) is not installed";
  // 10 % of the packets in and out of host 0 vanish: TCP retransmits. A
  // heartbeat of 2 s gives a retransmission 8 s before the link counts as
  // cut (at 1 s, four losses of one segment in a row would end it).
  HostsOptions o = netns();
  o.heartbeat = 2;
  START_HOSTS(o);
  ASSERT_NO_FATAL_FAILURE(echo_between(0, 1));
  std::string why;
  ASSERT_TRUE(hosts_.network()->nft(0,
                                    "table inet lossy {\n"
                                    "  chain in { type filter hook input priority 0;"
                                    " iifname \"v0\" numgen random mod 100 < 10 counter drop; }\n"
                                    "  chain out { type filter hook output priority 0;"
                                    " oifname \"v0\" numgen random mod 100 < 10 counter drop; }\n"
                                    "}\n",
                                    &why))
      << why;
  EXPECT_EQ(ok_words((*client_)("call e 200 512", 120000)).size(), 2u);
  EXPECT_EQ(ok_words((*client_)("ool e 1048576 4", 120000)).size(), 1u);
  EXPECT_EQ(ok_words((*client_)("call e 50 4096", 120000)).size(), 2u);
  // Packets were dropped indeed.
  std::string table;
  ASSERT_EQ(run({"nft", "list", "table", "inet", "lossy"}, &table, hosts_.network()->ns(0)), 0) << table;
  long dropped = 0;
  for (size_t at = 0; (at = table.find("counter packets ", at)) != std::string::npos; at++)
    dropped += strtol(table.c_str() + at + 16, nullptr, 10);
  EXPECT_GT(dropped, 20) << table;
  printf("packets dropped: %ld\n", dropped);
}

TEST_F(NetNamespaces, InlineAndOutOfLineRpcsCrossARealLink) {
  START_HOSTS(netns());
  ASSERT_NO_FATAL_FAILURE(echo_between(1, 0));
  EXPECT_EQ(ok_words((*client_)("call e 100 256")).size(), 2u);
  EXPECT_EQ(ok_words((*client_)("ool e 67108864 1", 120000)).size(), 1u);
}

// ---- flow control ----

TEST_F(Net, FullRemoteQueueTimesOutTheSenderWhileOtherPortsGoOn) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(echo_between(0, 1));
  ASSERT_EQ(ok_words((*server_)("new slow 2")).size(), 1u);  // qlimit 2, never received (yet)
  ASSERT_EQ((*server_)("checkin slow slow"), "ok");
  ASSERT_EQ(ok_words((*client_)("lookup h0 slow s")).size(), 1u);
  const auto sent = ok_words((*client_)("fill s 300 200"));
  ASSERT_EQ(sent.size(), 1u) << "the sender never timed out";
  EXPECT_GE(std::stoi(sent[0]), 2);  // at least the port's own queue
  // The same connection still carries the other port's calls.
  EXPECT_EQ(ok_words((*client_)("call e 20 64")).size(), 2u);
  // Everything sent before the time-out arrives, in order; the timed-out
  // message does not.
  EXPECT_EQ((*server_)("recvseq slow " + sent[0]), "ok");
  // And the port takes messages again.
  EXPECT_EQ((*client_)("send s 0 5000"), "ok");
  EXPECT_EQ((*server_)("recv slow"), "ok 0");
}

// ---- netname ----

TEST_F(Net, NetnameLookUpAnswersForUnknownNamesAndHosts) {
  START_HOSTS(loopback());
  ASSERT_NO_FATAL_FAILURE(echo_between(0, 1));
  EXPECT_EQ((*client_)("lookup h0 nothing x"), err(NETNAME_NOT_CHECKED_IN));
  EXPECT_EQ((*client_)("lookup no-such-host echo x"), err(NETNAME_NO_SUCH_HOST));
  EXPECT_EQ((*client_)("lookup 127.0.0.1:1 echo x"), err(NETNAME_HOST_NOT_FOUND));
  // "*" asks every peer, "" this host, an address the host there.
  EXPECT_EQ(ok_words((*client_)("lookup * echo x1")).size(), 1u);
  EXPECT_EQ(ok_words((*server_)("lookup localhost echo x3")).size(), 1u);
  EXPECT_EQ(ok_words((*client_)("lookup " + hosts_.address(0) + " echo x4")).size(), 1u);
  EXPECT_EQ(ok_words((*client_)("call e 1 8")).size(), 2u);
}

}  // namespace
}  // namespace nettest
