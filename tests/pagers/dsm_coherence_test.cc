// tests/pagers/dsm_coherence_test.cc — the coherence machine of
// pagers/dsm-pager alone (no Mach): which kernel is sent what, and when,
// for each sequence of requests and answers; and the gathering of its
// actions into runs of pages.
#include <gtest/gtest.h>

#include <vector>

#include "dsm-pager/coherence.h"
#include "dsm-pager/runs.h"

namespace {

using dsm::Action;
using dsm::Clock;
using dsm::Coherence;
using dsm::Hold;
using dsm::Want;
using Runs = std::vector<dsm::Run>;
using R = dsm::Run;
using Acts = std::vector<Action>;

constexpr auto kTimeout = std::chrono::milliseconds(500);
const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);

Action supply(dsm::KernelId k, uint64_t page, bool writable) { return Action{Action::kSupply, k, page, writable}; }
Action grant(dsm::KernelId k, uint64_t page) { return Action{Action::kGrantWrite, k, page}; }
Action downgrade(dsm::KernelId k, uint64_t page) { return Action{Action::kDowngrade, k, page}; }
Action flush(dsm::KernelId k, uint64_t page) { return Action{Action::kFlush, k, page}; }

class DsmCoherence : public ::testing::Test {
 protected:
  Coherence m{4, kTimeout};
  Acts out;
  // What the last call asked to send (and forget it).
  Acts sent() {
    Acts a;
    a.swap(out);
    return a;
  }
};

TEST_F(DsmCoherence, ReadersShareAPageWithoutAnyRevocation) {
  m.request(1, 0, Want::kRead, t0, &out);
  m.request(2, 0, Want::kRead, t0, &out);
  EXPECT_EQ(sent(), (Acts{supply(1, 0, false), supply(2, 0, false)}));
  EXPECT_EQ(m.hold(1, 0), Hold::kRead);
  EXPECT_EQ(m.hold(2, 0), Hold::kRead);
  EXPECT_EQ(m.next_deadline(), Clock::time_point::max());
}

TEST_F(DsmCoherence, AReadWaitsUntilTheWriterIsDowngradedThenBothRead) {
  m.request(1, 0, Want::kWrite, t0, &out);
  EXPECT_EQ(sent(), (Acts{supply(1, 0, true)}));
  m.request(2, 0, Want::kRead, t0, &out);
  EXPECT_EQ(sent(), (Acts{downgrade(1, 0)}));  // nothing for kernel 2 yet
  EXPECT_EQ(m.queued(0), 1u);
  m.revoked(1, 0, t0, &out);
  EXPECT_EQ(sent(), (Acts{supply(2, 0, false)}));
  EXPECT_EQ(m.hold(1, 0), Hold::kRead);
  EXPECT_EQ(m.hold(2, 0), Hold::kRead);
}

TEST_F(DsmCoherence, AWriteFlushesEveryOtherHolderAndWaitsForAllOfThem) {
  m.request(1, 2, Want::kRead, t0, &out);
  m.request(2, 2, Want::kRead, t0, &out);
  sent();
  m.request(3, 2, Want::kWrite, t0, &out);
  EXPECT_EQ(sent(), (Acts{flush(1, 2), flush(2, 2)}));
  m.revoked(1, 2, t0, &out);
  EXPECT_TRUE(sent().empty()) << "kernel 2 has not let go yet";
  m.revoked(2, 2, t0, &out);
  EXPECT_EQ(sent(), (Acts{supply(3, 2, true)}));
  EXPECT_EQ(m.hold(1, 2), Hold::kNone);
  EXPECT_EQ(m.hold(2, 2), Hold::kNone);
  EXPECT_EQ(m.hold(3, 2), Hold::kWrite);
}

TEST_F(DsmCoherence, AnUnlockByAReaderFlushesTheOtherReadersThenLiftsItsLock) {
  m.request(1, 0, Want::kRead, t0, &out);
  m.request(2, 0, Want::kRead, t0, &out);
  sent();
  m.unlock(1, 0, t0, &out);
  EXPECT_EQ(sent(), (Acts{flush(2, 0)}));
  m.revoked(2, 0, t0, &out);
  EXPECT_EQ(sent(), (Acts{grant(1, 0)}));
  EXPECT_EQ(m.hold(1, 0), Hold::kWrite);
}

