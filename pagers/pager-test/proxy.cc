// pagers/pager-test/proxy.cc — the proxy's ports, its thread and the kit's
// requests to it (see proxy.h); the messages themselves are translated in
// proxy_routines.cc.
#include "proxy.h"

#include <mach/mig_errors.h>
#include <mach/notify.h>
#include <servers/bootstrap.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "../common/wake.h"
#include "proxy_state.h"

extern "C" {
#include "kit_machServer.h"
#include "kit_memory_objectServer.h"
}

namespace pagerkit {

namespace {

ProxyState* g_served = nullptr;

constexpr mach_msg_id_t kWakeId = 0x6b697401;  // 'kit' 1: the kit's wake-up
constexpr mach_msg_size_t kBufferSize = 64 * 1024;
constexpr mach_msg_timeout_t kTickMs = 50;

mach_port_t new_receive_right(mach_port_t set) {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return MACH_PORT_NULL;
  if (MACH_PORT_VALID(set) && mach_port_move_member(mach_task_self(), p, set) != KERN_SUCCESS) {
    mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
    return MACH_PORT_NULL;
  }
  return p;
}

void drop_receive(mach_port_t& p) {
  if (MACH_PORT_VALID(p)) mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  p = MACH_PORT_NULL;
}

void drop_send(mach_port_t& p) {
  if (MACH_PORT_VALID(p)) mach_port_deallocate(mach_task_self(), p);
  p = MACH_PORT_NULL;
}

void send_wake(mach_port_t port) { pagerprog::send_wake(port, kWakeId); }

union Buffer {
  mach_msg_header_t head;
  uint8_t bytes[kBufferSize];
};

// Serves one request with a MIG demultiplexer, as mach_msg_server does: a
// reply for a routine, the request destroyed unless the routine took it.
// False (the message destroyed) if the demultiplexer knows no such id.
bool serve_with(boolean_t (*demux)(mach_msg_header_t*, mach_msg_header_t*), mach_msg_header_t* in,
                uint64_t timeout_ns) {
  union {
    mig_reply_error_t error;
    uint8_t bytes[4096];
  } out{};
  if (!demux(in, &out.error.Head)) {
    mach_msg_destroy(in);
    return false;
  }
  const kern_return_t rc = out.error.RetCode;
  const bool complex = (out.error.Head.msgh_bits & MACH_MSGH_BITS_COMPLEX) != 0;
  if (!complex && rc == MIG_NO_REPLY) return true;
  if (!complex && rc != KERN_SUCCESS) {
    // The routine took nothing: the request goes, but its reply right
    // stays for the error reply.
    in->msgh_remote_port = MACH_PORT_NULL;
    mach_msg_destroy(in);
  }
  if (!MACH_PORT_VALID(out.error.Head.msgh_remote_port)) return true;  // a simpleroutine
  mach_msg_return_t mr = mach_msg(&out.error.Head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, out.error.Head.msgh_size, 0,
                                  MACH_PORT_NULL, mach_msg_timeout_t(timeout_ns / 1000000), MACH_PORT_NULL);
  if (mr != MACH_MSG_SUCCESS) mach_msg_destroy(&out.error.Head);
  return true;
}

void unknown_message(ProxyState& s, Party party, const char* where, mach_msg_id_t id) {
  s.findings.violation(party, "unexpected-message",
                       "a message with id " + std::to_string(id) + " on " + where + " (destroyed)");
}

// The pager's port died: so does the object the kit stands in for.
void pager_gone(ProxyState& s) {
  if (s.pager_dead) return;
  s.pager_dead = true;
  s.checker.pager_died(now_ns(), "its object port died", s.death_expected);
  // machd sees the proxy object port die as it would the pager's: the
  // faults waiting on the object fail, and so does every later one.
  drop_receive(s.object);
  drop_send(s.pager);
  s.cv.notify_all();
}

void dispatch(ProxyState& s, mach_msg_header_t* in) {
  const mach_port_t local = in->msgh_local_port;
  if (local == s.wake) return;  // the kit's wake-up: handled after the message
  if (local == s.notify) {
    if (in->msgh_id == MACH_NOTIFY_DEAD_NAME) {
      // The notification carries the dead name's reference.
      auto* n = reinterpret_cast<mach_dead_name_notification_t*>(in);
      mach_port_deallocate(mach_task_self(), n->not_port);
      pager_gone(s);
    } else {
      mach_msg_destroy(in);
    }
    return;
  }
  if (auto it = s.completions.find(local); it != s.completions.end()) {
    if (in->msgh_id == MACH_NOTIFY_SEND_ONCE) {  // machd dropped the right: no completion
      const Completion c = it->second;
      report_dropped(s, c);
      complete(s, local, c, false);
      return;
    }
    drain_object_port(s);  // what machd sent before the completion goes first
    serve_with(memory_object_server, in, s.timeout_ns);
    return;
  }
  const mach_msg_id_t id = in->msgh_id;
  if (local == s.object) {
    if (!serve_with(memory_object_server, in, s.timeout_ns))
      unknown_message(s, Party::kKernel, "the memory object port", id);
    return;
  }
  if (local == s.epoch.control && MACH_PORT_VALID(local)) {
    if (!serve_with(mach_server, in, s.timeout_ns)) unknown_message(s, Party::kPager, "the control port", id);
    return;
  }
  mach_msg_destroy(in);
}

// Receives and handles what is queued on `port` now.
void drain_port(ProxyState& s, mach_port_t port) {
  // A buffer of its own: a drain may run inside the handling of a message
  // received by another (terminate drains the control port).
  std::unique_ptr<Buffer> buf(new Buffer);
  while (MACH_PORT_VALID(port)) {
    mach_msg_return_t mr =
        mach_msg(&buf->head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof *buf, port, 0, MACH_PORT_NULL);
    if (mr != MACH_MSG_SUCCESS) return;
    dispatch(s, &buf->head);
  }
}

// The kit's own lock_requests, made on the proxy thread so that their
// completions line up with the pager's.
void make_kit_locks(ProxyState& s) {
  while (!s.kit_locks.empty()) {
    const KitLock k = s.kit_locks.front();
    s.kit_locks.pop_front();
    if (!s.epoch.live()) {
      s.kit_results[k.ticket] = Proxy::LockResult::kNoObject;
      continue;
    }
    s.checker.lock_request(now_ns(), k.offset, k.length, k.should_return, k.flush, VM_PROT_NONE, true);
    Completion c;
    c.kind = Completion::Kind::kLock;
    c.offset = k.offset;
    c.length = k.length;
    c.flush = k.flush;
    c.ticket = k.ticket;
    const mach_port_t reply = completion_port(s, c);
    kern_return_t kr = memory_object_lock_request(s.epoch.kernel_control, vm_offset_t(k.offset), vm_size_t(k.length),
                                                  k.should_return, k.flush, VM_PROT_NONE, reply);
    if (kr != KERN_SUCCESS) {
      s.completions.erase(reply);
      mach_port_mod_refs(mach_task_self(), reply, MACH_PORT_RIGHT_RECEIVE, -1);
      s.kit_results[k.ticket] = Proxy::LockResult::kRefused;
    }
  }
  s.cv.notify_all();
}

}  // namespace

// What the user stubs to the pager (kit_memory_objectUser.c, compiled with
// -Dmach_msg=pagerkit_send_to_pager) send with: never blocked longer than
// the timeout by a pager that does not receive; a message that could not be
// sent comes back to the kit (pseudo-receive) and is destroyed here.
extern "C" mach_msg_return_t pagerkit_send_to_pager(mach_msg_header_t* msg, mach_msg_option_t option,
                                                    mach_msg_size_t send_size, mach_msg_size_t rcv_size,
                                                    mach_port_name_t rcv_name, mach_msg_timeout_t,
                                                    mach_port_name_t notify) {
  const mach_msg_timeout_t ms = g_served ? mach_msg_timeout_t(g_served->timeout_ns / 1000000) : 1000;
  mach_msg_return_t mr = mach_msg(msg, option | MACH_SEND_TIMEOUT, send_size, rcv_size, rcv_name, ms, notify);
  if (mr == MACH_SEND_TIMED_OUT) mach_msg_destroy(msg);
  return mr;
}

// ---- helpers of the routines --------------------------------------------------------

ProxyState& served() { return *g_served; }

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

mach_port_t completion_port(ProxyState& s, const Completion& c) {
  mach_port_t p = new_receive_right(s.set);
  if (MACH_PORT_VALID(p)) {
    s.completions[p] = c;
    s.completions[p].epoch = s.inits;
  }
  return p;
}

void drain_object_port(ProxyState& s) { drain_port(s, s.object); }
void drain_control_port(ProxyState& s) { drain_port(s, s.epoch.control); }

void trace(ProxyState& s, const char* direction, const char* call, const std::string& detail) {
  if (s.trace == nullptr) return;
  fprintf(s.trace, "%10.6f %-15s %-18s %s\n", double(now_ns() - s.trace_start) / 1e9, direction, call,
          detail.c_str());
  fflush(s.trace);
}

void pager_send_failed(ProxyState& s, const char* call, mach_msg_return_t mr) {
  if (mr == MACH_SEND_INVALID_DEST) return;  // the pager's port is dead: its notification says so
  if (mr == MACH_SEND_TIMED_OUT) {
    if (!s.reported_queue_full)
      s.findings.violation(Party::kPager, "pager-not-receiving",
                           std::string(call) + " could not be delivered within the timeout: the pager's object "
                                               "port queue is full, the pager is not receiving");
    s.reported_queue_full = true;
    return;
  }
  s.findings.note(Party::kPager, "forward-failed",
                  std::string(call) + " could not be sent to the pager: " + mach_error_string(mr));
}

void complete(ProxyState& s, mach_port_t port, const Completion& c, bool answered) {
  if (c.kind == Completion::Kind::kLock && c.epoch == s.inits && s.epoch.live())
    s.checker.lock_completed(c.offset, c.length, c.flush, answered);
  s.completions.erase(port);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  if (c.ticket) {
    s.kit_results[c.ticket] = answered ? Proxy::LockResult::kDone : Proxy::LockResult::kRefused;
    s.cv.notify_all();
  }
  if (!answered && MACH_PORT_VALID(c.reply)) {
    // As machd would have: the pager's reply right goes unanswered.
    mach_port_deallocate(mach_task_self(), c.reply);
  }
}

// ---- Proxy ---------------------------------------------------------------------------

Proxy::Proxy(Findings& findings, ContentModel& model, ProtocolChecker& checker, uint64_t timeout_ns)
    : state_(new ProxyState(findings, model, checker, timeout_ns)) {}

Proxy::~Proxy() {
  stop();
  delete state_;
}

std::mutex& Proxy::mutex() { return state_->mu; }
ProtocolChecker& Proxy::checker() { return state_->checker; }
ContentModel& Proxy::model() { return state_->model; }

void Proxy::set_trace(FILE* out) {
  state_->trace = out;
  state_->trace_start = now_ns();
}

kern_return_t Proxy::start(const std::string& service, mach_port_t pager_object) {
  ProxyState& s = *state_;
  s.pager = pager_object;
  kern_return_t kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_PORT_SET, &s.set);
  if (kr != KERN_SUCCESS) return kr;
  s.notify = new_receive_right(s.set);
  s.wake = new_receive_right(s.set);
  if (!MACH_PORT_VALID(s.notify) || !MACH_PORT_VALID(s.wake)) return KERN_RESOURCE_SHORTAGE;
  kr = bootstrap_check_in(bootstrap_port, service.c_str(), &s.object);
  if (kr != KERN_SUCCESS) return kr;
  kr = mach_port_move_member(mach_task_self(), s.object, s.set);
  if (kr != KERN_SUCCESS) return kr;
  // machd sends the kernel's messages without waiting: to a full queue they
  // are lost. The kit's queue takes a clean's returns of a whole window;
  // the kit passes them on to the pager as fast as the pager receives.
  mach_port_limits_t limits{MACH_PORT_QLIMIT_MAX};
  kr = mach_port_set_attributes(mach_task_self(), s.object, MACH_PORT_LIMITS_INFO,
                                reinterpret_cast<mach_port_info_t>(&limits), MACH_PORT_LIMITS_INFO_COUNT);
  if (kr != KERN_SUCCESS) return kr;
  mach_port_t previous = MACH_PORT_NULL;
  kr = mach_port_request_notification(mach_task_self(), s.pager, MACH_NOTIFY_DEAD_NAME, 0, s.notify,
                                      MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous);
  if (kr != KERN_SUCCESS) return kr;
  g_served = state_;
  s.serving = true;
  thread_ = std::thread([this] { run(); });
  return KERN_SUCCESS;
}

