// machd/daemon/admission.cc — see admission.h.
#include "admission.h"

namespace machd {

int Admission::add_hello(uid_t uid, int fd) {
  User& u = users_[uid];
  u.hellos.push_back(fd);
  pending_[fd] = Pending{uid, std::prev(u.hellos.end())};
  if (u.hellos.size() <= limits_.hellos_per_uid) return -1;
  const int oldest = u.hellos.front();
  u.hellos.pop_front();
  pending_.erase(oldest);
  return oldest;
}

void Admission::end_hello(int fd) {
  auto it = pending_.find(fd);
  if (it == pending_.end()) return;
  const uid_t uid = it->second.uid;
  users_[uid].hellos.erase(it->second.at);
  pending_.erase(it);
  forget_if_idle(uid);
}

bool Admission::begin_task(uid_t uid) {
  User& u = users_[uid];
  if (u.tasks >= limits_.tasks_per_uid) {
    forget_if_idle(uid);
    return false;
  }
  ++u.tasks;
  return true;
}

void Admission::end_task(uid_t uid) {
  auto it = users_.find(uid);
  if (it == users_.end() || it->second.tasks == 0) return;
  --it->second.tasks;
  forget_if_idle(uid);
}

void Admission::forget_if_idle(uid_t uid) {
  auto it = users_.find(uid);
  if (it != users_.end() && it->second.tasks == 0 && it->second.hellos.empty()) users_.erase(it);
}

uint32_t Admission::hellos(uid_t uid) const {
  auto it = users_.find(uid);
  return it == users_.end() ? 0 : uint32_t(it->second.hellos.size());
}

uint32_t Admission::tasks(uid_t uid) const {
  auto it = users_.find(uid);
  return it == users_.end() ? 0 : it->second.tasks;
}

}  // namespace machd
