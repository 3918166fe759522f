// machd/daemon/event_loop.h — machd's single io_uring loop.
//
// One ring, one thread. Sources register a Handler and get completions for the
// operations they arm. Only operations that do not let the kernel write into
// our memory are used (poll, multishot accept), so a source can go away at any
// time: its pending operations are cancelled and late completions for it are
// dropped by token. errno values become domain errors only at this edge.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>

namespace machd {

class EventLoop {
 public:
  // Called with the completion's result (>= 0 poll mask / accepted fd, or -errno).
  // `more` is true when a multishot operation stays armed.
  using Handler = std::function<void(int res, bool more)>;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Arms a multishot poll for `events` on fd; returns a token for cancel().
  uint64_t poll_multishot(int fd, unsigned events, Handler h);
  // Arms a one-shot poll.
  uint64_t poll_once(int fd, unsigned events, Handler h);
  // Arms a multishot accept on a listening socket (accepted fds are CLOEXEC).
  uint64_t accept_multishot(int fd, Handler h);
  // Forgets the handler now and asks the kernel to drop the operation.
  void cancel(uint64_t token);

  // Waits for completions (at most until deadline_ns on CLOCK_MONOTONIC, or
  // forever) and runs their handlers. Returns false if interrupted by an error.
  bool run_once(std::optional<uint64_t> deadline_ns);

  // Number of live handlers (diagnostics).
  size_t live() const { return handlers_.size(); }

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

// CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonic_ns();

}  // namespace machd
