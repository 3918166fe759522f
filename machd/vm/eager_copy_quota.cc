// machd/vm/eager_copy_quota.cc — see eager_copy_quota.h.
#include "eager_copy_quota.h"

#include <vector>

namespace machd::vm {

struct EagerCopyQuota::State {
  struct Held {
    uid_t uid;
    uint64_t bytes;
    ipc::TaskId task;
  };
  uint64_t bound = 0;
  std::unordered_map<uid_t, uint64_t> by_user;  // bytes in flight (users holding none are not here)
  std::unordered_map<uint64_t, Held> held;      // by reservation id
  uint64_t next_id = 1;

  void give_back(uint64_t id) {
    auto it = held.find(id);
    if (it == held.end()) return;
    auto u = by_user.find(it->second.uid);
    if (u != by_user.end()) {
      u->second -= it->second.bytes;
      if (u->second == 0) by_user.erase(u);
    }
    held.erase(it);
  }
};

EagerCopyQuota::Reservation::Reservation(Reservation&& o) noexcept : state_(std::move(o.state_)), id_(o.id_) {
  o.id_ = 0;
}

EagerCopyQuota::Reservation& EagerCopyQuota::Reservation::operator=(Reservation&& o) noexcept {
  if (this != &o) {
    reset();
    state_ = std::move(o.state_);
    id_ = o.id_;
    o.id_ = 0;
  }
  return *this;
}

bool EagerCopyQuota::Reservation::held() const {
  const std::shared_ptr<State> s = state_.lock();
  return s && id_ != 0 && s->held.count(id_) != 0;
}

void EagerCopyQuota::Reservation::reset() {
  if (id_ == 0) return;
  if (const std::shared_ptr<State> s = state_.lock()) s->give_back(id_);
  state_.reset();
  id_ = 0;
}

EagerCopyQuota::EagerCopyQuota(uint64_t bound_per_user) : state_(std::make_shared<State>()) {
  state_->bound = bound_per_user;
}

EagerCopyQuota::Reservation EagerCopyQuota::reserve(uid_t uid, uint64_t len, ipc::TaskId task) {
  State& s = *state_;
  auto u = s.by_user.find(uid);
  const uint64_t now = u == s.by_user.end() ? 0 : u->second;
  if (len > s.bound || now > s.bound - len) return {};  // (no sum that could wrap)
  const uint64_t id = s.next_id++;
  s.held.emplace(id, State::Held{uid, len, task});
  if (len > 0) s.by_user[uid] = now + len;
  return Reservation(state_, id);
}

uint64_t EagerCopyQuota::in_flight(uid_t uid) const {
  auto u = state_->by_user.find(uid);
  return u == state_->by_user.end() ? 0 : u->second;
}

uint64_t EagerCopyQuota::bound() const { return state_->bound; }

std::optional<uid_t> EagerCopyQuota::user_of(ipc::TaskId task) {
  const ipc::Credentials* c = kern::runtime().kernel().credentials(task);
  if (c == nullptr) return std::nullopt;
  return uid_t(c->uid);
}

void EagerCopyQuota::task_terminating(ipc::TaskId task) {
  if (task == ipc::kNoTask) return;
  std::vector<uint64_t> gone;
  for (const auto& [id, h] : state_->held)
    if (h.task == task) gone.push_back(id);
  for (uint64_t id : gone) state_->give_back(id);
}

}  // namespace machd::vm
