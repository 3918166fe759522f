// tests/daemon/fair_turns_test.cc — FairTurns: turns go round the users,
// and each user's turn goes to its sessions in order.
#include "daemon/fair_turns.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace {

using Owners = std::map<uint64_t, uid_t>;

// One pass as Daemon::serve_backlog makes it: every user queued now gets a
// turn, in which up to `per_turn` of its sessions are served (as many as a
// slice of time holds); each served session is owed again (still busy).
std::vector<uint64_t> one_pass(machd::FairTurns& t, const Owners& owner, size_t per_turn) {
  std::vector<uint64_t> served;
  for (size_t n = t.users(); n > 0; --n) {
    const machd::FairTurns::Turn turn = t.begin_turn();
    for (size_t k = 0; k < turn.sessions && k < per_turn; ++k) {
      const uint64_t s = t.take(turn);
      EXPECT_EQ(owner.at(s), turn.uid);
      served.push_back(s);
      t.owe(owner.at(s), s);
    }
    t.end_turn(turn);
  }
  return served;
}

TEST(FairTurns, EachUserGetsOneTurnPerPassHoweverManySessionsItQueued) {
  machd::FairTurns t;
  Owners owner;
  for (uint64_t s = 1; s <= 16; ++s) {  // user 1000 floods with 16 tasks
    owner[s] = 1000;
    t.owe(1000, s);
  }
  owner[99] = 1001;  // user 1001 has one
  t.owe(1001, 99);
  EXPECT_EQ(t.users(), 2u);
  for (int pass = 0; pass < 40; ++pass) {
    const std::vector<uint64_t> served = one_pass(t, owner, 1);
    ASSERT_EQ(served.size(), 2u) << "pass " << pass;
    EXPECT_NE(owner.at(served[0]), owner.at(served[1])) << "pass " << pass;
  }
}

TEST(FairTurns, AUsersSessionsTakeItsTurnsInOrder) {
  machd::FairTurns t;
  Owners owner{{1, 1000}, {2, 1000}, {3, 1000}, {7, 1001}};
  t.owe(1000, 1);
  t.owe(1001, 7);
  t.owe(1000, 2);
  t.owe(1000, 3);
  std::vector<uint64_t> of_1000;
  for (int pass = 0; pass < 6; ++pass)
    for (uint64_t s : one_pass(t, owner, 1))
      if (owner.at(s) == 1000) of_1000.push_back(s);
  EXPECT_EQ(of_1000, (std::vector<uint64_t>{1, 2, 3, 1, 2, 3}));
}

TEST(FairTurns, ATurnServesEachOfTheUsersSessionsAtMostOnce) {
  machd::FairTurns t;
  Owners owner{{1, 1000}, {2, 1000}, {3, 1000}, {7, 1001}};
  for (uint64_t s : {1, 2, 3}) t.owe(1000, s);
  t.owe(1001, 7);
  // A slice holds all of user 1000's sessions: each once, though each is
  // owed again during the turn; then user 1001's turn.
  EXPECT_EQ(one_pass(t, owner, 100), (std::vector<uint64_t>{1, 2, 3, 7}));
  // Where it holds two, the next turn goes on from the third.
  EXPECT_EQ(one_pass(t, owner, 2), (std::vector<uint64_t>{1, 2, 7}));
  EXPECT_EQ(one_pass(t, owner, 2), (std::vector<uint64_t>{3, 1, 7}));
}

TEST(FairTurns, AUserWhoseSessionsAreDoneIsForgottenAndQueuesLastWhenOwedAgain) {
  machd::FairTurns t;
  t.owe(1000, 1);
  t.owe(1001, 2);
  EXPECT_TRUE(t.owed(1000));
  machd::FairTurns::Turn turn = t.begin_turn();
  EXPECT_EQ(turn.uid, 1000u);
  EXPECT_EQ(turn.sessions, 1u);
  EXPECT_EQ(t.take(turn), 1u);  // done: not owed again
  EXPECT_FALSE(t.owed(1000));
  t.end_turn(turn);
  EXPECT_FALSE(t.owed(1000));
  EXPECT_TRUE(t.owed(1001));
  EXPECT_EQ(t.users(), 1u);
  t.owe(1000, 3);  // owed again: behind user 1001
  EXPECT_EQ(t.users(), 2u);
  turn = t.begin_turn();
  EXPECT_EQ(t.take(turn), 2u);
  t.end_turn(turn);
  turn = t.begin_turn();
  EXPECT_EQ(t.take(turn), 3u);
  t.end_turn(turn);
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.owed(1000));
  EXPECT_FALSE(t.owed(1001));
}

TEST(FairTurns, AUserOwedAgainDuringItsTurnGoesBehindTheOthersOnce) {
  machd::FairTurns t;
  t.owe(1000, 1);
  t.owe(1001, 2);
  t.owe(1002, 3);
  machd::FairTurns::Turn turn = t.begin_turn();
  EXPECT_EQ(t.take(turn), 1u);
  t.owe(1000, 1);  // its last session, owed again before the turn ends
  EXPECT_EQ(t.users(), 3u);
  t.end_turn(turn);
  EXPECT_EQ(t.users(), 3u);
  std::vector<uint64_t> order;
  while (!t.empty()) {
    turn = t.begin_turn();
    order.push_back(t.take(turn));
    t.end_turn(turn);
  }
  EXPECT_EQ(order, (std::vector<uint64_t>{2, 3, 1}));
}

}  // namespace
