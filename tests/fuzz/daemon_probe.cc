// tests/fuzz/daemon_probe.cc — see daemon_probe.h.
#include "daemon_probe.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "machd_fds.h"

namespace machd {

namespace {

// The helper: for each byte on `ctl`, a socket pair made here (so its peer
// credentials are this process's), both ends sent back. Only system calls:
// it runs in the child of a multithreaded process.
[[noreturn]] void helper_main(int ctl) {
  for (;;) {
    char c;
    if (read(ctl, &c, 1) != 1) _exit(0);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) _exit(1);
    if (machd_send_fds(ctl, "p", 1, sv, 2, 0) != 1) _exit(1);
    close(sv[0]);
    close(sv[1]);
  }
}

machd_channel* channel_at(uint8_t* region, uint32_t ch) {
  return reinterpret_cast<machd_channel*>(region + MACHD_CHANNELS_OFFSET + uint64_t(ch) * MACHD_CHANNEL_SIZE);
}

bool same(const ipc::Stats& a, const ipc::Stats& b) {
  return a.tasks == b.tasks && a.ports == b.ports && a.port_sets == b.port_sets && a.entries == b.entries &&
         a.messages == b.messages && a.ool_payloads == b.ool_payloads && a.waiters == b.waiters &&
         a.credits == b.credits && a.lanes == b.lanes && a.vouchers == b.vouchers &&
         a.voucher_values == b.voucher_values;
}

void print_stats(const char* what, const ipc::Stats& s) {
  std::fprintf(stderr,
               "%s: tasks %llu ports %llu sets %llu names %llu messages %llu payloads %llu waiters %llu "
               "credits %llu lanes %llu vouchers %llu values %llu\n",
               what, (unsigned long long)s.tasks, (unsigned long long)s.ports, (unsigned long long)s.port_sets,
               (unsigned long long)s.entries, (unsigned long long)s.messages, (unsigned long long)s.ool_payloads,
               (unsigned long long)s.waiters, (unsigned long long)s.credits, (unsigned long long)s.lanes,
               (unsigned long long)s.vouchers, (unsigned long long)s.voucher_values);
}

// The names machd's own space holds, one per line: what a leak kept.
void print_kernel_names(const ipc::Kernel& k) {
  std::vector<ipc::NameDetail> names;
  if (k.space_names(k.kernel_task(), &names) != KERN_SUCCESS) return;
  for (const ipc::NameDetail& n : names)
    std::fprintf(stderr, "  kernel name %#x type %#x urefs %u kobject %u/%llu receiver %llu\n", n.name, n.type,
                 n.urefs, n.kobject.type, (unsigned long long)n.kobject.id, (unsigned long long)n.receiver);
}

}  // namespace

DaemonProbe::DaemonProbe() {
  signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::off);
  start_helper();  // before the Daemon's threads exist
  daemon_ = std::make_unique<Daemon>(Options{});
}

DaemonProbe::~DaemonProbe() {
  if (session_) disconnect();
  daemon_.reset();
  stop_helper();
}

bool DaemonProbe::start_helper() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return false;
  pid_t pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    return false;
  }
  if (pid == 0) {
    close(sv[0]);
    helper_main(sv[1]);
  }
  close(sv[1]);
  helper_pid_ = pid;
  helper_ctl_ = sv[0];
  return true;
}

void DaemonProbe::stop_helper() {
  if (helper_ctl_ >= 0) close(helper_ctl_);
  helper_ctl_ = -1;
  if (helper_pid_ > 0) {
    kill(helper_pid_, SIGKILL);
    waitpid(helper_pid_, nullptr, 0);
  }
  helper_pid_ = -1;
}

