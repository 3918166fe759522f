// machd/kern/timer_queue.cc — see timer_queue.h.
#include "timer_queue.h"

#include <utility>

namespace machd::kern {

TimerQueue::Id TimerQueue::add(uint64_t deadline_ns, std::function<void()> fn) {
  const Id id = next_id_++;
  entries_.emplace(id, Entry{deadline_ns, std::move(fn)});
  order_.emplace(deadline_ns, id);
  return id;
}

bool TimerQueue::cancel(Id id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  auto [lo, hi] = order_.equal_range(it->second.deadline);
  for (auto o = lo; o != hi; ++o)
    if (o->second == id) {
      order_.erase(o);
      break;
    }
  entries_.erase(it);
  return true;
}

std::optional<uint64_t> TimerQueue::deadline_of(Id id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.deadline;
}

std::optional<uint64_t> TimerQueue::next() const {
  if (order_.empty()) return std::nullopt;
  return order_.begin()->first;
}

void TimerQueue::run_expired(uint64_t now_ns) {
  while (!order_.empty() && order_.begin()->first <= now_ns) {
    const Id id = order_.begin()->second;
    order_.erase(order_.begin());
    auto it = entries_.find(id);
    std::function<void()> fn = std::move(it->second.fn);
    entries_.erase(it);
    fn();
  }
}

}  // namespace machd::kern
