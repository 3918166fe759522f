// machd/daemon/liveness.h — a word every task can read that says, with no
// system call, whether machd is still alive.
//
// Fast-lane sends cost no system call, so without this a task could go on
// "sending" into a dead machd's ring. machd keeps one page, in a memfd every
// task maps read-only (the third descriptor of the welcome), whose first
// word is a futex owned by a sentinel thread of machd through the kernel's
// robust futex list. However machd ends (SIGKILL included), the kernel, as
// it tears the thread down, sets FUTEX_OWNER_DIED in that word; a task
// checks the bit with a plain load before each fast-lane send (and falls
// back to its slow path, which reports the death). The word carries
// FUTEX_WAITERS, so the kernel also wakes one task thread asleep on it
// (futex_waitv with its own word): blocked calls notice the death at once,
// that thread waking the others (libmach-compat's sleep_on_region_word).
//
// Contract: after construction, fd() is the sealed memfd (no new writable
// mapping can be made, nor can it change size) and the word holds the
// sentinel's tid with FUTEX_WAITERS; it gets FUTEX_OWNER_DIED only when
// machd's process ends.
// ok() is false if the page or the thread could not be set up (tasks then
// see no liveness page and rely on their slower checks).
#pragma once

namespace machd {

class Liveness {
 public:
  Liveness();
  ~Liveness();
  Liveness(const Liveness&) = delete;
  Liveness& operator=(const Liveness&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  void* page_ = nullptr;
};

}  // namespace machd
