// tests/system/lock_set_test.cc — lock sets (machd/kern/lock_set.h) across
// tasks: acquire waits for the holder's release, try, handoff, the unstable
// state a dead holder leaves, destroy, and Apple's return codes.
#include <gtest/gtest.h>
#include <mach/lock_set.h>
#include <mach/mach.h>
#include <mach/sync_policy.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "support.h"

using namespace systest;

namespace {

lock_set_t new_set(int n) {
  lock_set_t s = MACH_PORT_NULL;
  EXPECT_EQ(lock_set_create(mach_task_self(), &s, n, SYNC_POLICY_FIFO), KERN_SUCCESS);
  return s;
}

// A child task that runs `body` with a send right to `set` (sent by the parent).
pid_t with_set_in_child(lock_set_t set, const std::function<int(lock_set_t)>& body) {
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("lockset", &port);
  pid_t child = spawn_task([&] {
    mach_port_t inbox = trade_inbox(name);
    mach_port_t s = receive_right(inbox);
    return MACH_PORT_VALID(s) ? body(s) : 90;
  });
  mach_port_t inbox = receive_right(port);
  EXPECT_TRUE(MACH_PORT_VALID(inbox));
  EXPECT_EQ(send_right(inbox, set, MACH_MSG_TYPE_COPY_SEND), MACH_MSG_SUCCESS);
  mach_port_deallocate(mach_task_self(), inbox);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  return child;
}

// lock_set_destroy leaves the caller's send right (a dead name now): drop it.
kern_return_t destroy(lock_set_t set) {
  kern_return_t kr = lock_set_destroy(mach_task_self(), set);
  mach_port_deallocate(mach_task_self(), set);
  return kr;
}

}  // namespace

TEST(LockSets, AcquireWaitsForTheHoldersReleaseInAnotherTask) {
  const Holdings before = holdings();
  lock_set_t set = new_set(2);
  ASSERT_EQ(lock_acquire(set, 0), KERN_SUCCESS);
  pid_t child = with_set_in_child(set, [](lock_set_t s) {
    if (lock_try(s, 0) != KERN_LOCK_OWNED) return 1;
    if (lock_try(s, 1) != KERN_SUCCESS) return 2;  // the other lock is free
    if (lock_release(s, 1) != KERN_SUCCESS) return 3;
    if (lock_release(s, 0) != KERN_INVALID_RIGHT) return 4;  // not the holder
    if (lock_acquire(s, 0) != KERN_SUCCESS) return 5;        // waits for the parent
    return lock_release(s, 0) == KERN_SUCCESS ? 0 : 6;
  });
  usleep(200 * 1000);
  EXPECT_EQ(wait_exit_for(child, 0), -1) << "the child waits in lock_acquire";
  EXPECT_EQ(lock_release(set, 0), KERN_SUCCESS);
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(lock_try(set, 0), KERN_SUCCESS);
  EXPECT_EQ(destroy(set), KERN_SUCCESS);
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  EXPECT_EQ(holdings().ports, before.ports);
}

