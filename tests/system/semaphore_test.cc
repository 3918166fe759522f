// tests/system/semaphore_test.cc — semaphores as kernel objects
// (machd/kern/semaphore.h): a right sent to another task carries the
// semaphore, the count is shared, destroy and owner death wake waiters with
// KERN_TERMINATED, and a task scribbling on the shared word hurts no one else.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mig_errors.h>
#include <mach/semaphore.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "machd_abi.h"
#include "support.h"

using namespace systest;

namespace {

constexpr mach_timespec_t kNoWait{0, 0};
constexpr mach_timespec_t kLong{5, 0};

semaphore_t new_semaphore(int value) {
  semaphore_t s = MACH_PORT_NULL;
  EXPECT_EQ(semaphore_create(mach_task_self(), &s, SYNC_POLICY_FIFO, value), KERN_SUCCESS);
  return s;
}

// Gives `rights` (copies of send rights) to a child task that checked in
// through trade_inbox(name).
void give(mach_port_t parent_port, std::initializer_list<mach_port_t> rights) {
  mach_port_t inbox = receive_right(parent_port);
  ASSERT_TRUE(MACH_PORT_VALID(inbox));
  for (mach_port_t r : rights) ASSERT_EQ(send_right(inbox, r, MACH_MSG_TYPE_COPY_SEND), MACH_MSG_SUCCESS);
  mach_port_deallocate(mach_task_self(), inbox);
}

}  // namespace

TEST(Semaphores, ARightSentToAnotherTaskCarriesTheSemaphoreAndItsCount) {
  const Holdings before = holdings();
  semaphore_t s = new_semaphore(2), ack = new_semaphore(0);
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("sem", &port);
  pid_t child = spawn_task([&] {
    mach_port_t inbox = trade_inbox(name);
    mach_port_t cs = receive_right(inbox), cack = receive_right(inbox);
    if (!MACH_PORT_VALID(cs) || !MACH_PORT_VALID(cack)) return 1;
    if (semaphore_timedwait(cs, kNoWait) != KERN_SUCCESS) return 2;  // the two units the parent created
    if (semaphore_timedwait(cs, kNoWait) != KERN_SUCCESS) return 3;
    if (semaphore_timedwait(cs, kNoWait) != KERN_OPERATION_TIMED_OUT) return 4;
    if (semaphore_signal(cack) != KERN_SUCCESS) return 5;
    if (semaphore_wait(cs) != KERN_SUCCESS) return 6;  // woken by the parent's signal
    return semaphore_signal(cack) == KERN_SUCCESS ? 0 : 7;
  });
  give(port, {s, ack});
  ASSERT_EQ(semaphore_timedwait(ack, kLong), KERN_SUCCESS);
  usleep(50 * 1000);  // the child is (very likely) asleep in semaphore_wait
  ASSERT_EQ(semaphore_signal(s), KERN_SUCCESS);
  EXPECT_EQ(semaphore_timedwait(ack, kLong), KERN_SUCCESS) << "the signal here woke the wait there";
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(semaphore_destroy(mach_task_self(), s), KERN_SUCCESS);
  EXPECT_EQ(semaphore_destroy(mach_task_self(), ack), KERN_SUCCESS);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  EXPECT_EQ(holdings().ports, before.ports);
}

