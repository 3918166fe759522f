// pagers/dsm-pager/coherence.cc — see coherence.h.
#include "coherence.h"

#include <algorithm>
#include <stdexcept>

namespace dsm {

Coherence::Coherence(uint64_t pages, Clock::duration revoke_timeout)
    : pages_(pages), revoke_timeout_(revoke_timeout) {}

Hold Coherence::hold_of(const Page& p, KernelId k) const {
  if (p.writer == k) return Hold::kWrite;
  return std::find(p.readers.begin(), p.readers.end(), k) != p.readers.end() ? Hold::kRead : Hold::kNone;
}

Hold Coherence::hold(KernelId k, uint64_t page) const { return hold_of(pages_.at(page), k); }

void Coherence::drop(Page& p, KernelId k) {
  if (p.writer == k) p.writer = Page::kNobody;
  p.readers.erase(std::remove(p.readers.begin(), p.readers.end(), k), p.readers.end());
}

void Coherence::request(KernelId k, uint64_t page, Want want, Clock::time_point now, std::vector<Action>* out) {
  enqueue(page, Request{k, want, false}, now, out);
}

void Coherence::unlock(KernelId k, uint64_t page, Clock::time_point now, std::vector<Action>* out) {
  enqueue(page, Request{k, Want::kWrite, true}, now, out);
}

void Coherence::enqueue(uint64_t page, Request r, Clock::time_point now, std::vector<Action>* out) {
  pages_.at(page).queue.push_back(r);
  advance(page, now, out);
}

void Coherence::advance(uint64_t page, Clock::time_point now, std::vector<Action>* out) {
  Page& p = pages_[page];
  while (!p.queue.empty() && p.revoking.empty()) {
    const Request r = p.queue.front();
    const bool others = (p.writer != Page::kNobody && p.writer != r.kernel) ||
                        std::any_of(p.readers.begin(), p.readers.end(), [&](KernelId k) { return k != r.kernel; });
    const bool write = r.want == Want::kWrite || (r.want == Want::kWriteIfFree && !others);
    // Revocations the head needs first: a reader waits for a foreign
    // writer to step down; a writer for every other holder to let go.
    if (p.writer != Page::kNobody && p.writer != r.kernel) {
      out->push_back(Action{write ? Action::kFlush : Action::kDowngrade, p.writer, page});
      p.revoking.push_back(Revocation{p.writer, write, now + revoke_timeout_});
    } else if (write) {
      for (KernelId reader : p.readers) {
        if (reader == r.kernel) continue;
        out->push_back(Action{Action::kFlush, reader, page});
        p.revoking.push_back(Revocation{reader, true, now + revoke_timeout_});
      }
    }
    if (!p.revoking.empty()) {
      revoking_pages_.insert(page);
      return;
    }
    // Granted. The kernel gets at least what it holds already (a second
    // request of a page it holds: it lost its copy, or the request crossed
    // a supply; a supply of a page it still has is ignored by the kernel).
    const Hold had = hold_of(p, r.kernel);
    const bool writable = write || had == Hold::kWrite;
    if (r.unlock && had != Hold::kNone) {
      // The page is there, write-locked: lift the lock.
      out->push_back(Action{Action::kGrantWrite, r.kernel, page});
    } else {
      out->push_back(Action{Action::kSupply, r.kernel, page, writable});
      if (writable && had == Hold::kRead) out->push_back(Action{Action::kGrantWrite, r.kernel, page});
    }
    if (writable) {
      p.readers.clear();
      p.writer = r.kernel;
    } else if (had == Hold::kNone) {
      p.readers.push_back(r.kernel);
    }
    p.queue.erase(p.queue.begin());
  }
}

void Coherence::revoked(KernelId k, uint64_t page, Clock::time_point now, std::vector<Action>* out) {
  Page& p = pages_.at(page);
  auto it = std::find_if(p.revoking.begin(), p.revoking.end(), [k](const Revocation& r) { return r.kernel == k; });
  if (it == p.revoking.end()) return;
  const bool flushed = it->flush;
  p.revoking.erase(it);
  // A writer that was downgraded reads on; a flushed kernel holds nothing.
  const bool was_writer = p.writer == k;
  drop(p, k);
  if (!flushed && was_writer) p.readers.push_back(k);
  if (p.revoking.empty()) revoking_pages_.erase(page);
  advance(page, now, out);
}

bool Coherence::accepts_return(KernelId k, uint64_t page) const {
  return page < pages_.size() && pages_[page].writer == k;
}

void Coherence::remove_kernel(KernelId k, Clock::time_point now, std::vector<Action>* out) {
  for (uint64_t i = 0; i < pages_.size(); ++i) {
    Page& p = pages_[i];
    drop(p, k);
    p.queue.erase(std::remove_if(p.queue.begin(), p.queue.end(), [k](const Request& r) { return r.kernel == k; }),
                  p.queue.end());
    p.revoking.erase(
        std::remove_if(p.revoking.begin(), p.revoking.end(), [k](const Revocation& r) { return r.kernel == k; }),
        p.revoking.end());
    if (p.revoking.empty()) revoking_pages_.erase(i);
    advance(i, now, out);
  }
}

std::vector<KernelId> Coherence::overdue(Clock::time_point now) const {
  std::vector<KernelId> late;
  for (uint64_t i : revoking_pages_)
    for (const Revocation& r : pages_[i].revoking)
      if (r.deadline <= now && std::find(late.begin(), late.end(), r.kernel) == late.end()) late.push_back(r.kernel);
  return late;
}

Clock::time_point Coherence::next_deadline() const {
  Clock::time_point earliest = Clock::time_point::max();
  for (uint64_t i : revoking_pages_)
    for (const Revocation& r : pages_[i].revoking) earliest = std::min(earliest, r.deadline);
  return earliest;
}

}  // namespace dsm
