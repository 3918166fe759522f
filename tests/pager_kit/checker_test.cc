// tests/pager_kit/checker_test.cc — the rules mach-pager-test checks
// (pagers/pager-test/protocol_checker.h, content_model.h), fed message by
// message as the proxy feeds them, without any process or machd.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "content_model.h"
#include "findings.h"
#include "mach_pager_test.h"
#include "protocol_checker.h"

using namespace pagerkit;

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kTimeout = 1'000'000'000;  // 1 s
constexpr uint64_t kSeed = 0x1234abcd;

class CheckerTest : public ::testing::Test {
 protected:
  Findings findings;
  ProtocolChecker checker{findings, kPage, kTimeout};

  // init and ready at time 0.
  void ready() {
    checker.init(0, kPage);
    checker.ready(0, true, false);
  }
  std::vector<std::string> rules(Severity severity = Severity::kViolation) const {
    std::vector<std::string> r;
    for (const Finding& f : findings.all())
      if (f.severity == severity) r.push_back(f.rule);
    return r;
  }
};

using Rules = std::vector<std::string>;

TEST_F(CheckerTest, ARequestAnsweredInTimeBreaksNoRuleAndItsAnswerTimeIsCounted) {
  ready();
  checker.data_request(10, 0, 64 * kPage, VM_PROT_READ);
  PageRange r = checker.supply(500, 0, 64 * kPage);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.count, 64u);
  checker.tick(5 * kTimeout);
  EXPECT_TRUE(findings.all().empty());
  ASSERT_EQ(checker.stats().answer_ns.size(), 1u);
  EXPECT_EQ(checker.stats().answer_ns[0], 490u);
  EXPECT_EQ(checker.stats().request_pages.at(64), 1u);
  EXPECT_EQ(checker.open_requests(), 0u);
}

TEST_F(CheckerTest, ARequestNotFullyAnsweredByItsDeadlineIsRequestUnanswered) {
  ready();
  checker.data_request(0, 0, 4 * kPage, VM_PROT_READ);
  checker.supply(10, kPage, 3 * kPage);  // page 0 never comes
  checker.tick(kTimeout - 1);
  EXPECT_TRUE(rules().empty());
  checker.tick(kTimeout);
  EXPECT_EQ(rules(), Rules{"request-unanswered"});
  checker.tick(3 * kTimeout);  // reported once
  EXPECT_EQ(rules(), Rules{"request-unanswered"});
}

TEST_F(CheckerTest, ARequestOpenWhenTheObjectEndsIsLateOnlyIfItsDeadlineAlmostPassed) {
  ready();
  checker.data_request(0, 0, kPage, VM_PROT_READ);
  checker.terminate(kTimeout / 10);
  EXPECT_TRUE(rules().empty());
  EXPECT_EQ(rules(Severity::kNote), Rules{"request-abandoned"});
  ready();
  checker.data_request(kTimeout, 0, kPage, VM_PROT_READ);
  checker.terminate(2 * kTimeout - 1000);  // the kernel's clock started a moment earlier
  EXPECT_EQ(rules(), Rules{"request-unanswered"});
}

TEST_F(CheckerTest, NoReadyWithinTheTimeoutOfInitIsReadyMissing) {
  checker.init(0, kPage);
  checker.tick(kTimeout);
  EXPECT_EQ(rules(), Rules{"ready-missing"});
}

TEST_F(CheckerTest, ASupplyAtAnUnalignedOffsetIsRefusedWhole) {
  ready();
  checker.data_request(0, 0, 2 * kPage, VM_PROT_READ);
  PageRange r = checker.supply(1, 512, 2 * kPage);
  EXPECT_EQ(r.count, 0u);
  EXPECT_EQ(rules(), Rules{"supply-unaligned"});
  EXPECT_EQ(checker.open_requests(), 1u);
}

TEST_F(CheckerTest, ASupplyOfAPartialPageTakesTheWholePagesOnly) {
  ready();
  checker.data_request(0, 0, 2 * kPage, VM_PROT_READ);
  PageRange r = checker.supply(1, 0, kPage + 100);
  EXPECT_EQ(r.count, 1u);
  EXPECT_EQ(rules(), Rules{"supply-unaligned"});
}