TEST(LockSets, ReturnCodesAreApples) {
  lock_set_t set = new_set(1);
  EXPECT_EQ(lock_acquire(set, 0), KERN_SUCCESS);
  EXPECT_EQ(lock_acquire(set, 0), KERN_LOCK_OWNED_SELF);
  EXPECT_EQ(lock_try(set, 0), KERN_LOCK_OWNED_SELF);
  EXPECT_EQ(lock_acquire(set, 1), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(lock_acquire(set, -1), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(lock_make_stable(set, 0), KERN_SUCCESS);
  EXPECT_EQ(lock_release(set, 0), KERN_SUCCESS);
  EXPECT_EQ(lock_release(set, 0), KERN_INVALID_RIGHT);
  EXPECT_EQ(lock_make_stable(set, 0), KERN_INVALID_RIGHT);
  EXPECT_EQ(lock_handoff(set, 0), KERN_INVALID_RIGHT);
  lock_set_t bad = MACH_PORT_NULL;
  EXPECT_EQ(lock_set_create(mach_task_self(), &bad, 0, SYNC_POLICY_FIFO), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(lock_acquire(mach_task_self(), 0), KERN_INVALID_ARGUMENT) << "not a lock set";
  EXPECT_EQ(destroy(set), KERN_SUCCESS);
}

// What a task's lock sets cost machd is bounded: 65536 locks in all, however
// they are split into sets (machd/kern/lock_set.h).
TEST(LockSets, ATasksLockSetsHoldAtMostSixtyFiveThousandLocksInAll) {
  lock_set_t half = MACH_PORT_NULL, other_half = MACH_PORT_NULL, one_more = MACH_PORT_NULL;
  ASSERT_EQ(lock_set_create(mach_task_self(), &half, 1 << 15, SYNC_POLICY_FIFO), KERN_SUCCESS);
  ASSERT_EQ(lock_set_create(mach_task_self(), &other_half, 1 << 15, SYNC_POLICY_FIFO), KERN_SUCCESS);
  EXPECT_EQ(lock_set_create(mach_task_self(), &one_more, 1, SYNC_POLICY_FIFO), KERN_RESOURCE_SHORTAGE);
  EXPECT_EQ(lock_acquire(other_half, (1 << 15) - 1), KERN_SUCCESS);  // the last lock of a full budget works
  EXPECT_EQ(lock_release(other_half, (1 << 15) - 1), KERN_SUCCESS);
  ASSERT_EQ(destroy(half), KERN_SUCCESS);
  ASSERT_EQ(lock_set_create(mach_task_self(), &one_more, 1, SYNC_POLICY_FIFO), KERN_SUCCESS);  // room again
  EXPECT_EQ(destroy(one_more), KERN_SUCCESS);
  EXPECT_EQ(destroy(other_half), KERN_SUCCESS);
}

TEST(LockSets, HandoffPassesTheLockToTheAccepter) {
  lock_set_t set = new_set(1);
  ASSERT_EQ(lock_acquire(set, 0), KERN_SUCCESS);
  pid_t child = with_set_in_child(set, [](lock_set_t s) {
    if (lock_handoff_accept(s, 0) != KERN_SUCCESS) return 1;  // waits for the handoff
    return lock_release(s, 0) == KERN_SUCCESS ? 0 : 2;         // it is ours now
  });
  usleep(100 * 1000);
  EXPECT_EQ(lock_handoff(set, 0), KERN_SUCCESS);
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(lock_try(set, 0), KERN_SUCCESS) << "released by the accepter";
  // The other order: a handoff waits for an accepter.
  pid_t child2 = with_set_in_child(set, [](lock_set_t s) {
    usleep(100 * 1000);
    if (lock_handoff_accept(s, 0) != KERN_SUCCESS) return 1;
    return lock_release(s, 0) == KERN_SUCCESS ? 0 : 2;
  });
  EXPECT_EQ(lock_handoff(set, 0), KERN_SUCCESS);
  EXPECT_EQ(wait_exit(child2), 0);
  EXPECT_EQ(destroy(set), KERN_SUCCESS);
}

TEST(LockSets, AHolderDyingLeavesTheLockUnstable) {
  lock_set_t set = new_set(1);
  pid_t child = with_set_in_child(set, [](lock_set_t s) { return lock_acquire(s, 0) == KERN_SUCCESS ? 0 : 1; });
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(lock_acquire(set, 0), KERN_LOCK_UNSTABLE);
  EXPECT_EQ(lock_make_stable(set, 0), KERN_SUCCESS);
  EXPECT_EQ(lock_release(set, 0), KERN_SUCCESS);
  EXPECT_EQ(lock_acquire(set, 0), KERN_SUCCESS) << "stable again";
  EXPECT_EQ(destroy(set), KERN_SUCCESS);
}

TEST(LockSets, DestroyAnswersWaitersLockSetDestroyedAndOnlyTheOwnerDestroys) {
  lock_set_t set = new_set(1);
  ASSERT_EQ(lock_acquire(set, 0), KERN_SUCCESS);
  pid_t child = with_set_in_child(set, [](lock_set_t s) {
    if (lock_set_destroy(mach_task_self(), s) != KERN_INVALID_RIGHT) return 1;
    return 0;
  });
  EXPECT_EQ(wait_exit(child), 0);
  pid_t waiter = with_set_in_child(set, [](lock_set_t s) {
    return lock_acquire(s, 0) == KERN_LOCK_SET_DESTROYED ? 0 : 1;
  });
  usleep(100 * 1000);
  EXPECT_EQ(destroy(set), KERN_SUCCESS);
  EXPECT_EQ(wait_exit(waiter), 0);
}


TEST(LockSets, AWaiterThatDiesIsNotGivenTheLock) {
  lock_set_t set = new_set(1);
  ASSERT_EQ(lock_acquire(set, 0), KERN_SUCCESS);
  pid_t child = with_set_in_child(set, [](lock_set_t s) { return lock_acquire(s, 0) == KERN_SUCCESS ? 0 : 1; });
  usleep(100 * 1000);
  kill(child, SIGKILL);
  EXPECT_EQ(wait_exit(child), 128 + SIGKILL);
  usleep(50 * 1000);  // machd sees the task go
  EXPECT_EQ(lock_release(set, 0), KERN_SUCCESS);
  EXPECT_EQ(lock_try(set, 0), KERN_SUCCESS) << "free: the dead waiter did not take it";
  EXPECT_EQ(destroy(set), KERN_SUCCESS);
}
