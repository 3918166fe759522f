// tests/system/semaphore_test.cc — semaphores as kernel objects
// (machd/kern/semaphore.h): a right sent to another task carries the
// semaphore, the count is shared, destroy and owner death wake waiters with
// KERN_TERMINATED, and a task scribbling on the shared word hurts no one else.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/semaphore.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

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