TEST_F(CheckerTest, PagesNobodyAskedForAreANoteAndPagesHeldAlreadyAnother) {
  ready();
  checker.data_request(0, 0, kPage, VM_PROT_READ);
  checker.supply(1, 0, 2 * kPage);  // page 1: read-ahead
  checker.supply(2, kPage, kPage);  // page 1 again: the kernel holds it
  EXPECT_TRUE(rules().empty());
  EXPECT_EQ(rules(Severity::kNote), (Rules{"supply-unsolicited", "supply-resident"}));
  EXPECT_EQ(checker.stats().unsolicited_pages, 1u);
}

TEST_F(CheckerTest, DataErrorAnswersTheRequestAndIsAViolation) {
  ready();
  checker.data_request(0, 0, kPage, VM_PROT_READ);
  checker.error(1, 0, kPage, KERN_MEMORY_ERROR);
  checker.tick(2 * kTimeout);
  EXPECT_EQ(rules(), Rules{"data-error"});
  EXPECT_EQ(checker.open_requests(), 0u);
}

TEST_F(CheckerTest, AnUnlockIsAnsweredByALockRequestLiftingTheAccessAskedFor) {
  ready();
  checker.data_request(0, 0, kPage, VM_PROT_READ);
  checker.supply(1, 0, kPage);
  checker.data_unlock(2, 0, kPage, VM_PROT_WRITE);
  EXPECT_TRUE(checker.lock_request(3, 0, kPage, MEMORY_OBJECT_RETURN_NONE, false, VM_PROT_WRITE, false));
  checker.tick(kTimeout + 2);  // still locked: unanswered
  EXPECT_EQ(rules(), Rules{"unlock-unanswered"});
  checker.data_unlock(kTimeout + 3, 0, kPage, VM_PROT_WRITE);
  EXPECT_TRUE(checker.lock_request(kTimeout + 4, 0, kPage, MEMORY_OBJECT_RETURN_NONE, false, VM_PROT_NONE, false));
  checker.tick(5 * kTimeout);
  EXPECT_EQ(rules(), Rules{"unlock-unanswered"});
}

TEST_F(CheckerTest, ALockRequestOutOfRangeIsInvalidButNoChangeIsInRange) {
  ready();
  EXPECT_FALSE(checker.lock_request(0, 0, kPage, memory_object_return_t(7), false, VM_PROT_NONE, false));
  EXPECT_FALSE(checker.lock_request(0, 0, kPage, MEMORY_OBJECT_RETURN_NONE, false, 0x40, false));
  EXPECT_TRUE(checker.lock_request(0, 0, kPage, MEMORY_OBJECT_RETURN_DIRTY, false, VM_PROT_NO_CHANGE, false));
  EXPECT_EQ(rules(), (Rules{"lock-request-invalid", "lock-request-invalid"}));
}

TEST_F(CheckerTest, TheKernelAskingForAPageItHoldsOrHasAskedForBreaksItsRules) {
  ready();
  checker.data_request(0, 0, 2 * kPage, VM_PROT_READ);
  checker.data_request(1, kPage, 2 * kPage, VM_PROT_READ);
  EXPECT_EQ(rules(), Rules{"request-duplicate"});
  checker.supply(2, 0, 3 * kPage);
  checker.data_request(3, 0, kPage, VM_PROT_READ);
  EXPECT_EQ(rules(), (Rules{"request-duplicate", "request-resident"}));
  // While a flush is under way it may ask again; once it completed, the
  // pages are gone and may be asked for.
  EXPECT_TRUE(checker.lock_request(4, 0, 3 * kPage, MEMORY_OBJECT_RETURN_NONE, true, VM_PROT_NONE, true));
  checker.data_request(5, 2 * kPage, kPage, VM_PROT_READ);
  checker.lock_completed(0, 3 * kPage, true, true);
  checker.data_request(6, kPage, kPage, VM_PROT_READ);
  EXPECT_EQ(rules().size(), 2u);
}

TEST_F(CheckerTest, AFlushsReturnsComeBeforeItsCompletionAndNothingComesAfter) {
  ready();
  checker.data_request(0, 0, 2 * kPage, VM_PROT_READ);
  checker.supply(1, 0, 2 * kPage);
  EXPECT_TRUE(checker.lock_request(2, 0, 2 * kPage, MEMORY_OBJECT_RETURN_DIRTY, true, VM_PROT_NONE, false));
  checker.data_return(3, 0, kPage, true, false);
  checker.lock_completed(0, 2 * kPage, true, true);
  EXPECT_TRUE(rules().empty());
  checker.data_return(4, kPage, kPage, true, false);
  EXPECT_EQ(rules(), Rules{"return-not-resident"});
}