TEST_F(DsmCoherence, AnUnlockThatCrossedAFlushOfItsPageIsAnsweredWithAWritableSupply) {
  m.request(1, 0, Want::kRead, t0, &out);
  m.request(2, 0, Want::kRead, t0, &out);
  sent();
  m.unlock(2, 0, t0, &out);  // kernel 2 writes: kernel 1 is flushed...
  EXPECT_EQ(sent(), (Acts{flush(1, 0)}));
  m.unlock(1, 0, t0, &out);  // ...while kernel 1 asked to write too
  EXPECT_TRUE(sent().empty());
  m.revoked(1, 0, t0, &out);
  EXPECT_EQ(sent(), (Acts{grant(2, 0), flush(2, 0)}));
  m.revoked(2, 0, t0, &out);
  // Kernel 1 lost the page in the flush: it gets it again, writable.
  EXPECT_EQ(sent(), (Acts{supply(1, 0, true)}));
  EXPECT_EQ(m.hold(1, 0), Hold::kWrite);
  EXPECT_EQ(m.hold(2, 0), Hold::kNone);
}

TEST_F(DsmCoherence, RequestsOfAPageAreGrantedInTheOrderTheyCame) {
  m.request(1, 1, Want::kWrite, t0, &out);
  sent();
  m.request(2, 1, Want::kRead, t0, &out);
  m.request(3, 1, Want::kWrite, t0, &out);
  EXPECT_EQ(sent(), (Acts{downgrade(1, 1)}));
  m.revoked(1, 1, t0, &out);
  // Kernel 2 reads; then kernel 3's write needs both readers flushed.
  EXPECT_EQ(sent(), (Acts{supply(2, 1, false), flush(1, 1), flush(2, 1)}));
  m.revoked(2, 1, t0, &out);
  m.revoked(1, 1, t0, &out);
  EXPECT_EQ(sent(), (Acts{supply(3, 1, true)}));
}

TEST_F(DsmCoherence, PagesAreIndependent) {
  m.request(1, 0, Want::kWrite, t0, &out);
  m.request(2, 1, Want::kWrite, t0, &out);
  EXPECT_EQ(sent(), (Acts{supply(1, 0, true), supply(2, 1, true)}));
}

TEST_F(DsmCoherence, OnlyTheWritersReturnIsTakenAndUntilItsRevocationIsAnswered) {
  m.request(1, 0, Want::kWrite, t0, &out);
  EXPECT_TRUE(m.accepts_return(1, 0));
  EXPECT_FALSE(m.accepts_return(2, 0));
  m.request(2, 0, Want::kRead, t0, &out);
  EXPECT_TRUE(m.accepts_return(1, 0)) << "the downgraded writer's dirty page comes before its completion";
  m.revoked(1, 0, t0, &out);
  EXPECT_FALSE(m.accepts_return(1, 0)) << "a reader's page is stale";
  EXPECT_FALSE(m.accepts_return(2, 0));
  EXPECT_FALSE(m.accepts_return(1, 99)) << "past the object";
}

TEST_F(DsmCoherence, ARequestOfAPageTheKernelHoldsIsAnsweredAtTheAccessItHolds) {
  m.request(1, 0, Want::kWrite, t0, &out);
  sent();
  m.request(1, 0, Want::kRead, t0, &out);  // it lost its copy: no revocation of itself
  EXPECT_EQ(sent(), (Acts{supply(1, 0, true)}));
  EXPECT_EQ(m.hold(1, 0), Hold::kWrite);
  m.request(2, 3, Want::kRead, t0, &out);
  m.request(2, 3, Want::kWrite, t0, &out);  // a reader asking to write, with no one else there
  EXPECT_EQ(sent(), (Acts{supply(2, 3, false), supply(2, 3, true), grant(2, 3)}));
}

TEST_F(DsmCoherence, AWriteIfFreeIsAWriteOnAFreePageAndAReadOnAHeldOne) {
  m.request(1, 0, Want::kRead, t0, &out);
  m.request(2, 1, Want::kWrite, t0, &out);
  sent();
  m.request(3, 0, Want::kWriteIfFree, t0, &out);  // kernel 1 reads it: left alone
  m.request(3, 1, Want::kWriteIfFree, t0, &out);  // kernel 2 writes it: downgraded, not flushed
  m.request(3, 2, Want::kWriteIfFree, t0, &out);  // nobody holds it
  EXPECT_EQ(sent(), (Acts{supply(3, 0, false), downgrade(2, 1), supply(3, 2, true)}));
  m.revoked(2, 1, t0, &out);
  EXPECT_EQ(sent(), (Acts{supply(3, 1, false)}));
  EXPECT_EQ(m.hold(1, 0), Hold::kRead);
  EXPECT_EQ(m.hold(2, 1), Hold::kRead);
  EXPECT_EQ(m.hold(3, 2), Hold::kWrite);
}

