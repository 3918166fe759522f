// machd/kern/process.h — what /proc says about a Linux process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>

namespace machd::kern {

// The parent of process `pid` (/proc/PID/stat's fourth field), 0 if unknown.
pid_t parent_of(pid_t pid);

// When process `pid` started (/proc/PID/stat's 22nd field, in clock ticks
// since boot), 0 if there is no such process or it has exited (a zombie).
// It stays the same across execve and tells a process from a later one
// that reuses its pid.
uint64_t start_time_of(pid_t pid);

// What a task leaves for the next image of its process. XNU keeps some task
// state across exec (exception ports, emulation); here the new image is a
// new task, whose connection may even come before the old one's end is
// seen, so the old task's state is kept by pid for kGraceNs and handed to a
// new task of the same process (same start time, start_time_of).
template <typename T>
class KeptAcrossExec {
 public:
  static constexpr uint64_t kGraceNs = 60'000'000'000ull;

  // Keeps `value` for process `pid` (started at `start_time`) until
  // now_ns + kGraceNs; returns what it replaces (for the caller to release).
  std::optional<T> put(pid_t pid, uint64_t start_time, uint64_t now_ns, T value) {
    std::optional<T> old;
    auto it = kept_.find(pid);
    if (it != kept_.end()) old = std::move(it->second.value);
    kept_[pid] = Entry{start_time, now_ns + kGraceNs, std::move(value)};
    return old;
  }
  // The value kept for `pid` if the process is still the one that left it.
  std::optional<T> take(pid_t pid, uint64_t start_time) {
    auto it = kept_.find(pid);
    if (it == kept_.end() || it->second.start_time != start_time) return std::nullopt;
    std::optional<T> v = std::move(it->second.value);
    kept_.erase(it);
    return v;
  }
  // Hands every value past its time (all of them with `all`) to `release`.
  template <typename Release>
  void drop(uint64_t now_ns, Release release, bool all = false) {
    for (auto it = kept_.begin(); it != kept_.end();) {
      if (!all && it->second.until_ns > now_ns) {
        ++it;
        continue;
      }
      release(it->second.value);
      it = kept_.erase(it);
    }
  }

 private:
  struct Entry {
    uint64_t start_time;
    uint64_t until_ns;
    T value;
  };
  std::unordered_map<pid_t, Entry> kept_;
};

}  // namespace machd::kern