TEST_F(CheckerTest, AFlushTheKernelDroppedLeavesThePagesResident) {
  ready();
  checker.data_request(0, 0, kPage, VM_PROT_READ);
  checker.supply(1, 0, kPage);
  EXPECT_TRUE(checker.lock_request(2, 0, kPage, MEMORY_OBJECT_RETURN_NONE, true, VM_PROT_NO_CHANGE, false));
  checker.lock_completed(0, kPage, true, false);
  checker.data_request(3, 0, kPage, VM_PROT_READ);
  EXPECT_EQ(rules(), Rules{"request-resident"});
}

TEST_F(CheckerTest, TheKernelBeforeReadyOrTwiceInitializedOrReturningAbsentPagesBreaksItsRules) {
  checker.init(0, kPage);
  checker.data_request(1, 0, kPage, VM_PROT_READ);
  checker.init(2, 2 * kPage);
  checker.data_return(3, 8 * kPage, kPage, true, false);
  EXPECT_EQ(rules(), (Rules{"request-before-ready", "init-twice", "init-page-size", "return-not-resident"}));
}

TEST_F(CheckerTest, APagerDyingWithRequestsOpenIsAViolationUnlessTheKitKilledIt) {
  ready();
  checker.data_request(0, 0, kPage, VM_PROT_READ);
  checker.pager_died(1, "gone", false);
  EXPECT_EQ(rules(), Rules{"pager-died"});
  ready();
  checker.data_request(2, 0, kPage, VM_PROT_READ);
  checker.pager_died(3, "gone", true);
  EXPECT_EQ(rules(), Rules{"pager-died"});
  EXPECT_EQ(rules(Severity::kNote), Rules{"pager-killed"});
}

// ---- content -----------------------------------------------------------------------------

std::vector<uint8_t> pattern_page(uint64_t index) {
  std::vector<uint8_t> p(kPage);
  mach_pager_test_fill(p.data(), index * kPage, kPage, kSeed);
  return p;
}

TEST(ContentModelTest, InPatternModeAPageMustBeThePatternUntilItIsReturned) {
  ContentModel m(ContentMode::kPattern, kSeed, kPage);
  std::vector<uint8_t> p = pattern_page(3);
  EXPECT_EQ(m.supplied(3, p.data()), "");
  EXPECT_NE(m.supplied(4, p.data()), "");  // page 3's data at page 4
  EXPECT_NE(m.unavailable(5), "");         // zeroes are not the pattern
  std::vector<uint8_t> written = p;
  written[100] ^= 0xff;
  m.returned(3, written.data(), kPage);
  EXPECT_NE(m.supplied(3, p.data()), "");  // the pager lost the write
  EXPECT_EQ(m.supplied(3, written.data()), "");
  ASSERT_NE(m.last_supplied(3), nullptr);
  EXPECT_EQ(*m.last_supplied(3), written);
}

TEST(ContentModelTest, TheFirstDifferenceIsNamedByItsWordAndOffset) {
  ContentModel m(ContentMode::kPattern, kSeed, kPage);
  std::vector<uint8_t> p = pattern_page(2);
  p[17] ^= 1;
  EXPECT_EQ(m.supplied(2, p.data()).rfind("word at 0x2010 is ", 0), 0u);
}

TEST(ContentModelTest, InAnyModeTheFirstSupplyIsThePagesContentAndLaterOnesMustAgree) {
  ContentModel m(ContentMode::kAny, kSeed, kPage);
  std::vector<uint8_t> a(kPage, 7), b(kPage, 8);
  EXPECT_EQ(m.supplied(1, a.data()), "");
  EXPECT_EQ(m.supplied(1, a.data()), "");
  EXPECT_NE(m.supplied(1, b.data()), "");
  m.returned(1, b.data(), 100);  // a short tail overlays the start
  std::vector<uint8_t> want = a;
  std::fill(want.begin(), want.begin() + 100, 8);
  EXPECT_EQ(m.supplied(1, want.data()), "");
}

}  // namespace
