// tests/vm/eager_copy_bound_test.cc — the rules of machd/vm/eager_copy_bound.h:
// what one request may make machd copy eagerly, at a small bound (the real
// one, 4 GiB, would need 4 GiB copied to show a copy just under it works).
#include "vm/eager_copy_bound.h"

#include <gtest/gtest.h>

#include <cstdint>

using machd::vm::EagerCopyBudget;
using machd::vm::kMaxEagerCopyBytes;

namespace {

constexpr uint64_t kPage = 4096;

TEST(EagerCopyBound, ACopyUpToTheBoundFitsAndOnePageMoreDoesNot) {
  EagerCopyBudget at(16 * kPage);
  EXPECT_TRUE(at.take(16 * kPage));
  EagerCopyBudget under(16 * kPage);
  EXPECT_TRUE(under.take(15 * kPage));
  EagerCopyBudget over(16 * kPage);
  EXPECT_FALSE(over.take(17 * kPage));
}

// A fork's snapshots share one budget; one that does not fit takes nothing,
// so a later, shorter one may still be made.
TEST(EagerCopyBound, TheCopiesOfOneRequestAddUpAndARefusedOneTakesNothing) {
  EagerCopyBudget b(10 * kPage);
  EXPECT_TRUE(b.take(6 * kPage));
  EXPECT_FALSE(b.take(6 * kPage));
  EXPECT_EQ(b.left(), 4 * kPage);
  EXPECT_TRUE(b.take(4 * kPage));
  EXPECT_FALSE(b.take(kPage));
  EXPECT_TRUE(b.take(0));
}

TEST(EagerCopyBound, TheDefaultBoundIs4GiBAndHugeLengthsAreRefusedWithoutWrapping) {
  EagerCopyBudget b;
  EXPECT_EQ(b.left(), uint64_t(4) << 30);
  EXPECT_FALSE(b.take(UINT64_MAX));
  EXPECT_FALSE(b.take(uint64_t(1) << 40));
  EXPECT_FALSE(b.take(kMaxEagerCopyBytes + kPage));
  EXPECT_TRUE(b.take(kMaxEagerCopyBytes));
  EXPECT_EQ(b.left(), 0u);
}

}  // namespace
