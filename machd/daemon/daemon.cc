// machd/daemon/daemon.cc — see daemon.h.
#include "daemon.h"

#include <fcntl.h>
#include <mach/mig_errors.h>
#include <mach/ndr.h>
#include <mach/task_special_ports.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "bootstrap/bootstrap_server.h"
#include "machd_fds.h"
#include "machd_socket_path.h"
#include "kernel_servers.h"
#include "message_rights.h"
#include "kern/counters.h"
#include "kern/introspect.h"
#include "kern/trace.h"
#include "ipc/object_id.h"
#include "kern/subsystems.h"
#include "msg_codec.h"
#include "service_notify.h"
#include "traps.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

namespace machd {

namespace {

constexpr ipc::WaiterId kKernelReceiveWaiter = 1;  // session 0, channel 1
// Name slots of dead tasks' spaces torn down per loop turn: a few
// milliseconds of work at most (measured by the system test
// Scale.KillingATaskWithMillionsOfNamesDoesNotStallOtherTasks).
constexpr uint64_t kReapBatch = 16384;

}  // namespace

Daemon::Daemon(const Options& opts) : opts_(opts), admission_(opts.admission) {
  kernel_.set_user_queued_bytes_limit(opts_.queued_mib_per_user << 20);
  kernel_.set_user_queued_messages_limit(opts_.queued_messages_per_user);
  kernel_.set_user_ports_limit(opts_.ports_per_user);
  // Polling is opt-in (MACHD_SPIN_US): it only pays with a CPU to spare,
  // and on a loaded machine it takes CPU time from the tasks it serves.
  cpu_set_t cpus;
  const char* spin = getenv("MACHD_SPIN_US");
  if (spin && sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 1)
    spin_ns_ = uint64_t(atoll(spin)) * 1000;
  mach_port_name_t set = MACH_PORT_NULL;
  kernel_.port_allocate(kernel_.kernel_task(), MACH_PORT_RIGHT_PORT_SET, &set);
  kernel_set_ = set;
  bootstrap_ = std::make_unique<BootstrapServer>(kernel_, kernel_set_, opts_.shared_bootstrap);
  directory_.set_loop(loop_.get());
  runtime_ = std::make_unique<kern::Runtime>(kernel_, kernel_set_, directory_);
  kern::add_kernel_subsystems(dispatch_);
  host_ = std::make_unique<kern::Host>();
  fast_.set_post_observer([this](ipc::TaskId task, const uint8_t* msg, size_t len, mach_msg_return_t mr) {
    machd_trace_record_t r;
    describe_send(task, directory_.pid_of(task), msg, len, monotonic_ns(), r);
    r.result = mr;
    kern::tracing().emit(r);
  });
  introspection_ = std::make_unique<kern::Introspection>([this] {
    std::vector<kern::ServiceView> out;
    for (auto& s : bootstrap_->list()) out.push_back(kern::ServiceView{std::move(s.name), s.send, s.on_demand});
    return out;
  });
  clocks_ = std::make_unique<kern::Clocks>();
  processors_ = std::make_unique<kern::Processors>();
  timers_ = std::make_unique<kern::Timers>();
  tasks_ = std::make_unique<kern::Tasks>(dispatch_);
  semaphores_ = std::make_unique<kern::Semaphores>();
  lock_sets_ = std::make_unique<kern::LockSets>();
  memory_entries_ = std::make_unique<vm::MemoryEntries>(dispatch_);
  agent_ = std::make_unique<kern::Agent>(*this);
  memory_objects_ = std::make_unique<vm::MemoryObjects>(directory_, opts_.pager_timeout_ns,
                                                         opts_.eager_copy_bytes_per_user);
  default_memory_manager_ = std::make_unique<vm::DefaultMemoryManager>();
  anonymous_memory_ = std::make_unique<vm::AnonymousMemory>(opts_.memory_limit);
  threads_ = std::make_unique<kern::Threads>();
  suspension_tokens_ = std::make_unique<kern::SuspensionTokens>(dispatch_);
  exception_ports_ = std::make_unique<kern::ExceptionPorts>();
  exception_delivery_ = std::make_unique<kern::ExceptionDelivery>(dispatch_);
  corpses_ = std::make_unique<kern::Corpses>(dispatch_);
  emulations_ = std::make_unique<kern::Emulations>();
  vouchers_ = std::make_unique<kern::Vouchers>(*runtime_, kernel_set_);
  dispatch_.on_no_senders(kern::KType::kThread, [](ipc::KObject ko, mach_port_name_t, mach_port_mscount_t ms) {
    kern::threads().on_no_senders(ko.id, ms);
  });
  for (kern::KType ty : {kern::KType::kThreadRead, kern::KType::kThreadInspect})
    dispatch_.on_no_senders(ty, [](ipc::KObject ko, mach_port_name_t p, mach_port_mscount_t ms) {
      kern::threads().on_flavor_no_senders(ko, p, ms);
    });
  arm_kernel_receive();
}

Daemon::~Daemon() {
  sessions_.clear();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (signal_fd_ >= 0) close(signal_fd_);
  if (uffd_device_ >= 0) close(uffd_device_);
  if (!opts_.systemd && !socket_path_.empty()) unlink(socket_path_.c_str());
}

void Daemon::on_doorbell(Session& s) {
  // The doorbell is never read in the common case: the multishot poll fires
  // on every write, and the pending bitmap (not the counter) says what to do.
  // Draining it now and then keeps the counter far from its limit.
  if (++s.rings % 65536 == 0) {
    uint64_t v;
    (void)!read(s.doorbell(), &v, sizeof v);
  }
  uint64_t id = s.id();
  agent_->on_doorbell(s.task);  // answers of the task's agent, threads that parked
  if (sessions_.find(id) == sessions_.end()) return;
  if (!take_announced(s)) return;
  if (spin_ns_ && s.owes_requests() && std::find(hot_.begin(), hot_.end(), id) == hot_.end()) hot_.push_back(id);
  // A session in the backlog, or of a user with sessions there, is served
  // in its turn (serve_backlog).
  if (!s.in_backlog) {
    if (!user_waits(s)) {
      if (serve_requests(s)) owe_turn(s);
    } else if (s.owes_requests()) {
      owe_turn(s);
    }
  }
  drain_completions();
}

bool Daemon::take_announced(Session& s) {
  const uint64_t id = s.id();
  s.take_announced();
  // The fast lanes after taking the announcements: whatever a task wrote
  // into its send ring before a request we now owe is visible, and is
  // posted first.
  service_fast_lanes();
  return sessions_.find(id) != sessions_.end();
}

bool Daemon::serve_requests(Session& s, uint64_t until) {
  const uint64_t id = s.id();
  uint64_t slice_end = until;  // 0: read only once a second request is owed: a lone request costs no clock
  bool violation = false;
  bool more = false;
  for (;;) {
    Request r;
    if (!s.next_request(r, violation)) break;
    handle(s, r);
    if (sessions_.find(id) == sessions_.end()) return false;
    if (!s.owes_requests()) continue;
    const uint64_t now = monotonic_ns();
    if (slice_end == 0) {
      slice_end = now + kSliceNs;
    } else if (now >= slice_end) {
      more = true;
      break;
    }
  }
  if (violation) {
    terminate(id, "protocol violation (second request on a busy channel)");
    return false;
  }
  return more;
}

void Daemon::on_socket(Session& s, int events) {
  uint64_t id = s.id();
  if (events < 0 || (events & POLLIN) == 0) {
    if (events < 0 || (events & (POLLHUP | POLLRDHUP | POLLERR))) terminate(id, "connection closed");
    return;
  }
  // A session in the backlog, or of a user with sessions there, is served
  // in its turn (serve_backlog).
  s.socket_owed = true;
  if (!s.in_backlog) {
    if (!user_waits(s)) {
      if (serve_socket(s)) owe_turn(s);
    } else {
      owe_turn(s);
    }
  }
  drain_completions();
}

bool Daemon::serve_socket(Session& s, uint64_t until) {
  const uint64_t id = s.id();
  s.socket_owed = false;
  uint64_t slice_end = until;  // 0: from the end of the first request on
  for (bool first = true;; first = false) {
    if (!first) {
      const uint64_t now = monotonic_ns();
      if (slice_end == 0) {
        slice_end = now + kSliceNs;
      } else if (now >= slice_end) {  // the rest next turn
        s.socket_owed = true;
        return true;
      }
    }
    machd_sock_request sr{};
    int fds[MACHD_MAX_FDS_PER_MSG];
    size_t nfds = 0;
    int flags = 0;
    ssize_t n = machd_recv_fds(s.sock(), &sr, sizeof sr, fds, &nfds, MSG_DONTWAIT, &flags);
    Request req;
    req.fds.assign(fds, fds + nfds);  // owned (closed) by req from here on
    if (n < 0 && errno == EAGAIN) return false;
    if (n <= 0) {
      terminate(id, "connection closed");
      return false;
    }
    service_fast_lanes();
    if (sessions_.find(id) == sessions_.end()) return false;
    bool ok = n == ssize_t(sizeof sr) && (flags & (MSG_TRUNC | MSG_CTRUNC)) == 0 &&
              sr.kind == MACHD_SOCK_REQUEST && sr.nfds == req.fds.size() && s.take(sr.channel, req);
    if (!ok) {
      terminate(id, "malformed socket request");
      return false;
    }
    handle(s, req);
    if (sessions_.find(id) == sessions_.end()) return false;
  }
}

void Daemon::handle(Session& s, Request& req) {
  if (req.op == MACHD_OP_NONE || req.op >= MACHD_OP_MAX) {
    terminate(s.id(), "unknown operation");
    return;
  }
  Reply rep;
  ipc::WaiterId w = make_waiter(s.id(), req.channel);
  s.set_busy(req.channel, true);
  const uint64_t start = monotonic_ns();
  kern::Counters& counters = kern::counters();
  if (req.op == MACHD_OP_EXCEPTION_RAISE) counters.exception();
  // Tracing: the only cost while nobody traces is this one test.
  bool finished = true;
  try {
    finished = kern::tracer_count() == 0 ? run_trap(kernel_, s, req, w, start, rep)
                                         : run_traced(s, req, w, start, rep);
  } catch (const std::bad_alloc&) {
    // Out of memory: an error to the task that asked, never an abort.
    spdlog::warn("task {} (pid {}): out of memory serving operation {}", s.task, s.creds().pid, unsigned(req.op));
    rep = Reply{};
    rep.result = req.op == MACHD_OP_MSG ? MACH_SEND_NO_BUFFER : KERN_RESOURCE_SHORTAGE;
  }
  if (finished) {
    if (req.op == MACHD_OP_MSG) {
      const mach_msg_option_t options = mach_msg_option_t(req.args[0]);
      const size_t send_size = (options & MACH_SEND_MSG) ? std::min<size_t>(req.args[1], req.data.size()) : 0;
      fast_.after_msg(s, options, req.data.data(), send_size, mach_port_name_t(req.args[3]), rep.result);
      // A receive error (MACH_RCV_*, 0x100040xx) means the send part went out.
      const bool rcv_error = (uint32_t(rep.result) & 0xFFFFFF00u) == 0x10004000u;
      if ((options & MACH_SEND_MSG) && (rep.result == MACH_MSG_SUCCESS || rcv_error)) counters.message_sent();
      if ((options & MACH_RCV_MSG) && rep.result == MACH_MSG_SUCCESS) counters.message_received();
    }
    s.finish(req.channel, rep);
    counters.op_done(req.op, monotonic_ns() - start);
  } else if (req.op == MACHD_OP_MSG && (mach_msg_option_t(req.args[0]) & MACH_SEND_MSG)) {
    // Blocked, after sending (waiting to receive) or waiting for room in a
    // full queue: counted as sent now (a send that then times out too).
    counters.message_sent();
  }
  // else: blocked; the channel stays busy until its Completion arrives.
}

bool Daemon::run_traced(Session& s, Request& req, ipc::WaiterId w, uint64_t now, Reply& rep) {
  if (req.op != MACHD_OP_MSG || !(mach_msg_option_t(req.args[0]) & MACH_SEND_MSG))
    return run_trap(kernel_, s, req, w, now, rep);
  machd_trace_record_t r;
  describe_send(s.task, int32_t(s.creds().pid), req.data.data(), req.data.size(), now, r);
  const bool finished = run_trap(kernel_, s, req, w, now, rep);
  r.result = finished ? rep.result : MACHD_TRACE_BLOCKED;
  kern::tracing().emit(r);
  return finished;
}

void Daemon::describe_send(ipc::TaskId task, int32_t pid, const uint8_t* msg, size_t len, uint64_t now,
                           machd_trace_record_t& r) {
  const kern::MessageSummary m = kern::summarize(msg, len);
  r = machd_trace_record_t{};
  r.time_ns = now;
  r.sender_pid = pid;
  uint64_t key = 0;
  const ipc::TaskId receiver = kernel_.port_receiver(task, m.remote, &key);
  r.receiver_pid = receiver == kernel_.kernel_task() ? 0 : receiver == ipc::kNoTask ? -1 : directory_.pid_of(receiver);
  r.object = ipc::object_id(reinterpret_cast<const void*>(uintptr_t(key)));
  r.msgh_id = m.msgh_id;
  r.size = m.size;
  r.port_rights = m.port_rights;
  r.ool_bytes = m.ool_bytes;
  r.kobject_type = kern::ikot_of(kern::type_of(kernel_.kobject_of(task, m.remote)));
}

// Posting may complete blocked receives: their replies are written with the
// rest of the batch, by the caller's drain_completions().
void Daemon::service_fast_lanes() {
  std::vector<uint64_t> violators;
  fast_.service(violators);
  for (uint64_t id : violators) terminate(id, "protocol violation (fast lane)");
}

void Daemon::complete(ipc::Completion& c) {
  uint64_t sid = waiter_session(c.waiter);
  if (sid == kKernelSession) {
    if (c.waiter == kKernelReceiveWaiter) on_kernel_message(c);
    return;
  }
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return;  // the task is gone
  Reply rep;
  if (c.result == MACH_MSG_SUCCESS && !c.returned_send && !c.msg.empty()) kern::counters().message_received();
  encode_completion(c, *it->second, rep);
  it->second->finish(waiter_channel(c.waiter), rep);
}

void Daemon::drain_completions() {
  for (;;) {
    std::vector<ipc::Completion> done = kernel_.take_completions();
    if (done.empty()) return;
    for (auto& c : done) complete(c);
  }
}

void Daemon::arm_kernel_receive() {
  for (;;) {
    ipc::MsgArgs args;
    args.options = MACH_RCV_MSG | MACH_RCV_LARGE |
                   MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
                   MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT);
    args.rcv_name = kernel_set_;
    args.rcv_size = MACHD_MSG_MAX;
    ipc::MsgOutcome o = kernel_.msg(kernel_.kernel_task(), kKernelReceiveWaiter, std::move(args), monotonic_ns());
    if (o.blocked) return;
    o.done.waiter = kKernelReceiveWaiter;
    if (!handle_kernel_completion(o.done)) return;
  }
}