void Proxy::run() {
  ProxyState& s = *state_;
  auto* buf = new Buffer;
  for (;;) {
    {
      std::unique_lock<std::mutex> g(s.mu);
      if (s.stopping) break;
      if (s.fork_wanted) {  // the kit forks (fork_quiet): wait here, in no allocator
        s.paused = true;
        s.cv.notify_all();
        s.cv.wait(g, [&] { return !s.fork_wanted || s.stopping; });
        s.paused = false;
      }
    }
    mach_msg_return_t mr =
        mach_msg(&buf->head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof *buf, s.set, kTickMs, MACH_PORT_NULL);
    std::lock_guard<std::mutex> g(s.mu);
    if (s.stopping) break;
    if (mr == MACH_MSG_SUCCESS) {
      dispatch(s, &buf->head);
    } else if (mr == MACH_RCV_TOO_LARGE) {
      s.findings.violation(Party::kPager, "message-too-large",
                           "a message larger than " + std::to_string(kBufferSize) + " bytes reached the kit");
    } else if (mr != MACH_RCV_TIMED_OUT) {
      s.findings.note(Party::kKernel, "receive-failed",
                      std::string("the kit's receive failed: ") + mach_error_string(mr));
      break;
    }
    make_kit_locks(s);
    s.checker.tick(now_ns());
  }
  delete buf;
  std::lock_guard<std::mutex> g(s.mu);
  s.serving = false;
  s.cv.notify_all();
}