TEST(Semaphores, DestroyWakesWaitersInAnotherTaskWithTerminated) {
  semaphore_t s = new_semaphore(0), ready = new_semaphore(0);
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("semd", &port);
  pid_t child = spawn_task([&] {
    mach_port_t inbox = trade_inbox(name);
    mach_port_t cs = receive_right(inbox), cready = receive_right(inbox);
    semaphore_signal(cready);
    kern_return_t kr = semaphore_wait(cs);
    if (kr != KERN_TERMINATED) return 10 + (kr & 0xff);
    // The semaphore is gone: its name is a dead name now.
    return semaphore_signal(cs) == KERN_INVALID_ARGUMENT ? 0 : 2;
  });
  give(port, {s, ready});
  ASSERT_EQ(semaphore_timedwait(ready, kLong), KERN_SUCCESS);
  usleep(50 * 1000);
  ASSERT_EQ(semaphore_destroy(mach_task_self(), s), KERN_SUCCESS);
  EXPECT_EQ(wait_exit(child), 0);
  semaphore_destroy(mach_task_self(), ready);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Semaphores, OnlyTheCreatingTaskDestroysIt) {
  semaphore_t s = new_semaphore(0);
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("semo", &port);
  pid_t child = spawn_task([&] {
    mach_port_t inbox = trade_inbox(name);
    mach_port_t cs = receive_right(inbox);
    return semaphore_destroy(mach_task_self(), cs) == KERN_INVALID_ARGUMENT ? 0 : 1;
  });
  give(port, {s});
  EXPECT_EQ(wait_exit(child), 0);
  ASSERT_EQ(semaphore_signal(s), KERN_SUCCESS) << "still alive";
  EXPECT_EQ(semaphore_timedwait(s, kNoWait), KERN_SUCCESS);
  EXPECT_EQ(semaphore_destroy(mach_task_self(), s), KERN_SUCCESS);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Semaphores, TheOwnerDyingDestroysItsSemaphores) {
  const Holdings before = holdings();
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("semx", &port);
  pid_t child = spawn_task([&] {
    mach_port_t parent = look_up(name);
    semaphore_t s = MACH_PORT_NULL;
    if (semaphore_create(mach_task_self(), &s, SYNC_POLICY_FIFO, 0) != KERN_SUCCESS) return 1;
    if (send_right(parent, s, MACH_MSG_TYPE_COPY_SEND) != MACH_MSG_SUCCESS) return 2;
    usleep(200 * 1000);  // the parent waits on it meanwhile
    return 0;
  });
  semaphore_t s = receive_right(port);
  ASSERT_TRUE(MACH_PORT_VALID(s));
  EXPECT_EQ(semaphore_timedwait(s, kLong), KERN_TERMINATED);
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(semaphore_signal(s), KERN_INVALID_ARGUMENT);
  mach_port_deallocate(mach_task_self(), s);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  EXPECT_EQ(holdings().ports, before.ports);
}