bool Daemon::handle_kernel_completion(ipc::Completion& c) {
  const ipc::TaskId kt = kernel_.kernel_task();
  if (c.result == MACH_RCV_TOO_LARGE) {
    // Too large for any kernel server: take it off the queue and drop it.
    ipc::MsgArgs args;
    args.options = MACH_RCV_MSG | MACH_RCV_TIMEOUT;
    args.rcv_name = kernel_set_;
    args.rcv_size = sizeof(mach_msg_header_t);
    args.timeout = 0;
    kernel_.msg(kt, kKernelReceiveWaiter, std::move(args), monotonic_ns());
    return true;
  }
  if (c.result != MACH_MSG_SUCCESS || c.msg.size() < sizeof(mach_msg_header_t)) {
    spdlog::error("kernel receive failed: {:#x}", c.result);
    return false;
  }
  kern::counters().kernel_rpc();
  serve_kernel_request(c, 0, false);
  return true;
}

void Daemon::serve_kernel_request(ipc::Completion& c, uint32_t waited, bool wait_failed) {
  const ipc::TaskId kt = kernel_.kernel_task();
  mach_msg_header_t h;
  memcpy(&h, c.msg.data(), sizeof h);
  KernelReply kr;
  kern::Runtime::Wait wait;
  if (bootstrap_->serves(h.msgh_local_port)) {
    kr = bootstrap_->handle(c.msg);
  } else {
    // A kernel object (or a port that is none any more: MIG_BAD_ID).
    MappedRequest req(c);
    runtime_->set_waits(waited, wait_failed);
    kr = dispatch_.serve(req.msg(), kernel_.kobject_of(kt, h.msgh_local_port));
    wait = runtime_->take_wait();
  }
  if (wait) {
    // Served again once the wait is over: nothing of it is released or
    // answered now. (The routine's reply arrays, if it made any, go.)
    ipc::SendArgs unused;
    take_reply_payloads(kr.msg, unused);
    runtime_->run_after_reply();
    const uint64_t id = next_waiting_++;
    waiting_.emplace(id, WaitingRequest{std::move(c), waited + 1});
    // The callback may come at once; the request is served again on a
    // timer turn, never inside the routine that ended the wait.
    wait([this, id](bool ok) {
      runtime_->timers().add(0, [this, id, ok] { serve_again(id, ok); });
    });
    return;
  }
  std::vector<uint8_t>& reply = kr.msg;
  const bool keep_body = kr.keep_body;
  release_message_rights(kernel_, kt, c, /*header=*/reply.empty() && !kr.keep_reply, /*body=*/!keep_body);
  ipc::SendArgs send;
  take_reply_payloads(reply, send);  // out-of-line arrays the routine returned (always frees them)
  if (!reply.empty()) {
    mach_msg_return_t mr = runtime_->send(std::move(reply), std::move(send));
    if (mr != MACH_MSG_SUCCESS) spdlog::debug("kernel reply not delivered: {:#x}", mr);
  }
  runtime_->run_after_reply();  // e.g. rights a routine made only for its reply to copy
}

