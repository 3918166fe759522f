// machd/kern/kept_across_exec.h — what a task leaves for the next image of
// its process.
//
// XNU keeps some task state across exec (exception ports, emulation). Here
// the new image is a new task, whose connection may even come before the
// old one's end is seen, so the old task's state is kept by pid and handed
// to a new task of the same process (same start time, process.h
// start_time_of). What is kept holds references (send rights), so it goes
// (the release function runs) as soon as it can no longer be taken:
//   - the process exits: machd watches its pidfd. A task's end is often seen
//     while its process is still exiting (the socket closes before the
//     process is a zombie), so "still running" at put() proves nothing;
//   - kGraceNs pass (expire()): an image that never connects;
//   - a later put() for the same pid, or clear().
#pragma once

#include <unistd.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>

#include "process.h"
#include "runtime.h"

namespace machd::kern {

template <typename T>
class KeptAcrossExec {
 public:
  static constexpr uint64_t kGraceNs = 60'000'000'000ull;
  using Release = std::function<void(T&)>;

  explicit KeptAcrossExec(Release release) : release_(std::move(release)) {}
  ~KeptAcrossExec() { clear(); }
  KeptAcrossExec(const KeptAcrossExec&) = delete;
  KeptAcrossExec& operator=(const KeptAcrossExec&) = delete;

  // Keeps `value` for process `pid` (started at `start_time`) until one of
  // the ends above, watching the process through `host`. A process already
  // gone has its value released now; an earlier value for `pid` is released.
  void put(TaskHost& host, pid_t pid, uint64_t start_time, uint64_t now_ns, T value) {
    if (auto it = kept_.find(pid); it != kept_.end()) release_entry(it);
    const int pidfd = open_process_fd(pid, start_time);
    if (pidfd < 0) {
      release_(value);
      return;
    }
    const uint64_t serial = ++serial_;
    Entry& e = kept_[pid];
    e.start_time = start_time;
    e.until_ns = now_ns + kGraceNs;
    e.value = std::move(value);
    e.host = &host;
    e.pidfd = pidfd;
    e.serial = serial;
    // 0 (the host cannot watch): the entry lives until take() or expire().
    e.watch = host.watch_fd(pidfd, [this, pid, serial] {
      auto it = kept_.find(pid);
      if (it != kept_.end() && it->second.serial == serial) release_entry(it);
    });
  }

  // The value kept for `pid` if the process is still the one that left it;
  // the caller owns its references then.
  std::optional<T> take(pid_t pid, uint64_t start_time) {
    auto it = kept_.find(pid);
    if (it == kept_.end() || it->second.start_time != start_time) return std::nullopt;
    std::optional<T> v = std::move(it->second.value);
    stop_watching(it->second);
    kept_.erase(it);
    return v;
  }

  // Releases every value kept longer than kGraceNs.
  void expire(uint64_t now_ns) {
    for (auto it = kept_.begin(); it != kept_.end();) {
      auto next = std::next(it);
      if (it->second.until_ns <= now_ns) release_entry(it);
      it = next;
    }
  }

  // Releases everything.
  void clear() {
    while (!kept_.empty()) release_entry(kept_.begin());
  }

  size_t size() const { return kept_.size(); }

 private:
  struct Entry {
    uint64_t start_time = 0;
    uint64_t until_ns = 0;
    T value{};
    TaskHost* host = nullptr;
    int pidfd = -1;
    uint64_t watch = 0;
    uint64_t serial = 0;
  };
  using Iterator = typename std::unordered_map<pid_t, Entry>::iterator;

  static void stop_watching(Entry& e) {
    if (e.watch != 0) e.host->unwatch_fd(e.watch);
    if (e.pidfd >= 0) close(e.pidfd);
    e.watch = 0;
    e.pidfd = -1;
  }
  // Erases first: the release may run code that puts or takes again.
  void release_entry(Iterator it) {
    Entry e = std::move(it->second);
    kept_.erase(it);
    stop_watching(e);
    release_(e.value);
  }

  Release release_;
  std::unordered_map<pid_t, Entry> kept_;
  uint64_t serial_ = 0;
};

}  // namespace machd::kern