TEST(Semaphores, AScribbledWordBreaksOnlyItsHolders) {
  semaphore_t s = new_semaphore(0);
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("semh", &port);
  pid_t child = spawn_task([&] {
    mach_port_t inbox = trade_inbox(name);
    mach_port_t cs = receive_right(inbox);
    if (semaphore_signal(cs) != KERN_SUCCESS) return 1;  // maps the page
    FILE* f = fopen("/proc/self/maps", "r");
    if (!f) return 2;
    char line[512];
    int hit = 0;
    while (fgets(line, sizeof line, f)) {
      if (!strstr(line, "machd-semaphore")) continue;
      unsigned long lo = 0;
      sscanf(line, "%lx-", &lo);
      memset(reinterpret_cast<void*>(lo), 0xff, MACHD_SEMAPHORE_PAGE_SIZE);
      ++hit;
    }
    fclose(f);
    return hit == 1 ? 0 : 3;
  });
  give(port, {s});
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(semaphore_destroy(mach_task_self(), s), KERN_SUCCESS);
  semaphore_t other = new_semaphore(1);
  EXPECT_EQ(semaphore_timedwait(other, kNoWait), KERN_SUCCESS) << "machd and other semaphores are fine";
  EXPECT_EQ(semaphore_destroy(mach_task_self(), other), KERN_SUCCESS);
  EXPECT_GT(holdings().tasks, 0u);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Semaphores, NamesThatAreNoSemaphoreAreInvalidArguments) {
  EXPECT_EQ(semaphore_signal(MACH_PORT_NULL), KERN_INVALID_ARGUMENT);
  mach_port_t p = make_port();
  EXPECT_EQ(semaphore_signal(p), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(semaphore_wait(p), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(semaphore_signal(mach_host_self()), KERN_INVALID_ARGUMENT);
  semaphore_t s = MACH_PORT_NULL;
  EXPECT_EQ(semaphore_create(mach_task_self(), &s, SYNC_POLICY_FIFO, -1), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(semaphore_create(mach_task_self(), &s, SYNC_POLICY_MAX + 1, 0), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(semaphore_destroy(mach_task_self(), p), KERN_INVALID_ARGUMENT);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
}

namespace {
void on_usr1(int) {}

// A request with no arguments to `dest` (a MIG routine of the semaphore
// port, sent as a message rather than as a trap); the reply's RetCode.
kern_return_t mig_no_args(mach_port_t dest, mach_msg_id_t id) {
  struct {
    mig_reply_error_t r;
    mach_msg_max_trailer_t trailer;
  } buf{};
  mach_port_t reply = mig_get_reply_port();
  buf.r.Head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
  buf.r.Head.msgh_size = sizeof(mach_msg_header_t);
  buf.r.Head.msgh_remote_port = dest;
  buf.r.Head.msgh_local_port = reply;
  buf.r.Head.msgh_id = id;
  mach_msg_return_t mr = mach_msg(&buf.r.Head, MACH_SEND_MSG | MACH_RCV_MSG, sizeof(mach_msg_header_t), sizeof buf,
                                  reply, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
  return mr == MACH_MSG_SUCCESS ? buf.r.RetCode : mr;
}
}  // namespace

TEST(Semaphores, AWaitInterruptedBySignalHandlerReturnsAborted) {
  semaphore_t s = new_semaphore(0);
  struct sigaction sa{}, old{};
  sa.sa_handler = on_usr1;  // no SA_RESTART: the wait is interrupted
  sigaction(SIGUSR1, &sa, &old);
  std::atomic<kern_return_t> got{-1};
  std::atomic<bool> started{false};
  std::thread th([&] {
    started = true;
    got = semaphore_wait(s);
  });
  while (!started) usleep(1000);
  usleep(50 * 1000);
  pthread_kill(th.native_handle(), SIGUSR1);
  th.join();
  sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(got.load(), KERN_ABORTED);
  // The interrupted waiter withdrew: one signal is one unit again.
  ASSERT_EQ(semaphore_signal(s), KERN_SUCCESS);
  EXPECT_EQ(semaphore_timedwait(s, kNoWait), KERN_SUCCESS);
  EXPECT_EQ(semaphore_timedwait(s, kNoWait), KERN_OPERATION_TIMED_OUT);
  EXPECT_EQ(semaphore_destroy(mach_task_self(), s), KERN_SUCCESS);
}

TEST(Semaphores, TheSignalRoutinesServedAsMessagesActOnTheSameCount) {
  semaphore_t s = new_semaphore(0);
  constexpr mach_msg_id_t kSignal = 617200, kSignalAll = 617201, kWait = 617202;
  EXPECT_EQ(mig_no_args(s, kSignal), KERN_SUCCESS);
  EXPECT_EQ(semaphore_timedwait(s, kNoWait), KERN_SUCCESS) << "the unit machd added";
  EXPECT_EQ(mig_no_args(s, kSignalAll), KERN_SUCCESS);
  EXPECT_EQ(semaphore_timedwait(s, kNoWait), KERN_OPERATION_TIMED_OUT) << "signal_all with no waiter adds nothing";
  EXPECT_EQ(mig_no_args(s, kWait), KERN_NOT_SUPPORTED) << "a wait would block machd";
  EXPECT_EQ(semaphore_destroy(mach_task_self(), s), KERN_SUCCESS);
}

TEST(Semaphores, ATaskOwnsABoundedNumberAndTheRestAreUnharmed) {
  const Holdings before = holdings();
  pid_t child = spawn_task([] {
    std::vector<semaphore_t> made;
    kern_return_t kr = KERN_SUCCESS;
    for (int i = 0; i < 5000 && kr == KERN_SUCCESS; ++i) {
      semaphore_t s = MACH_PORT_NULL;
      kr = semaphore_create(mach_task_self(), &s, SYNC_POLICY_FIFO, 0);
      if (kr == KERN_SUCCESS) made.push_back(s);
    }
    if (kr != KERN_RESOURCE_SHORTAGE || made.size() < 1000) return 1;
    // Destroying one makes room for one.
    if (semaphore_destroy(mach_task_self(), made.back()) != KERN_SUCCESS) return 2;
    semaphore_t s = MACH_PORT_NULL;
    return semaphore_create(mach_task_self(), &s, SYNC_POLICY_FIFO, 0) == KERN_SUCCESS ? 0 : 3;
  });
  EXPECT_EQ(wait_exit(child), 0);
  semaphore_t mine = new_semaphore(1);
  EXPECT_EQ(semaphore_timedwait(mine, kNoWait), KERN_SUCCESS) << "another task still creates semaphores";
  EXPECT_EQ(semaphore_destroy(mach_task_self(), mine), KERN_SUCCESS);
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  EXPECT_EQ(holdings().ports, before.ports) << "the dead task's semaphores are gone";
}

TEST(Semaphores, SignalsAndTimedWaitsRacingAcrossTasksLoseNoUnit) {
  semaphore_t s = new_semaphore(0), done = new_semaphore(0);
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("semr", &port);
  constexpr int kPerThread = 2000;
  pid_t child = spawn_task([&] {
    mach_port_t inbox = trade_inbox(name);
    mach_port_t cs = receive_right(inbox), cdone = receive_right(inbox);
    std::atomic<int> taken{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 2; ++t)
      ts.emplace_back([&] {
        const mach_timespec_t tiny{0, 20000};
        while (taken.load() < 2 * kPerThread) {
          kern_return_t kr = semaphore_timedwait(cs, tiny);
          if (kr == KERN_SUCCESS) taken.fetch_add(1);
          else if (kr != KERN_OPERATION_TIMED_OUT) {
            fprintf(stderr, "timedwait: %d\n", kr);
            return;
          }
        }
      });
    for (auto& t : ts) t.join();
    semaphore_signal(cdone);
    return taken.load() == 2 * kPerThread ? 0 : 1;
  });
  give(port, {s, done});
  std::atomic<int> failed_signals{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i)
        if (semaphore_signal(s) != KERN_SUCCESS) failed_signals.fetch_add(1);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(failed_signals.load(), 0);
  EXPECT_EQ(semaphore_timedwait(done, kLong), KERN_SUCCESS);
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(semaphore_timedwait(s, kNoWait), KERN_OPERATION_TIMED_OUT) << "every unit was taken exactly once";
  semaphore_destroy(mach_task_self(), s);
  semaphore_destroy(mach_task_self(), done);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

// The count of a semaphore is that of the semaphore the name denotes now,
// also when the name denoted another one before (names recur once their
// 64 generations are used up).
int reuse_names(bool destroy) {
  for (int i = 0; i < 300; ++i) {
    semaphore_t s = MACH_PORT_NULL;
    const int units = i % 3;
    if (semaphore_create(mach_task_self(), &s, SYNC_POLICY_FIFO, units) != KERN_SUCCESS) return 1;
    for (int u = 0; u < units; ++u)
      if (semaphore_timedwait(s, kNoWait) != KERN_SUCCESS) return 2;
    if (semaphore_timedwait(s, kNoWait) != KERN_OPERATION_TIMED_OUT) return 3;
    semaphore_signal(s);  // leaves one unit in this semaphore
    if (destroy ? semaphore_destroy(mach_task_self(), s) != KERN_SUCCESS
                : mach_port_deallocate(mach_task_self(), s) != KERN_SUCCESS)
      return 4;
  }
  return 0;
}

TEST(Semaphores, AReusedNameDenotesTheNewSemaphoreAfterDestroy) { EXPECT_EQ(reuse_names(true), 0); }

TEST(Semaphores, AReusedNameDenotesTheNewSemaphoreAfterDeallocate) {
  const Holdings before = holdings();
  pid_t child = spawn_task([] { return reuse_names(false); });  // its semaphores die with it
  EXPECT_EQ(wait_exit(child), 0);
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  EXPECT_EQ(holdings().ports, before.ports);
}