void Daemon::serve_again(uint64_t id, bool ok) {
  auto it = waiting_.find(id);
  if (it == waiting_.end()) return;
  WaitingRequest w = std::move(it->second);
  waiting_.erase(it);
  serve_kernel_request(w.c, w.waited, !ok);
}

void Daemon::on_kernel_message(ipc::Completion& c) {
  if (handle_kernel_completion(c)) arm_kernel_receive();
}

void Daemon::terminate(uint64_t id, const char* why) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  spdlog::debug("task {} (pid {}) gone: {}", s.task, s.creds().pid, why);
  for (uint64_t t : s.tokens)
    if (t) loop_->cancel(t);
  fast_.retire(id);
  runtime_->notify_task_terminating(s.task);
  session_of_task_.erase(s.task);
  directory_.remove(s.task);
  // The core forgets the task at once; its space (millions of names, maybe)
  // is torn down a batch per loop turn (run), so other tasks are not kept
  // waiting meanwhile.
  kernel_.task_terminate(s.task, /*incremental=*/true);
  fast_.detach(id);
  admission_.end_task(s.creds().uid);
  sessions_.erase(it);
  if (sessions_.empty()) idle_since_ns_ = monotonic_ns();
  drain_completions();
}

// With a second CPU, waking machd (and waking a client from machd) costs far
// more than a short spin: keep serving the sessions that were just active by
// polling their pending bitmaps, with NEED_WAKEUP cleared so their requests
// need no doorbell. Give up after spin_ns_ without work, re-arm NEED_WAKEUP,
// and look once more (a request may have slipped in as the flag went up).
void Daemon::poll_hot_sessions() {
  if (spin_ns_ == 0 || hot_.empty()) return;
  for (uint64_t id : hot_)
    if (auto it = sessions_.find(id); it != sessions_.end()) it->second->set_need_wakeup(false);
  uint64_t idle_until = monotonic_ns() + spin_ns_;
  for (;;) {
    bool worked = false;
    for (size_t i = 0; i < hot_.size(); ++i) {
      auto it = sessions_.find(hot_[i]);
      if (it == sessions_.end()) continue;
      if (it->second->has_pending()) {
        on_doorbell(*it->second);
        flush_wakeups();
        worked = true;
      }
    }
    uint64_t now = monotonic_ns();
    if (worked) idle_until = now + spin_ns_;
    // A task with work left past its slice is served in its turn, by the
    // loop (serve_backlog): spinning on it here would never end.
    if (now >= idle_until || stopping_ || !turns_.empty()) break;
    __builtin_ia32_pause();
  }
  std::vector<uint64_t> hot;
  hot.swap(hot_);
  for (uint64_t id : hot) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) continue;
    it->second->set_need_wakeup(true);
    if (it->second->has_pending()) on_doorbell(*it->second);  // raced with the flag
  }
}

