// machd/daemon/event_loop.h — machd's event loop (interface).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

namespace machd {

// machd's event loop: one thread, readiness callbacks.
//
// Two implementations: io_uring (the default), and epoll for where io_uring
// is forbidden (container runtimes' default seccomp profiles refuse
// io_uring_setup; MACHD_EVENT_LOOP=epoll also selects it). Only readiness is
// observed (polls and accepts): the kernel never writes into our memory, so
// a source can go away at any time; its pending operation is cancelled and
// late completions for its token are dropped.
class EventLoop {
 public:
  // Called with the result (>= 0: poll mask / accepted fd; < 0: -errno).
  // `more` is true while a multishot registration stays armed.
  using Handler = std::function<void(int res, bool more)>;

  // The io_uring loop if it can be had, else the epoll one.
  static std::unique_ptr<EventLoop> create();

  virtual ~EventLoop() = default;
  // Fires whenever fd becomes ready for `events` (POLLIN, POLLRDHUP...). The
  // handler must consume what made it ready (read until EAGAIN) or be
  // content to hear again only on the next change.
  virtual uint64_t poll_multishot(int fd, unsigned events, Handler h) = 0;
  // Fires once, then forgets the registration.
  virtual uint64_t poll_once(int fd, unsigned events, Handler h) = 0;
  // Calls h with each accepted connection (CLOEXEC, NONBLOCK), `more` true.
  // An error that stops accepting (EMFILE, ENFILE, ENOMEM...) reaches h as
  // -errno with `more` false and ends the registration: the caller arms a
  // new one when it sees fit (connections keep waiting in the backlog).
  virtual uint64_t accept_multishot(int fd, Handler h) = 0;
  // Forgets the handler now and drops the registration.
  virtual void cancel(uint64_t token) = 0;
  // Waits (until deadline_ns on CLOCK_MONOTONIC, or forever) and runs the
  // handlers of what is ready. False on an unrecoverable error.
  virtual bool run_once(std::optional<uint64_t> deadline_ns) = 0;
  virtual const char* name() const = 0;
};

// CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonic_ns();

}  // namespace machd