pid_t Proxy::fork_quiet() {
  ProxyState& s = *state_;
  std::unique_lock<std::mutex> g(s.mu);
  if (s.serving && !s.stopping) {
    s.fork_wanted = true;
    send_wake(s.wake);
    s.cv.wait(g, [&] { return s.paused || !s.serving || s.stopping; });
  }
  const pid_t pid = fork();
  if (pid != 0) {
    s.fork_wanted = false;
    s.cv.notify_all();
  }
  return pid;
}

void Proxy::stop() {
  ProxyState& s = *state_;
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> g(s.mu);
    s.stopping = true;
  }
  send_wake(s.wake);
  thread_.join();
  std::lock_guard<std::mutex> g(s.mu);
  for (auto& [port, c] : s.completions) {
    mach_port_t p = port;
    drop_receive(p);
    mach_port_t r = c.reply;
    drop_send(r);
  }
  s.completions.clear();
  drop_send(s.epoch.kernel_control);
  drop_send(s.epoch.kernel_name);
  drop_receive(s.epoch.control);
  drop_receive(s.epoch.name);
  drop_receive(s.object);
  drop_send(s.pager);
  drop_receive(s.notify);
  drop_receive(s.wake);
  if (MACH_PORT_VALID(s.set)) mach_port_destroy(mach_task_self(), s.set);
  s.set = MACH_PORT_NULL;
  g_served = nullptr;
}

