// machd/daemon/event_loop_epoll.cc — the epoll event loop; see event_loop.h.
//
// For where io_uring is not allowed. Multishot registrations are
// edge-triggered (every handler drains its source or is content to hear of
// the next change, which is how machd's handlers are written); one-shot ones
// are removed before their handler runs.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <unordered_map>

#include "event_loop.h"

namespace machd {

namespace {

class EpollLoop final : public EventLoop {
 public:
  EpollLoop() : ep_(epoll_create1(EPOLL_CLOEXEC)) {
    if (ep_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }
  ~EpollLoop() override { close(ep_); }

  uint64_t poll_multishot(int fd, unsigned events, Handler h) override {
    return add(fd, events | EPOLLET, Kind::kPoll, std::move(h));
  }
  uint64_t poll_once(int fd, unsigned events, Handler h) override {
    return add(fd, events | EPOLLONESHOT, Kind::kOnce, std::move(h));
  }
  uint64_t accept_multishot(int fd, Handler h) override {
    return add(fd, EPOLLIN | EPOLLET, Kind::kAccept, std::move(h));
  }
  void cancel(uint64_t token) override {
    auto it = entries_.find(token);
    if (it == entries_.end()) return;
    epoll_ctl(ep_, EPOLL_CTL_DEL, it->second.fd, nullptr);
    entries_.erase(it);
  }

  bool run_once(std::optional<uint64_t> deadline_ns) override {
    int timeout_ms = -1;
    if (deadline_ns) {
      uint64_t now = monotonic_ns();
      timeout_ms = *deadline_ns > now ? int((*deadline_ns - now + 999999) / 1000000) : 0;
    }
    epoll_event evs[64];
    int n = epoll_wait(ep_, evs, 64, timeout_ms);
    if (n < 0) return errno == EINTR;
    for (int i = 0; i < n; ++i) {
      auto it = entries_.find(evs[i].data.u64);
      if (it == entries_.end()) continue;  // cancelled by an earlier handler
      Entry e = it->second;                 // the handler may cancel itself
      if (e.kind == Kind::kOnce) {
        epoll_ctl(ep_, EPOLL_CTL_DEL, e.fd, nullptr);
        entries_.erase(it);
        e.handler(int(evs[i].events), false);
      } else if (e.kind == Kind::kAccept) {
        for (;;) {
          int c = accept4(e.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN) {
              // Accepting stops, as an io_uring multishot accept does; the
              // caller arms it again (an edge-triggered registration left in
              // place would not fire for connections already waiting).
              const int err = errno;
              cancel(evs[i].data.u64);
              e.handler(-err, false);
            }
            break;
          }
          e.handler(c, true);
        }
      } else {
        e.handler(int(evs[i].events), true);
      }
    }
    return true;
  }

  const char* name() const override { return "epoll"; }

 private:
  enum class Kind { kPoll, kOnce, kAccept };
  struct Entry {
    int fd;
    Kind kind;
    Handler handler;
  };

  uint64_t add(int fd, unsigned events, Kind kind, Handler h) {
    uint64_t token = next_token_++;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = token;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      // Report the failure through the handler, as io_uring would.
      h(-errno, false);
      return 0;
    }
    entries_.emplace(token, Entry{fd, kind, std::move(h)});
    return token;
  }

  int ep_;
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, Entry> entries_;
};

}  // namespace

std::unique_ptr<EventLoop> make_epoll_loop() { return std::make_unique<EpollLoop>(); }

}  // namespace machd
