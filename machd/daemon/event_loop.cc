// machd/daemon/event_loop.cc — the io_uring event loop; see event_loop.h.
//
// One ring (single issuer, deferred task work: completions are processed
// only when we wait, the cheapest wake-up path), one completion slot per
// registration, the token in user_data.
#include "event_loop.h"

#include <spdlog/spdlog.h>

#include <liburing.h>

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <string>

namespace machd {

namespace {
enum Kind { kPoll = 1, kAccept = 2 };
constexpr uint64_t kCancelToken = 0;  // completions of cancel requests

class UringLoop final : public EventLoop {
 public:
  // Throws std::system_error if io_uring cannot be set up.
  UringLoop();
  ~UringLoop() override;
  uint64_t poll_multishot(int fd, unsigned events, Handler h) override;
  uint64_t poll_once(int fd, unsigned events, Handler h) override;
  uint64_t accept_multishot(int fd, Handler h) override;
  void cancel(uint64_t token) override;
  bool run_once(std::optional<uint64_t> deadline_ns) override;
  const char* name() const override { return "io_uring"; }

 private:
  struct Entry {
    Handler handler;
    bool multishot;
    unsigned events;
    int fd;
    int kind;
  };
  io_uring_sqe* get_sqe();
  uint64_t arm(int kind, int fd, unsigned events, bool multishot, Handler h);
  void rearm(uint64_t token, Entry& e);

  io_uring ring_{};
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, Entry> handlers_;
};
}  // namespace

std::unique_ptr<EventLoop> make_epoll_loop();  // event_loop_epoll.cc

std::unique_ptr<EventLoop> EventLoop::create() {
  const char* want = getenv("MACHD_EVENT_LOOP");
  if (want == nullptr || strcmp(want, "epoll") != 0) {
    try {
      return std::make_unique<UringLoop>();
    } catch (const std::system_error&) {
      // Forbidden (seccomp, io_uring_disabled) or absent: fall back.
    }
  }
  return make_epoll_loop();
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

UringLoop::UringLoop() {
  // One thread owns the ring: completions' task work runs only when we wait
  // for it (no interrupts of the loop), which is the cheapest wake-up path.
  // The ring starts disabled so that, before it runs, it is restricted to
  // the operations machd submits (polls, accepts, cancellations, timeouts):
  // io_uring operations pass no seccomp filter (syscall_filter.h), so a
  // ring that could open or read files would be a way around it.
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
  int r = io_uring_queue_init_params(256, &ring_, &p);
  if (r == -EINVAL) {  // kernels before 6.1
    p = io_uring_params{};
    p.flags = IORING_SETUP_R_DISABLED;
    r = io_uring_queue_init_params(256, &ring_, &p);
  }
  if (r < 0) throw std::system_error(-r, std::generic_category(), "io_uring_queue_init");
  static constexpr uint8_t kOps[] = {IORING_OP_NOP, IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE, IORING_OP_ACCEPT,
                                     IORING_OP_ASYNC_CANCEL, IORING_OP_TIMEOUT, IORING_OP_TIMEOUT_REMOVE,
                                     IORING_OP_LINK_TIMEOUT};
  io_uring_restriction res[sizeof kOps]{};
  for (size_t i = 0; i < sizeof kOps; ++i) {
    res[i].opcode = IORING_RESTRICTION_SQE_OP;
    res[i].sqe_op = kOps[i];
  }
  // (Debian 12's liburing does not export its wrappers for these two.)
  auto reg = [this](unsigned op, void* arg, unsigned n) {
    return syscall(__NR_io_uring_register, ring_.ring_fd, op, arg, n) < 0 ? -errno : 0;
  };
  r = reg(IORING_REGISTER_RESTRICTIONS, res, unsigned(sizeof kOps));
  const int enabled = reg(IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (enabled < 0) {
    io_uring_queue_exit(&ring_);
    throw std::system_error(-enabled, std::generic_category(), "io_uring_enable_rings");
  }
  if (r < 0) spdlog::warn("io_uring: operations not restricted ({})", strerror(-r));
}

UringLoop::~UringLoop() { io_uring_queue_exit(&ring_); }

io_uring_sqe* UringLoop::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

uint64_t UringLoop::arm(int kind, int fd, unsigned events, bool multishot, Handler h) {
  uint64_t token = next_token_++;
  auto [it, _] = handlers_.emplace(token, Entry{std::move(h), multishot, events, fd, kind});
  rearm(token, it->second);
  return token;
}

void UringLoop::rearm(uint64_t token, Entry& e) {
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

uint64_t UringLoop::poll_multishot(int fd, unsigned events, Handler h) {
  return arm(kPoll, fd, events, true, std::move(h));
}
uint64_t UringLoop::poll_once(int fd, unsigned events, Handler h) {
  return arm(kPoll, fd, events, false, std::move(h));
}
uint64_t UringLoop::accept_multishot(int fd, Handler h) {
  return arm(kAccept, fd, 0, true, std::move(h));
}

void UringLoop::cancel(uint64_t token) {
  auto it = handlers_.find(token);
  if (it == handlers_.end()) return;
  handlers_.erase(it);
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel64(sqe, token, 0);
  io_uring_sqe_set_data64(sqe, kCancelToken);
}

bool UringLoop::run_once(std::optional<uint64_t> deadline_ns) {
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
  struct Ready { uint64_t token; int res; unsigned flags; };
  Ready batch[64];
  for (;;) {
    size_t n = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      batch[n++] = Ready{io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags};
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
  return true;
}

}  // namespace machd