bool DaemonProbe::connect(bool fast_lanes) {
  if (session_) disconnect();
  // A helper machd killed (task_terminate) or stopped is replaced.
  int sv[2] = {-1, -1};
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (helper_pid_ < 0 && !start_helper()) return false;
    char buf;
    size_t n = 2;
    pollfd p{helper_ctl_, POLLIN, 0};
    if (send(helper_ctl_, "c", 1, MSG_NOSIGNAL) == 1 && poll(&p, 1, 2000) == 1 &&
        machd_recv_fds(helper_ctl_, &buf, 1, sv, &n, 0, nullptr) == 1 && n == 2)
      break;
    for (size_t i = 0; i < 2; ++i)
      if (sv[i] >= 0) close(sv[i]);
    sv[0] = sv[1] = -1;
    stop_helper();
  }
  if (sv[0] < 0) return false;
  client_ = sv[0];
  before_ = daemon_->kernel_.stats();
  machd_hello hello{MACHD_SOCK_HELLO, MACHD_ABI_MAGIC, MACHD_ABI_VERSION,
                    fast_lanes ? MACHD_HELLO_FAST_LANES : 0u, 0};
  if (send(client_, &hello, sizeof hello, MSG_NOSIGNAL) != ssize_t(sizeof hello)) {
    close(sv[0]);
    close(sv[1]);
    client_ = -1;
    return false;
  }
  const uint64_t id = daemon_->next_session_;
  daemon_->on_hello(sv[1], false, UINT64_MAX);  // the daemon owns sv[1] from here
  machd_welcome w{};
  int fds[MACHD_MAX_FDS_PER_MSG];
  size_t nfds = 0;
  ssize_t got = machd_recv_fds(client_, &w, sizeof w, fds, &nfds, MSG_DONTWAIT, nullptr);
  for (size_t i = 0; i < nfds; ++i) close(fds[i]);  // the region is reached through the session
  if (got != ssize_t(sizeof w) || w.kind != MACHD_SOCK_WELCOME || daemon_->sessions_.count(id) == 0) {
    close(client_);
    client_ = -1;
    return false;
  }
  session_ = id;
  task_self_ = w.task_self;
  bootstrap_ = w.bootstrap_port;
  uint64_t args[MACHD_CH_ARGS] = {};
  host_ = submit(0, MACHD_OP_HOST_SELF, args, nullptr, 0) ? mach_port_name_t(ret(0, 0)) : MACH_PORT_NULL;
  return true;
}

bool DaemonProbe::disconnect() {
  if (session_) daemon_->terminate(session_, "fuzz probe: hang-up");
  session_ = 0;
  if (client_ >= 0) close(client_);
  client_ = -1;
  flush_wakeups();
  // The task's space is torn down a batch per loop turn (Kernel::reap):
  // the turns the loop would take.
  while (daemon_->kernel_.reaping()) {
    daemon_->kernel_.reap(4096);
    daemon_->drain_completions();
    flush_wakeups();
  }
  // And machd's own work that is due now (kern/timer_queue.h: what a
  // routine left for a later turn, e.g. task_generate_corpse's answer to a
  // task that ended), as its next turns would run it.
  for (int turn = 0; turn < 8; ++turn) {
    const auto next = daemon_->runtime_->timers().next();
    const uint64_t now = monotonic_ns();
    if (!next || *next > now) break;
    daemon_->runtime_->timers().run_expired(now);
    daemon_->drain_completions();
    flush_wakeups();
  }
  const ipc::Stats after = daemon_->kernel_.stats();
  if (same(before_, after)) return true;
  print_stats("before connect", before_);
  print_stats("after disconnect", after);
  print_kernel_names(daemon_->kernel_);
  return false;
}

bool DaemonProbe::connected() const { return session_ != 0 && daemon_->sessions_.count(session_) != 0; }

uint8_t* DaemonProbe::region() const {
  auto it = daemon_->sessions_.find(session_);
  return it == daemon_->sessions_.end() ? nullptr : it->second->region();
}

machd_fast_header* DaemonProbe::fast() const {
  uint8_t* r = region();
  return r ? reinterpret_cast<machd_fast_header*>(r + MACHD_FAST_OFFSET) : nullptr;
}

void DaemonProbe::drain_socket() {
  // What machd sent the task (fds of out-of-line memory) is read and closed,
  // as the client library does, so the socket never fills up.
  for (;;) {
    uint8_t buf[64];
    int fds[MACHD_MAX_FDS_PER_MSG];
    size_t nfds = 0;
    ssize_t n = machd_recv_fds(client_, buf, sizeof buf, fds, &nfds, MSG_DONTWAIT, nullptr);
    for (size_t i = 0; i < nfds; ++i) close(fds[i]);
    if (n <= 0) return;
  }
}

