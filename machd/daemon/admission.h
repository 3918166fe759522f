// machd/daemon/admission.h — who may connect, and how many at once.
//
// machd accepts connections before it knows anything about them; a client
// then owes its hello. Admission bounds, per user (the uid SO_PEERCRED
// gives), the connections still owing their hello and the connected tasks,
// so that one user's flood of silent connections or of tasks cannot use up
// machd's descriptors and lock everyone else out. It is bookkeeping only:
// the daemon asks before it admits, and reports when one ends.
//
// A real client says hello at once, so when a user has too many connections
// owing their hello, the oldest of them goes: a flood of silent connections
// cannot keep the same user's next real task out either.
//
// Contract:
//   - add_hello(uid, fd) counts fd as owing its hello. If the user now has
//     more than limits().hellos_per_uid such connections, it returns the fd
//     of the oldest one, already forgotten here (the caller closes it);
//     otherwise -1. end_hello(fd) forgets fd (hello came, or it timed out);
//     an fd not counted is ignored.
//   - begin_task(uid) is true and counts the task when the user has fewer
//     than limits().tasks_per_uid tasks; false otherwise. end_task(uid)
//     forgets one (never below zero).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <unordered_map>

namespace machd {

struct AdmissionLimits {
  // A connection that has not said hello by then is closed.
  uint64_t hello_timeout_ns = 10'000'000'000ull;
  // Connections of one user that have not said hello yet.
  uint32_t hellos_per_uid = 256;
  // Connected tasks of one user: machd's own bound, well above what a
  // desktop or a build farm runs, and below what would use up machd's
  // descriptors (each task holds four or five).
  uint32_t tasks_per_uid = 16384;
};

class Admission {
 public:
  explicit Admission(const AdmissionLimits& limits) : limits_(limits) {}

  int add_hello(uid_t uid, int fd);
  void end_hello(int fd);
  bool begin_task(uid_t uid);
  void end_task(uid_t uid);

  uint32_t hellos(uid_t uid) const;
  uint32_t tasks(uid_t uid) const;
  const AdmissionLimits& limits() const { return limits_; }

 private:
  struct User {
    std::list<int> hellos;  // oldest first
    uint32_t tasks = 0;
  };
  struct Pending {
    uid_t uid;
    std::list<int>::iterator at;
  };
  void forget_if_idle(uid_t uid);

  AdmissionLimits limits_;
  std::unordered_map<uid_t, User> users_;
  std::unordered_map<int, Pending> pending_;  // by fd
};

}  // namespace machd