void Daemon::owe_turn(Session& s) {
  if (s.in_backlog) return;
  s.in_backlog = true;
  turns_.owe(s.creds().uid, s.id());
}

void Daemon::serve_backlog() {
  // The users queued now get one turn each: a slice of machd's time for the
  // sessions they had queued, taken in order (each its socket requests,
  // then its channels'); a session still owed queues again behind the
  // user's others, and the user behind the other users.
  for (size_t n = turns_.users(); n > 0; --n) {
    const FairTurns::Turn turn = turns_.begin_turn();
    const uint64_t turn_end = monotonic_ns() + kSliceNs;
    for (size_t k = turn.sessions; k > 0; --k) {
      serve_in_turn(turns_.take(turn), turn_end);
      if (k > 1 && monotonic_ns() >= turn_end) break;
    }
    turns_.end_turn(turn);
  }
}

void Daemon::serve_in_turn(uint64_t id, uint64_t until) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  s.in_backlog = false;
  bool more = s.socket_owed && serve_socket(s, until);
  if (sessions_.find(id) == sessions_.end()) return;
  if (!take_announced(s)) return;
  if (s.owes_requests()) {
    more |= serve_requests(s, until);
    if (sessions_.find(id) == sessions_.end()) return;
  }
  if (more) owe_turn(s);
  drain_completions();
  flush_wakeups();
}