void DaemonProbe::ring() {
  auto it = daemon_->sessions_.find(session_);
  if (it != daemon_->sessions_.end()) daemon_->on_doorbell(*it->second);
  flush_wakeups();
  if (client_ >= 0) drain_socket();
}

bool DaemonProbe::submit(uint32_t ch, uint32_t op, const uint64_t (&args)[MACHD_CH_ARGS], const uint8_t* data,
                         size_t len, const std::vector<int>* fds) {
  uint8_t* r = region();
  if (r == nullptr || ch >= MACHD_MAX_CHANNELS) return false;
  machd_channel* c = channel_at(r, ch);
  if (len > MACHD_CHANNEL_DATA_SIZE) len = MACHD_CHANNEL_DATA_SIZE;
  c->op = op;
  c->data_len = uint32_t(len);
  for (uint32_t i = 0; i < MACHD_CH_ARGS; ++i) c->args[i] = args[i];
  c->tid = helper_pid_;
  if (len) std::memcpy(reinterpret_cast<uint8_t*>(c + 1), data, len);
  std::atomic_ref<uint32_t>(c->state).store(MACHD_CH_REQ, std::memory_order_release);
  if (fds != nullptr) {
    size_t n = std::min<size_t>(fds->size(), MACHD_MAX_FDS_PER_MSG);
    machd_sock_request sr{MACHD_SOCK_REQUEST, ch, uint32_t(n), 0};
    if (machd_send_fds(client_, &sr, sizeof sr, fds->data(), n, MSG_DONTWAIT | MSG_NOSIGNAL) != ssize_t(sizeof sr))
      return false;
    auto it = daemon_->sessions_.find(session_);
    if (it != daemon_->sessions_.end()) daemon_->on_socket(*it->second, POLLIN);
    flush_wakeups();
    drain_socket();
  } else {
    auto* hdr = reinterpret_cast<machd_region_header*>(r);
    std::atomic_ref<uint64_t>(hdr->pending[ch / 64]).fetch_or(uint64_t(1) << (ch % 64), std::memory_order_acq_rel);
    ring();
  }
  r = region();
  return r != nullptr && std::atomic_ref<uint32_t>(channel_at(r, ch)->state).load() == MACHD_CH_DONE;
}

int32_t DaemonProbe::result(uint32_t ch) const {
  uint8_t* r = region();
  return r ? channel_at(r, ch)->result : KERN_FAILURE;
}

uint64_t DaemonProbe::ret(uint32_t ch, uint32_t i) const {
  uint8_t* r = region();
  return r && i < MACHD_CH_RETS ? channel_at(r, ch)->rets[i] : 0;
}

int32_t DaemonProbe::msg(uint32_t ch, const std::vector<uint8_t>& m, mach_port_name_t rcv, uint32_t rcv_size) {
  uint64_t args[MACHD_CH_ARGS] = {};
  args[0] = (m.empty() ? 0 : MACH_SEND_MSG | MACH_SEND_TIMEOUT) |
            (rcv == MACH_PORT_NULL ? 0 : MACH_RCV_MSG | MACH_RCV_TIMEOUT);
  args[1] = m.size();
  args[2] = rcv_size;
  args[3] = rcv;
  args[4] = 0;  // timeout
  if (!submit(ch, MACHD_OP_MSG, args, m.data(), m.size())) return KERN_FAILURE;
  return result(ch);
}

ipc::Kernel& DaemonProbe::kernel() { return daemon_->kernel_; }

void DaemonProbe::expect_no_leak(const std::function<bool()>& one_task) {
  if (one_task() || one_task()) return;
  std::fprintf(stderr, "machd kept objects of a task that is gone (twice in a row)\n");
  std::abort();
}

DaemonProbe& probe() {
  static DaemonProbe* p = new DaemonProbe();  // never destroyed: the fuzzer exits with it
  return *p;
}

}  // namespace machd
