// tests/vm/eager_copy_quota_test.cc — the rules of machd/vm/eager_copy_quota.h:
// the bytes of eager copies one user's tasks may have in flight at once, at
// a small bound.
#include "vm/eager_copy_quota.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

using machd::vm::EagerCopyQuota;
using machd::vm::kDefaultEagerCopyBytesPerUser;

namespace {

constexpr uint64_t kPage = 4096;
constexpr uid_t kAlice = 1000, kBob = 1001;

TEST(EagerCopyQuota, ACopyUpToTheUsersBoundIsReservedAndCounted) {
  EagerCopyQuota q(16 * kPage);
  EagerCopyQuota::Reservation r = q.reserve(kAlice, 16 * kPage);
  EXPECT_TRUE(r.held());
  EXPECT_EQ(q.in_flight(kAlice), 16 * kPage);
}

TEST(EagerCopyQuota, ACopyPastTheUsersBoundIsRefusedAndTakesNothing) {
  EagerCopyQuota q(16 * kPage);
  EagerCopyQuota::Reservation first = q.reserve(kAlice, 10 * kPage);
  ASSERT_TRUE(first.held());
  EagerCopyQuota::Reservation second = q.reserve(kAlice, 7 * kPage);
  EXPECT_FALSE(second.held());
  EXPECT_EQ(q.in_flight(kAlice), 10 * kPage);
  // A shorter one still fits in what is left.
  EagerCopyQuota::Reservation third = q.reserve(kAlice, 6 * kPage);
  EXPECT_TRUE(third.held());
  EXPECT_EQ(q.in_flight(kAlice), 16 * kPage);
  EXPECT_TRUE(q.reserve(kAlice, 0).held());
  EXPECT_FALSE(q.reserve(kAlice, kPage).held());
}

TEST(EagerCopyQuota, EachUserHasABoundOfItsOwn) {
  EagerCopyQuota q(16 * kPage);
  EagerCopyQuota::Reservation a = q.reserve(kAlice, 16 * kPage);
  ASSERT_TRUE(a.held());
  EagerCopyQuota::Reservation b = q.reserve(kBob, 16 * kPage);
  EXPECT_TRUE(b.held());
  EXPECT_EQ(q.in_flight(kAlice), 16 * kPage);
  EXPECT_EQ(q.in_flight(kBob), 16 * kPage);
}

TEST(EagerCopyQuota, ReleasedWhenTheCopyEnds) {
  EagerCopyQuota q(16 * kPage);
  {
    EagerCopyQuota::Reservation r = q.reserve(kAlice, 16 * kPage);
    ASSERT_TRUE(r.held());
    EXPECT_FALSE(q.reserve(kAlice, kPage).held());
  }
  EXPECT_EQ(q.in_flight(kAlice), 0u);
  EXPECT_TRUE(q.reserve(kAlice, 16 * kPage).held());
}

TEST(EagerCopyQuota, ResetGivesTheBytesBackOnceAndTheEndGivesNothingMore) {
  EagerCopyQuota q(16 * kPage);
  EagerCopyQuota::Reservation other = q.reserve(kAlice, 4 * kPage);
  {
    EagerCopyQuota::Reservation r = q.reserve(kAlice, 8 * kPage);
    r.reset();
    EXPECT_FALSE(r.held());
    EXPECT_EQ(q.in_flight(kAlice), 4 * kPage);
    r.reset();
  }
  EXPECT_EQ(q.in_flight(kAlice), 4 * kPage);
  EXPECT_TRUE(other.held());
}

TEST(EagerCopyQuota, AMovedReservationGivesItsBytesBackOnce) {
  EagerCopyQuota q(16 * kPage);
  EagerCopyQuota::Reservation kept = q.reserve(kAlice, 4 * kPage);
  auto shared = std::make_shared<EagerCopyQuota::Reservation>(q.reserve(kAlice, 8 * kPage));
  EXPECT_TRUE(shared->held());
  EagerCopyQuota::Reservation moved = std::move(*shared);
  EXPECT_FALSE(shared->held());
  shared.reset();
  EXPECT_EQ(q.in_flight(kAlice), 12 * kPage);
  EagerCopyQuota::Reservation target = q.reserve(kAlice, 2 * kPage);
  target = std::move(moved);  // (the 2 pages it held go back)
  EXPECT_EQ(q.in_flight(kAlice), 12 * kPage);
  target.reset();
  EXPECT_EQ(q.in_flight(kAlice), 4 * kPage);
}

// The requester's task died mid-copy: its bytes come back at once, the copy
// is abandoned (held() false), and its later end gives nothing more.
TEST(EagerCopyQuota, ReleasedWhenTheTaskThatAskedEnds) {
  EagerCopyQuota q(16 * kPage);
  EagerCopyQuota::Reservation dying = q.reserve(kAlice, 10 * kPage, 7);
  EagerCopyQuota::Reservation living = q.reserve(kAlice, 6 * kPage, 8);
  q.task_terminating(7);
  EXPECT_FALSE(dying.held());
  EXPECT_TRUE(living.held());
  EXPECT_EQ(q.in_flight(kAlice), 6 * kPage);
  EagerCopyQuota::Reservation next = q.reserve(kAlice, 10 * kPage);
  EXPECT_TRUE(next.held());
  dying.reset();
  EXPECT_EQ(q.in_flight(kAlice), 16 * kPage);
}

// A fork's copy (no task named) is held by the fork's record, which may
// outlive the parent: no task's end releases it.
TEST(EagerCopyQuota, ACopyTiedToNoTaskIsReleasedOnlyByItsEnd) {
  EagerCopyQuota q(16 * kPage);
  EagerCopyQuota::Reservation r = q.reserve(kAlice, 10 * kPage);
  q.task_terminating(7);
  q.task_terminating(machd::ipc::kNoTask);
  EXPECT_TRUE(r.held());
  EXPECT_EQ(q.in_flight(kAlice), 10 * kPage);
}

TEST(EagerCopyQuota, HugeLengthsAreRefusedWithoutWrapping) {
  EagerCopyQuota q(16 * kPage);
  EagerCopyQuota::Reservation r = q.reserve(kAlice, 8 * kPage);
  EXPECT_FALSE(q.reserve(kAlice, UINT64_MAX).held());
  EXPECT_FALSE(q.reserve(kAlice, UINT64_MAX - 4 * kPage).held());
  EXPECT_FALSE(q.reserve(kBob, UINT64_MAX).held());
  EXPECT_EQ(q.in_flight(kAlice), 8 * kPage);
  EXPECT_EQ(q.in_flight(kBob), 0u);
}

TEST(EagerCopyQuota, AReservationMayOutliveItsQuota) {
  std::vector<EagerCopyQuota::Reservation> kept;
  {
    EagerCopyQuota q(16 * kPage);
    kept.push_back(q.reserve(kAlice, 8 * kPage));
  }
  EXPECT_FALSE(kept[0].held());
  kept.clear();  // (gives back nothing, touches nothing)
}

TEST(EagerCopyQuota, TheDefaultBoundIs8GiBTwiceTheBoundPerRequest) {
  EagerCopyQuota q;
  EXPECT_EQ(q.bound(), uint64_t(8) << 30);
  EXPECT_EQ(kDefaultEagerCopyBytesPerUser, 2 * machd::vm::kMaxEagerCopyBytes);
  EagerCopyQuota::Reservation a = q.reserve(kAlice, machd::vm::kMaxEagerCopyBytes);
  EagerCopyQuota::Reservation b = q.reserve(kAlice, machd::vm::kMaxEagerCopyBytes);
  EXPECT_TRUE(a.held());
  EXPECT_TRUE(b.held());
  EXPECT_FALSE(q.reserve(kAlice, kPage).held());
}

}  // namespace