Session* Daemon::session_of_task(ipc::TaskId task) {
  auto t = session_of_task_.find(task);
  if (t == session_of_task_.end()) return nullptr;
  auto it = sessions_.find(t->second);
  return it == sessions_.end() ? nullptr : it->second.get();
}

uint8_t* Daemon::agent_area(ipc::TaskId task) {
  Session* s = session_of_task(task);
  return s ? s->region() + MACHD_AGENT_OFFSET : nullptr;
}

bool Daemon::send_fd(ipc::TaskId task, int fd, uint64_t* tag) {
  Session* s = session_of_task(task);
  if (s == nullptr) return false;
  *tag = s->next_fd_tags(1);
  const int fds[1] = {fd};
  return s->send_fds(fds, *tag);
}

void Daemon::finish_call(ipc::TaskId task, uint32_t channel, int32_t result, const uint64_t* rets, size_t nrets,
                         const uint8_t* data, size_t size) {
  Session* s = session_of_task(task);
  if (s == nullptr || !s->busy(channel)) return;
  Reply rep;
  rep.result = result;
  for (size_t i = 0; i < nrets && i < MACHD_CH_RETS; ++i) rep.rets[i] = rets[i];
  if (size > 0) rep.data.assign(data, data + std::min<size_t>(size, MACHD_CHANNEL_DATA_SIZE));
  s->finish(channel, rep);
}

