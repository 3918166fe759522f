// machd/kern/timer_queue.h — machd's own deadlines (clock alarms, mk_timer
// expiries, ...): callbacks run by the daemon's loop when CLOCK_MONOTONIC
// reaches them. machd never sleeps for a task; it waits for the earliest
// deadline here together with its file descriptors.
//
// Contract: next() is the earliest pending deadline (ns of CLOCK_MONOTONIC);
// run_expired(now) runs, in deadline order, every callback whose deadline is
// <= now, each once, and removes it before running it (a callback may add or
// cancel entries). Ids are never reused; cancel() of a run or unknown id is
// false.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

namespace machd::kern {

class TimerQueue {
 public:
  using Id = uint64_t;
  Id add(uint64_t deadline_ns, std::function<void()> fn);
  bool cancel(Id id);
  // The deadline of a pending entry.
  std::optional<uint64_t> deadline_of(Id id) const;
  std::optional<uint64_t> next() const;
  void run_expired(uint64_t now_ns);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t deadline;
    std::function<void()> fn;
  };
  std::multimap<uint64_t, Id> order_;
  std::unordered_map<Id, Entry> entries_;
  Id next_id_ = 1;
};

}  // namespace machd::kern
