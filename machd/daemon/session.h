// machd/daemon/session.h — one connected process = one Mach task.
//
// A Session owns the task's connection: the control socket, the shared region
// (memfd mapped here and in the client), the doorbell eventfd and the pidfd
// that tells machd when the process is gone. It knows nothing of Mach
// semantics: requests are copied out of the region and handed to the trap
// dispatcher; replies are written back through finish().
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "ipc/kernel.h"
#include "machd_abi.h"

namespace machd {

// A request copied out of a channel (the only copy machd acts on).
struct Request {
  uint32_t channel = 0;
  uint32_t op = 0;
  uint64_t args[MACHD_CH_ARGS] = {};
  std::vector<uint8_t> data;
  std::vector<int> fds;  // socket path only; owned until consumed (closed by ~Request)
  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  Request(Request&& o) noexcept
      : channel(o.channel), op(o.op), data(std::move(o.data)), fds(std::move(o.fds)) {
    for (uint32_t i = 0; i < MACHD_CH_ARGS; ++i) args[i] = o.args[i];
    o.fds.clear();
  }
  ~Request();
};

// The reply half of a channel, filled by the dispatcher.
struct Reply {
  int32_t result = 0;
  uint64_t rets[MACHD_CH_RETS] = {};
  std::vector<uint8_t> data;
};

// Wakes every thread Session::finish answered while it slept. machd calls
// this once per batch of work, before it waits again: a thread woken in the
// middle of a batch on machd's CPU would take the CPU before the batch is done.
void flush_wakeups();

class Session {
 public:
  // Takes ownership of sock and pidfd. Creates the region and doorbell.
  // Throws std::system_error on failure (the caller refuses the client).
  Session(uint64_t id, int sock, int pidfd, const ipc::Credentials& creds);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  uint64_t id() const { return id_; }
  int sock() const { return sock_; }
  int doorbell() const { return doorbell_; }
  int pidfd() const { return pidfd_; }
  int region_fd() const { return region_fd_; }
  uint8_t* region() const { return region_; }
  const ipc::Credentials& creds() const { return creds_; }

  ipc::TaskId task = ipc::kNoTask;
  uint64_t tokens[3] = {0, 0, 0};  // event-loop registrations (socket, doorbell, pidfd)
  uint64_t rings = 0;              // doorbell wake-ups seen
  bool in_backlog = false;         // queued for another turn of service (Daemon::turns_)
  bool socket_owed = false;        // socket requests left unread past a batch

  // Moves the requests announced in the region (the client's pending
  // bitmap, read once) into the session's own record of what it is owed.
  void take_announced();
  // Copies the next owed request out (each once, round-robin over the
  // channels from the one after the last served) and forgets it; false when none is owed. A protocol violation (a request on
  // a channel that already has one outstanding) sets `violation` and is
  // skipped.
  bool next_request(Request& out, bool& violation);
  // Requests announced and not yet taken by next_request().
  bool owes_requests() const;

  // Copies the request of `channel` out (socket path: the fds arrive with it).
  bool take(uint32_t channel, Request& out);

  void set_busy(uint32_t channel, bool b) { busy_[channel] = b; }
  bool busy(uint32_t channel) const { return channel < MACHD_MAX_CHANNELS && busy_[channel]; }

  // Writes the reply into the channel; a sleeping thread is woken at the next
  // flush_wakeups().
  void finish(uint32_t channel, const Reply& reply);

  // Sends fds (OOL memory being received) tagged first_tag.. on the socket.
  bool send_fds(std::span<const int> fds, uint64_t first_tag);
  uint64_t next_fd_tags(uint32_t n) { uint64_t t = next_tag_; next_tag_ += n; return t; }

  // Tells the client machd is going away: every channel fails fast.
  void mark_shutdown();

  // True if a request is announced in the pending bitmap or the fast lanes
  // have work (a plain read: a hint for polling; collect() is the authority).
  bool has_pending() const;
  // While machd polls this session it clears NEED_WAKEUP so the client
  // submits without ringing the doorbell; it sets it again before sleeping.
  void set_need_wakeup(bool need);

 private:
  machd_channel* channel(uint32_t i) const;
  bool copy_out(uint32_t channel, Request& out);

  uint64_t id_;
  int sock_;
  int pidfd_;
  int doorbell_ = -1;
  int region_fd_ = -1;
  uint8_t* region_ = nullptr;
  machd_region_header* hdr_ = nullptr;
  ipc::Credentials creds_;
  std::array<bool, MACHD_MAX_CHANNELS> busy_{};
  // Announced but not yet taken (past a batch's limit). Private: the
  // client's pending bitmap is read once, by collect().
  std::array<uint64_t, MACHD_MAX_CHANNELS / 64> owed_{};
  uint32_t next_channel_ = 0;  // where next_request() looks first
  uint64_t next_tag_ = 1;
};

}  // namespace machd
