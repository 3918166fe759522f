// tests/system/lifecycle_test.cc — tasks that die, fork, exec; machd that stops.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <mach/mach.h>
#include <mach/notify.h>
#include <seccomp.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <functional>
#include <thread>

#include "../common/private_machd.h"
#include "support.h"

using namespace systest;

namespace {

std::string helper_path() {
  const char* p = getenv("TASK_HELPER");
  return p ? p : "";
}

}  // namespace

TEST(Lifecycle, KilledClientMidRpcReleasesEverythingItHeld) {
  uint64_t base_tasks = holdings().tasks;
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("kill", &port);
  pid_t client = spawn_task([&] {
    mach_port_t dest = look_up(name);
    for (int i = 0; i < 50; ++i) make_port();  // rights that must be released
    mach_port_t reply = mig_get_reply_port();
    SimpleRcv buf{};
    buf.msg.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
    buf.msg.head.msgh_size = sizeof(SimpleMsg);
    buf.msg.head.msgh_remote_port = dest;
    buf.msg.head.msgh_local_port = reply;
    mach_msg(&buf.msg.head, MACH_SEND_MSG | MACH_RCV_MSG, sizeof(SimpleMsg), sizeof buf, reply, 0, 0);
    return 0;
  });
  SimpleRcv r;
  ASSERT_EQ(receive_simple(port, r, 5000), MACH_MSG_SUCCESS);
  mach_port_t reply = r.msg.head.msgh_remote_port;
  kill(client, SIGKILL);
  EXPECT_EQ(wait_exit(client), 128 + SIGKILL);
  ASSERT_TRUE(wait_for_tasks(base_tasks)) << "the killed task is gone from machd";
  // The reply right now names a dead port.
  mach_port_type_t type = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), reply, &type), KERN_SUCCESS);
  EXPECT_TRUE(type & MACH_PORT_TYPE_DEAD_NAME);
  SimpleMsg m{};
  m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
  m.head.msgh_size = sizeof m;
  m.head.msgh_remote_port = reply;
  EXPECT_EQ(mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, 0, 0, 0), MACH_SEND_INVALID_DEST);
  mach_port_destroy(mach_task_self(), reply);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Lifecycle, DeadNameNotificationArrivesWhenPeerIsKilled) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  std::string name = "org.machd.test.deadname." + std::to_string(getpid());
  pid_t peer = spawn_task([&] {
    mach_port_t p = MACH_PORT_NULL;
    if (bootstrap_check_in(bootstrap_port, name.c_str(), &p) != KERN_SUCCESS) return 1;
    (void)!write(ready[1], "x", 1);
    pause();
    return 0;
  });
  close(ready[1]);  // (ours: a child that fails early ends the read)
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  mach_port_t peer_port = look_up(name);
  ASSERT_NE(peer_port, MACH_PORT_NULL);
  mach_port_t notify = make_port();
  mach_port_t previous = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_request_notification(mach_task_self(), peer_port, MACH_NOTIFY_DEAD_NAME, 0, notify,
                                           MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous),
            KERN_SUCCESS);
  EXPECT_EQ(previous, MACH_PORT_NULL);
  kill(peer, SIGKILL);
  wait_exit(peer);
  union {
    mach_dead_name_notification_t n;
    uint8_t space[256];
  } m{};
  ASSERT_EQ(mach_msg(&m.n.not_header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, notify, 5000, 0),
            MACH_MSG_SUCCESS);
  EXPECT_EQ(m.n.not_header.msgh_id, MACH_NOTIFY_DEAD_NAME);
  EXPECT_EQ(m.n.not_port, peer_port);
  mach_port_type_t type = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), peer_port, &type), KERN_SUCCESS);
  EXPECT_EQ(type, MACH_PORT_TYPE_DEAD_NAME);
  mach_port_destroy(mach_task_self(), peer_port);
  mach_port_mod_refs(mach_task_self(), notify, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), notify);
  close(ready[0]);
}

