// tests/daemon/admission_test.cc — Admission's per-user bounds.
#include "daemon/admission.h"

#include <gtest/gtest.h>

namespace {

machd::AdmissionLimits limits(uint32_t hellos, uint32_t tasks) {
  machd::AdmissionLimits l;
  l.hellos_per_uid = hellos;
  l.tasks_per_uid = tasks;
  return l;
}

TEST(Admission, BeyondTheHelloBoundTheUsersOldestSilentConnectionGoes) {
  machd::Admission a(limits(2, 10));
  EXPECT_EQ(a.add_hello(1000, 10), -1);
  EXPECT_EQ(a.add_hello(1000, 11), -1);
  EXPECT_EQ(a.add_hello(1000, 12), 10);
  EXPECT_EQ(a.hellos(1000), 2u);
  // Forgetting the evicted one again changes nothing.
  a.end_hello(10);
  EXPECT_EQ(a.hellos(1000), 2u);
  EXPECT_EQ(a.add_hello(1000, 13), 11);
}

TEST(Admission, OneUsersSilentConnectionsNeverEvictAnothers) {
  machd::Admission a(limits(1, 10));
  EXPECT_EQ(a.add_hello(1000, 10), -1);
  EXPECT_EQ(a.add_hello(1001, 11), -1);
  EXPECT_EQ(a.add_hello(1000, 12), 10);
  EXPECT_EQ(a.hellos(1001), 1u);
  a.end_hello(11);
  a.end_hello(12);
  EXPECT_EQ(a.hellos(1000), 0u);
  EXPECT_EQ(a.hellos(1001), 0u);
}

TEST(Admission, TasksBeyondTheUsersBoundAreRefusedUntilOneEnds) {
  machd::Admission a(limits(1, 2));
  EXPECT_TRUE(a.begin_task(1000));
  EXPECT_TRUE(a.begin_task(1000));
  EXPECT_FALSE(a.begin_task(1000));
  EXPECT_TRUE(a.begin_task(1001));
  a.end_task(1000);
  EXPECT_TRUE(a.begin_task(1000));
  EXPECT_EQ(a.tasks(1000), 2u);
}

TEST(Admission, EndingWhatWasNeverCountedNeverUnderflows) {
  machd::Admission a(limits(1, 1));
  a.end_task(5);
  a.end_hello(99);
  EXPECT_EQ(a.tasks(5), 0u);
  EXPECT_TRUE(a.begin_task(5));
  EXPECT_FALSE(a.begin_task(5));
}

}  // namespace
