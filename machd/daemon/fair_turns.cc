// machd/daemon/fair_turns.cc — see fair_turns.h.
#include "fair_turns.h"

namespace machd {

void FairTurns::owe(uid_t uid, uint64_t session) {
  // A user is in order_ exactly while it has an entry here (an empty one
  // only during its turn, when it is first in order_).
  auto [it, added] = sessions_.try_emplace(uid);
  it->second.push_back(session);
  if (added) order_.push_back(uid);
}

FairTurns::Turn FairTurns::begin_turn() const {
  const uid_t uid = order_.front();
  return Turn{uid, sessions_.find(uid)->second.size()};
}

uint64_t FairTurns::take(const Turn& turn) {
  std::deque<uint64_t>& q = sessions_.find(turn.uid)->second;
  const uint64_t session = q.front();
  q.pop_front();
  return session;
}

void FairTurns::end_turn(const Turn& turn) {
  order_.pop_front();
  auto it = sessions_.find(turn.uid);
  if (it->second.empty()) {
    sessions_.erase(it);
  } else {
    order_.push_back(turn.uid);
  }
}

bool FairTurns::queued(uid_t uid) const {
  auto it = sessions_.find(uid);
  return it != sessions_.end() && !it->second.empty();
}

}  // namespace machd