TEST(Lifecycle, NoSendersNotificationWhenLastSenderTaskExits) {
  mach_port_t target = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &target), KERN_SUCCESS);
  mach_port_t notify = make_port();
  mach_port_t previous = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_request_notification(mach_task_self(), target, MACH_NOTIFY_NO_SENDERS, 1, notify,
                                           MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous),
            KERN_SUCCESS);
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  std::string name = "org.machd.test.nosenders." + std::to_string(getpid());
  pid_t child = spawn_task([&] {
    mach_port_t inbox = MACH_PORT_NULL;
    if (bootstrap_check_in(bootstrap_port, name.c_str(), &inbox) != KERN_SUCCESS) return 1;
    struct {
      mach_msg_header_t head;
      mach_msg_body_t body;
      mach_msg_port_descriptor_t port;
      mach_msg_max_trailer_t trailer;
    } m{};
    if (mach_msg(&m.head, MACH_RCV_MSG, 0, sizeof m, inbox, 0, 0) != MACH_MSG_SUCCESS) return 2;
    char c;
    (void)!read(go[0], &c, 1);
    return 0;  // exits holding the send right
  });
  mach_port_t inbox = look_up(name);
  ASSERT_EQ(send_right(inbox, target, MACH_MSG_TYPE_MAKE_SEND), MACH_MSG_SUCCESS);
  mach_port_deallocate(mach_task_self(), inbox);
  union {
    mach_no_senders_notification_t n;
    uint8_t space[256];
  } m{};
  // While the child holds the right: nothing.
  EXPECT_EQ(mach_msg(&m.n.not_header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, notify, 100, 0),
            MACH_RCV_TIMED_OUT);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  EXPECT_EQ(wait_exit(child), 0);
  ASSERT_EQ(mach_msg(&m.n.not_header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, notify, 5000, 0),
            MACH_MSG_SUCCESS);
  EXPECT_EQ(m.n.not_header.msgh_id, MACH_NOTIFY_NO_SENDERS);
  EXPECT_EQ(m.n.not_count, 1u);
  mach_port_mod_refs(mach_task_self(), target, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), notify, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), notify);
  close(go[0]);
  close(go[1]);
}

TEST(Lifecycle, ForkedChildIsANewTaskHoldingOnlyItsSpecialPorts) {
  mach_port_t mine = make_port();
  mach_port_t parent_self = mach_task_self();
  pid_t child = spawn_task([&] {
    if (mach_task_self() == MACH_PORT_NULL || bootstrap_port == MACH_PORT_NULL) return 1;
    mach_port_name_array_t names = nullptr;
    mach_port_type_array_t types = nullptr;
    mach_msg_type_number_t n = 0, nt = 0;
    if (mach_port_names(mach_task_self(), &names, &n, &types, &nt) != KERN_SUCCESS) return 2;
    int extra = 0;
    for (mach_msg_type_number_t i = 0; i < n; ++i) {
      if (names[i] != mach_task_self() && names[i] != bootstrap_port) {  // nothing of the parent's
        fprintf(stderr, "forked child holds name %#x of type %#x\n", names[i], i < nt ? types[i] : 0);
        ++extra;
      }
    }
    if (extra) return 3;
    mach_port_type_t t = 0;
    if (mine != mach_task_self() && mine != bootstrap_port &&
        mach_port_type(mach_task_self(), mine, &t) != KERN_INVALID_NAME)
      return 4;
    (void)parent_self;
    return mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &mine) == KERN_SUCCESS ? 0 : 5;
  });
  EXPECT_EQ(wait_exit(child), 0);
  // The parent is unaffected.
  mach_port_type_t t = 0;
  EXPECT_EQ(mach_port_type(mach_task_self(), mine, &t), KERN_SUCCESS);
  EXPECT_EQ(mach_task_self(), parent_self);
  mach_port_mod_refs(mach_task_self(), mine, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), mine);
}

TEST(Lifecycle, ExecedProgramBecomesATask) {
  std::string helper = helper_path();
  ASSERT_FALSE(helper.empty());
  pid_t pid = fork();
  if (pid == 0) {
    execl(helper.c_str(), helper.c_str(), "exec-check", static_cast<char*>(nullptr));
    _exit(127);
  }
  EXPECT_EQ(wait_exit(pid), 0);
}

