// machd/daemon/event_loop.cc — see event_loop.h.
#include "event_loop.h"

#include <poll.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace machd {

namespace {
enum Kind { kPoll = 1, kAccept = 2 };
constexpr uint64_t kCancelToken = 0;  // completions of cancel requests
}  // namespace

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

EventLoop::EventLoop() {
  // One thread owns the ring: completions' task work runs only when we wait
  // for it (no interrupts of the loop), which is the cheapest wake-up path.
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int r = io_uring_queue_init_params(256, &ring_, &p);
  if (r == -EINVAL) {  // kernels before 6.1
    p = io_uring_params{};
    r = io_uring_queue_init_params(256, &ring_, &p);
  }
  if (r < 0) throw std::runtime_error(std::string("io_uring_queue_init: ") + strerror(-r));
}

EventLoop::~EventLoop() { io_uring_queue_exit(&ring_); }

io_uring_sqe* EventLoop::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

uint64_t EventLoop::arm(int kind, int fd, unsigned events, bool multishot, Handler h) {
  uint64_t token = next_token_++;
  auto [it, _] = handlers_.emplace(token, Entry{std::move(h), multishot, events, fd, kind});
  rearm(token, it->second);
  return token;
}

void EventLoop::rearm(uint64_t token, Entry& e) {
  io_uring_sqe* sqe = get_sqe();
  if (e.kind == kAccept) {
    io_uring_prep_multishot_accept(sqe, e.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  } else if (e.multishot) {
    io_uring_prep_poll_multishot(sqe, e.fd, e.events);
  } else {
    io_uring_prep_poll_add(sqe, e.fd, e.events);
  }
  io_uring_sqe_set_data64(sqe, token);
}

uint64_t EventLoop::poll_multishot(int fd, unsigned events, Handler h) {
  return arm(kPoll, fd, events, true, std::move(h));
}
uint64_t EventLoop::poll_once(int fd, unsigned events, Handler h) {
  return arm(kPoll, fd, events, false, std::move(h));
}
uint64_t EventLoop::accept_multishot(int fd, Handler h) {
  return arm(kAccept, fd, 0, true, std::move(h));
}

void EventLoop::cancel(uint64_t token) {
  auto it = handlers_.find(token);
  if (it == handlers_.end()) return;
  handlers_.erase(it);
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel64(sqe, token, 0);
  io_uring_sqe_set_data64(sqe, kCancelToken);
}

bool EventLoop::run_once(std::optional<uint64_t> deadline_ns) {
  io_uring_cqe* cqe = nullptr;
  int r;
  if (deadline_ns) {
    uint64_t now = monotonic_ns();
    uint64_t wait = *deadline_ns > now ? *deadline_ns - now : 0;
    __kernel_timespec ts{};
    ts.tv_sec = int64_t(wait / 1000000000ull);
    ts.tv_nsec = int64_t(wait % 1000000000ull);
    r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  } else {
    r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
  }
  if (r < 0 && r != -ETIME && r != -EINTR) return false;

  // Drain everything that is ready. Handlers may arm or cancel operations.
  unsigned head;
  unsigned seen = 0;
  struct Ready { uint64_t token; int res; unsigned flags; };
  Ready batch[64];
  for (;;) {
    size_t n = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      batch[n++] = Ready{io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags};
      ++seen;
      if (n == 64) break;
    }
    io_uring_cq_advance(&ring_, unsigned(n));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      if (batch[i].token == kCancelToken) continue;
      auto it = handlers_.find(batch[i].token);
      if (it == handlers_.end()) continue;  // cancelled source: drop
      bool more = (batch[i].flags & IORING_CQE_F_MORE) != 0;
      Handler h = it->second.handler;  // copy: the handler may cancel itself
      if (!more) {
        if (it->second.multishot && batch[i].res >= 0) {
          rearm(batch[i].token, it->second);  // the kernel dropped a multishot: re-arm
          more = true;
        } else {
          handlers_.erase(it);
        }
      }
      h(batch[i].res, more);
    }
  }
  (void)seen;
  return true;
}

}  // namespace machd