void Daemon::interrupt_wait(ipc::TaskId task, pid_t tid) {
  Session* s = session_of_task(task);
  if (s == nullptr || tid <= 0) return;
  // The channels this thread calls through (its own, and a signal
  // handler's); only a blocked one has a waiter to end. The completion is
  // delivered by the loop's drain_completions().
  for (uint32_t i = 0; i < MACHD_MAX_CHANNELS; ++i) {
    const auto* ch = reinterpret_cast<const machd_channel*>(s->region() + MACHD_CHANNELS_OFFSET +
                                                            uint64_t(i) * MACHD_CHANNEL_SIZE);
    if (__atomic_load_n(&ch->tid, __ATOMIC_RELAXED) == tid)
      kernel_.abort_wait(make_waiter(s->id(), i), MACH_RCV_INTERRUPTED);
  }
}

void Daemon::shutdown_all() {
  for (auto& [id, s] : sessions_) s->mark_shutdown();
  std::vector<uint64_t> ids;
  for (auto& [id, s] : sessions_) ids.push_back(id);
  for (uint64_t id : ids) terminate(id, "machd shutting down");
}

int Daemon::run() {
  std::string where = socket_path_;
  if (opts_.systemd) {  // the path systemd bound, for the status line
    sockaddr_un a{};
    socklen_t len = sizeof a;
    where = getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0 && a.sun_path[0] != '\0'
                ? std::string(a.sun_path, strnlen(a.sun_path, sizeof a.sun_path))
                : std::string("the socket systemd passed");
  }
  ServiceNotify notify(opts_.systemd, where);
  notify.ready();
  idle_since_ns_ = monotonic_ns();
  while (!stopping_) {
    std::optional<uint64_t> deadline = kernel_.next_deadline();
    if (auto n = notify.next_deadline()) deadline = deadline ? std::min(*deadline, *n) : *n;
    if (auto m = memory_return_.tick(monotonic_ns())) deadline = deadline ? std::min(*deadline, *m) : *m;
    if (auto t = runtime_->timers().next()) deadline = deadline ? std::min(*deadline, *t) : *t;
    if (auto a = agent_->next_deadline()) deadline = deadline ? std::min(*deadline, *a) : *a;
    if (opts_.idle_exit_seconds > 0 && sessions_.empty() && hellos_.empty()) {
      uint64_t idle_deadline = idle_since_ns_ + uint64_t(opts_.idle_exit_seconds) * 1000000000ull;
      if (monotonic_ns() >= idle_deadline) {
        spdlog::info("idle for {}s: exiting", opts_.idle_exit_seconds);
        break;
      }
      deadline = deadline ? std::min(*deadline, idle_deadline) : idle_deadline;
    }
    // A dead task's space still to tear down: look at the sockets without
    // waiting, then tear down one more batch.
    if (kernel_.reaping() || !turns_.empty()) deadline = monotonic_ns();
    flush_wakeups();
    poll_hot_sessions();
    flush_wakeups();
    if (!loop_->run_once(deadline)) {
      spdlog::error("event loop failed");
      return 1;
    }
    // Callbacks of watched fds (TaskHost::watch_fd: userfaultfds, timerfds)
    // may send kernel messages that complete blocked receives.
    drain_completions();
    if (kernel_.next_deadline()) {
      kernel_.expire(monotonic_ns());
      drain_completions();
    }
    if (runtime_->timers().next()) {  // machd's own deadlines (kern/timer_queue.h)
      runtime_->timers().run_expired(monotonic_ns());
      drain_completions();
    }
    if (auto a = agent_->next_deadline(); a && *a <= kern::agent_now_ns()) {
      agent_->expire(kern::agent_now_ns());
      drain_completions();
    }
    if (kernel_.reaping()) {
      kernel_.reap(kReapBatch);
      drain_completions();
    }
    if (!turns_.empty()) {
      serve_backlog();
      drain_completions();
    }
    notify.tick(monotonic_ns(), sessions_.size());
  }
  notify.stopping();
  shutdown_all();
  return 0;
}

}  // namespace machd