Proxy::LockResult Proxy::kernel_lock(uint64_t offset, uint64_t length, memory_object_return_t should_return,
                                     bool flush, int timeout_ms) {
  ProxyState& s = *state_;
  std::unique_lock<std::mutex> g(s.mu);
  const uint64_t ticket = s.next_ticket++;
  s.kit_locks.push_back(KitLock{offset, length, should_return, flush, ticket});
  send_wake(s.wake);
  const bool ended = s.cv.wait_for(g, std::chrono::milliseconds(timeout_ms), [&] {
    return s.kit_results.count(ticket) != 0;
  });
  if (!ended) return LockResult::kTimedOut;
  const LockResult r = s.kit_results[ticket];
  s.kit_results.erase(ticket);
  return r;
}

std::vector<Returned> Proxy::take_returns() {
  std::lock_guard<std::mutex> g(state_->mu);
  std::vector<Returned> r;
  r.swap(state_->returns);
  return r;
}

void Proxy::hold_next_answer() {
  std::lock_guard<std::mutex> g(state_->mu);
  state_->hold_armed = true;
  state_->held = false;
}

bool Proxy::wait_held(int timeout_ms) {
  std::unique_lock<std::mutex> g(state_->mu);
  return state_->cv.wait_for(g, std::chrono::milliseconds(timeout_ms), [&] { return state_->held; });
}

void Proxy::expect_pager_death() {
  std::lock_guard<std::mutex> g(state_->mu);
  state_->death_expected = true;
}

bool Proxy::pager_dead() const {
  std::lock_guard<std::mutex> g(state_->mu);
  return state_->pager_dead;
}

bool Proxy::wait_pager_dead(int timeout_ms) {
  std::unique_lock<std::mutex> g(state_->mu);
  return state_->cv.wait_for(g, std::chrono::milliseconds(timeout_ms), [&] { return state_->pager_dead; });
}

bool Proxy::wait_terminates(uint64_t count, int timeout_ms) {
  std::unique_lock<std::mutex> g(state_->mu);
  return state_->cv.wait_for(g, std::chrono::milliseconds(timeout_ms), [&] { return state_->terminates >= count; });
}

}  // namespace pagerkit
