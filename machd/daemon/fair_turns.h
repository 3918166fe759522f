// machd/daemon/fair_turns.h — whose turn of machd's time comes next: turns
// go round the users with work owed, and each user's turn goes to that
// user's tasks in order, so a user gets the same share however many tasks
// it runs.
//
// Bookkeeping only: the daemon queues a session whose work outlasted its
// slice (owe); a turn (begin_turn .. end_turn) is the first user's, in which
// the daemon serves the user's sessions it takes, in order, for up to one
// slice of time in all.
//
// Contract:
//   - owe(uid, session) queues `session` behind the other sessions of user
//     `uid` still queued; a user with none queued before goes behind the
//     other users. The caller queues a session at most once at a time
//     (Session::in_backlog); a session that ends while queued may stay
//     queued: take() returns it and the caller skips it.
//   - begin_turn() (not empty()) is the turn of the first user queued:
//     Turn::sessions of its sessions are queued now. take(turn), at most
//     that many times, takes the user's first session; a session owed
//     again during the turn goes behind the user's others (it is not taken
//     again in this turn if the caller takes no more than Turn::sessions).
//     end_turn(turn) ends it: the user goes behind the others if it has
//     sessions queued (those owed during the turn included), and is
//     forgotten otherwise. One turn at a time.
//   - users() is the number of users queued: that many turns give each of
//     them one.
//   - owed(uid) is true while user `uid` has a session queued.
//   Every operation is O(1) (one hash look-up), whatever the number of
//   users and sessions.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

namespace machd {

class FairTurns {
 public:
  struct Turn {
    uid_t uid;
    size_t sessions;
  };

  void owe(uid_t uid, uint64_t session);
  Turn begin_turn() const;
  uint64_t take(const Turn& turn);
  void end_turn(const Turn& turn);
  bool empty() const { return order_.empty(); }
  size_t users() const { return order_.size(); }
  bool owed(uid_t uid) const { return !order_.empty() && queued(uid); }  // (a doorbell asks: no call when none is)

 private:
  bool queued(uid_t uid) const;

  std::deque<uid_t> order_;                                   // users queued, next first
  std::unordered_map<uid_t, std::deque<uint64_t>> sessions_;  // each such user's, next first
};

}  // namespace machd