TEST_F(DsmCoherence, ACompletionNoRevocationWaitsForChangesNothing) {
  m.request(1, 0, Want::kRead, t0, &out);
  sent();
  m.revoked(1, 0, t0, &out);
  m.revoked(7, 2, t0, &out);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(m.hold(1, 0), Hold::kRead);
}

TEST_F(DsmCoherence, AKernelIsOverdueOnlyOnceItsRevocationDeadlinePassed) {
  m.request(1, 0, Want::kWrite, t0, &out);
  m.request(2, 0, Want::kRead, t0, &out);
  EXPECT_EQ(m.next_deadline(), t0 + kTimeout);
  EXPECT_TRUE(m.overdue(t0 + kTimeout - std::chrono::milliseconds(1)).empty());
  EXPECT_EQ(m.overdue(t0 + kTimeout), (std::vector<dsm::KernelId>{1}));
  m.revoked(1, 0, t0, &out);
  EXPECT_TRUE(m.overdue(t0 + 2 * kTimeout).empty());
  EXPECT_EQ(m.next_deadline(), Clock::time_point::max());
}

TEST_F(DsmCoherence, RemovingAnOverdueKernelLetsTheRequestsThatWaitedForItGoOn) {
  m.request(1, 0, Want::kWrite, t0, &out);
  m.request(1, 1, Want::kWrite, t0, &out);
  m.request(2, 0, Want::kRead, t0, &out);
  m.request(3, 1, Want::kWrite, t0, &out);
  sent();
  m.remove_kernel(1, t0 + kTimeout, &out);
  EXPECT_EQ(sent(), (Acts{supply(2, 0, false), supply(3, 1, true)}));
  EXPECT_EQ(m.hold(1, 0), Hold::kNone);
  EXPECT_EQ(m.next_deadline(), Clock::time_point::max());
  m.revoked(1, 0, t0, &out);  // a late answer of the removed kernel
  EXPECT_TRUE(sent().empty());
}

TEST_F(DsmCoherence, RemovingAKernelDropsItsQueuedRequests) {
  m.request(1, 0, Want::kWrite, t0, &out);
  m.request(2, 0, Want::kWrite, t0, &out);
  sent();
  m.remove_kernel(2, t0, &out);
  EXPECT_EQ(m.queued(0), 0u);
  m.revoked(1, 0, t0, &out);  // kernel 1 was flushed for nothing: it holds nothing now
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(m.hold(1, 0), Hold::kNone);
}

TEST_F(DsmCoherence, AWriterDowngradedForAKernelThatWentMeanwhileStillReads) {
  m.request(1, 0, Want::kWrite, t0, &out);
  m.request(2, 0, Want::kRead, t0, &out);
  EXPECT_EQ(sent(), (Acts{supply(1, 0, true), downgrade(1, 0)}));
  m.remove_kernel(2, t0, &out);
  m.revoked(1, 0, t0, &out);
  // It kept its copy read-only: a later writer must flush it.
  EXPECT_EQ(m.hold(1, 0), Hold::kRead);
  m.request(3, 0, Want::kWrite, t0, &out);
  EXPECT_EQ(sent(), (Acts{flush(1, 0)}));
}

TEST(DsmRuns, ConsecutivePagesOfOneKindForOneKernelMakeOneRun) {
  const Runs runs = dsm::gather_runs({supply(1, 4, false), supply(1, 5, false), supply(1, 6, false)});
  EXPECT_EQ(runs, (Runs{R{Action::kSupply, 1, false, 4, 3}}));
}

TEST(DsmRuns, AGapAKindOrAWritabilityStartsANewRun) {
  const Runs runs = dsm::gather_runs(
      {supply(1, 0, false), supply(1, 2, false), supply(1, 3, true), flush(1, 4), flush(1, 5)});
  EXPECT_EQ(runs, (Runs{R{Action::kSupply, 1, false, 0, 1}, R{Action::kSupply, 1, false, 2, 1},
                                    R{Action::kSupply, 1, true, 3, 1}, R{Action::kFlush, 1, false, 4, 2}}));
}

TEST(DsmRuns, EachKernelsActionsKeepTheirOrderWhileKernelsAreSeparated) {
  const Runs runs =
      dsm::gather_runs({flush(2, 0), flush(1, 0), flush(2, 1), supply(1, 0, true), grant(1, 0), flush(1, 1)});
  EXPECT_EQ(runs, (Runs{R{Action::kFlush, 1, false, 0, 1}, R{Action::kSupply, 1, true, 0, 1},
                                    R{Action::kGrantWrite, 1, false, 0, 1}, R{Action::kFlush, 1, false, 1, 1},
                                    R{Action::kFlush, 2, false, 0, 2}}));
}

}  // namespace