namespace {
// Milliseconds since `t0`.
long ms_since(std::chrono::steady_clock::time_point t0) {
  return long(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
}

// Runs a second machd and task_helper `mode` (a client blocked in mach_msg)
// on it; `settle_us` after the helper said "ready", stops machd with `sig`;
// the client must get an error, not hang: it must exit 0 within
// `within_ms`. Returns how long it took (ms), or -1 on a failure.
long machd_stop_unblocks_client(int sig, const char* mode = "block-receive", useconds_t settle_us = 100000,
                                int within_ms = 5000, const std::function<void()>& in_client = {}) {
  const char* machd = getenv("MACHD_BIN");
  EXPECT_NE(machd, nullptr);
  if (machd == nullptr) return -1;
  static int serial = 0;
  std::string sock = machd_socket() + ".stop" + std::to_string(sig) + "." + std::to_string(++serial);
  pid_t d = fork();
  if (d == 0) {
    execl(machd, machd, "--foreground", "--socket", sock.c_str(), "--log-level", "error",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // (Up to 10 s: a machd starting beside a loaded machine's builds took
  // more than 3.)
  for (int i = 0; i < 1000 && !testsupport::machd_answers(sock); ++i) usleep(10000);
  EXPECT_TRUE(testsupport::machd_answers(sock)) << "the second machd never answered";
  int out[2];
  EXPECT_EQ(pipe(out), 0);
  std::string helper = helper_path();
  pid_t c = fork();
  if (c == 0) {
    setenv("MACHD_SOCKET", sock.c_str(), 1);
    dup2(out[1], 1);
    if (in_client) in_client();
    execl(helper.c_str(), helper.c_str(), mode, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  char buf[64] = {};
  const bool ready = read(out[0], buf, sizeof buf - 1) > 0 && strncmp(buf, "ready", 5) == 0;
  EXPECT_TRUE(ready) << "helper got ready: " << buf;
  if (settle_us > 0) usleep(settle_us);
  kill(d, sig);
  const auto t0 = std::chrono::steady_clock::now();
  int code = reap_within(c, within_ms);
  const long took = ms_since(t0);
  EXPECT_EQ(code, 0) << mode << ": the blocked client returned an error within " << within_ms
                     << " ms instead of hanging (machd stopped " << settle_us << " us after it was ready)";
  int dcode = wait_exit(d);
  if (sig == SIGTERM) {
    EXPECT_EQ(dcode, 0) << "machd exits cleanly on SIGTERM";
  }
  close(out[0]);
  unlink(sock.c_str());
  return ready && code == 0 ? took : -1;
}
}  // namespace

TEST(Lifecycle, MachdStoppingWithSigtermFailsBlockedCallsInsteadOfHanging) { machd_stop_unblocks_client(SIGTERM); }

TEST(Lifecycle, MachdKilledFailsBlockedCallsInsteadOfHanging) { machd_stop_unblocks_client(SIGKILL); }

// A thread machd has parked (suspended here; thread_get_state parks one for
// a moment) is let go by machd; when machd dies first, the thread must not
// stay parked for ever: it resumes and its call fails.
TEST(Lifecycle, AThreadParkedByMachdResumesWhenMachdIsKilled) {
  machd_stop_unblocks_client(SIGKILL, "parked-receive", 50000, 3000);
}

// <machd/machd_liveness.h>: a program waiting in poll, with no thread in a
// Mach call, learns of machd's death from machd_death_fd at once.
TEST(Lifecycle, MachdDeathFdBecomesReadableWhenMachdIsKilled) {
  const long took = machd_stop_unblocks_client(SIGKILL, "death-fd", 20000, 3000);
  EXPECT_GE(took, 0);
  EXPECT_LT(took, 700) << "ms from machd's death to the helper's exit";
}

// A corpse's process (machd/kern/corpse.h) waits for machd to kill it;
// when machd dies instead, it ends by itself within about a second.
TEST(Lifecycle, ACorpsesProcessEndsWhenMachdIsKilled) {
  const long took = machd_stop_unblocks_client(SIGKILL, "corpse-outlives-nothing", 20000, 4000);
  EXPECT_GE(took, 0);
}

// A semaphore wait sleeps on a word of a page the tasks share, not in a
// call to machd; it sleeps on machd's liveness word too, so machd's death
// ends it at once, with KERN_TERMINATED (the semaphore is gone with its
// kernel). A signal that came first is still consumed (the helper checks).
TEST(Lifecycle, ASemaphoreWaitWithNoDeadlineEndsWhenMachdIsKilled) {
  const long took = machd_stop_unblocks_client(SIGKILL, "semaphore-wait", 50000, 3000);
  EXPECT_GE(took, 0);
  EXPECT_LT(took, 700) << "ms from machd's death to the waiter's exit";
}

TEST(Lifecycle, ASemaphoreTimedWaitEndsWhenMachdIsKilledNotAtItsDeadline) {
  const long took = machd_stop_unblocks_client(SIGKILL, "semaphore-timedwait", 50000, 3000);
  EXPECT_GE(took, 0);
  EXPECT_LT(took, 700) << "ms from machd's death to the waiter's exit (its deadline: 60 s)";
}

namespace {
// In a client before exec: futex_waitv answers ENOSYS, as on a kernel older
// than 5.16 or under a container's system-call filter that does not know it.
void deny_futex_waitv() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("futex_waitv"), 0) != 0 ||
      seccomp_load(ctx) != 0)
    _exit(121);
  seccomp_release(ctx);
}
}  // namespace

// Without futex_waitv the library sleeps on its answer word alone and looks
// at machd's liveness word once a second: blocked calls still end, within
// about a second of machd's death, and every call works before it.
TEST(Lifecycle, WithoutFutexWaitvASemaphoreWaitEndsWithinASecondOfMachdsDeath) {
  const long took = machd_stop_unblocks_client(SIGKILL, "semaphore-wait", 50000, 5000, deny_futex_waitv);
  EXPECT_GE(took, 0);
  EXPECT_LT(took, 2500) << "ms from machd's death to the waiter's exit (one periodic check: 1 s)";
}

TEST(Lifecycle, WithoutFutexWaitvABlockedReceiveEndsWithinASecondOfMachdsDeath) {
  const long took = machd_stop_unblocks_client(SIGKILL, "block-receive", 50000, 5000, deny_futex_waitv);
  EXPECT_GE(took, 0);
  EXPECT_LT(took, 2500) << "ms from machd's death to the blocked server's exit (one periodic check: 1 s)";
}

// machd killed within milliseconds of a server blocking in its receive (the
// chaos script's race): the receive fails at once, with no periodic check
// needed: the kernel wakes a waiter on machd's liveness word, which wakes
// the others.
TEST(Lifecycle, AServerBlockedInReceiveExitsPromptlyWhenMachdIsKilled) {
  long worst = 0;
  for (int i = 0; i < 8; ++i) {
    const long took = machd_stop_unblocks_client(SIGKILL, "block-receive", useconds_t(i) * 2500, 3000);
    ASSERT_GE(took, 0) << "iteration " << i;
    worst = std::max(worst, took);
  }
  EXPECT_LT(worst, 700) << "ms from machd's death to the blocked server's exit, the worst of 8";
}

namespace {
std::atomic<int> g_handler_kr{-1};
mach_port_t g_handler_port = MACH_PORT_NULL;
void mach_call_in_handler(int) {
  // A Mach call from a signal handler that interrupted a thread blocked in
  // mach_msg (a trap on XNU: async-signal-safe).
  g_handler_kr = send_simple(g_handler_port, 9, "from a handler");
}
}  // namespace

// The interrupted call must not be clobbered (nor the task disconnected as
// if it had broken the protocol): both calls complete.
TEST(Lifecycle, MachCallFromSignalHandlerDuringBlockedReceive) {
  pid_t child = spawn_task([] {
    mach_port_t blocked = make_port();
    g_handler_port = make_port();
    struct sigaction sa{};
    sa.sa_handler = mach_call_in_handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, nullptr);
    pthread_t self = pthread_self();
    std::thread poker([self] {
      usleep(200000);
      pthread_kill(self, SIGUSR1);
      usleep(200000);
    });
    SimpleRcv r;
    mach_msg_return_t mr = receive_simple(blocked, r, 1000);
    poker.join();
    if (g_handler_kr != MACH_MSG_SUCCESS) return 10;
    if (mr != MACH_RCV_TIMED_OUT) return 11;
    if (receive_simple(g_handler_port, r, 0) != MACH_MSG_SUCCESS || r.msg.value != 9) return 12;
    mach_port_t p = MACH_PORT_NULL;
    return mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) == KERN_SUCCESS ? 0 : 13;
  });
  int code = reap_within(child, 10000);
  EXPECT_EQ(code, 0) << "10: handler's call failed, 11: interrupted call clobbered, 12/13: task cut off";
}

TEST(Lifecycle, NoSendSucceedsOnceMachdIsKilledFastLanesIncluded) {
  // A task streaming on fast lanes (no system call per send) learns of
  // machd's death on its next send: the kernel marks machd's liveness word.
  const char* machd = getenv("MACHD_BIN");
  const char* helper = getenv("TASK_HELPER");
  ASSERT_NE(machd, nullptr);
  ASSERT_NE(helper, nullptr);
  testsupport::PrivateMachd d;
  ASSERT_TRUE(d.start(machd, "error"));
  int in = -1, out = -1;
  pid_t pid = spawn_helper(d.socket(), "fast-send-after-death", &out, &in, [] {
    setenv("MACH_COMPAT_QUIET", "1", 1);
    return true;
  });
  ASSERT_EQ(read_line(out), "ready");
  d.kill_now();
  ASSERT_EQ(write(in, "x", 1), 1);
  close(in);
  const std::string after = read_line(out, 20000);
  close(out);
  EXPECT_EQ(after, "after 0") << "sends into a dead machd looked as if they went";
  EXPECT_EQ(reap_within(pid, 20000), 0);
  d.stop();
}
