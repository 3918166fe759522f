// libmach-compat/src/connection.cc — see connection.h.
#include "connection.h"
#include "native_syscall.h"
#include "userfaultfd.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>

#include "agent.h"
#include "fast_lanes.h"
#include "machd/machd_liveness.h"
#include "machd_fds.h"
#include "machd_socket_path.h"
#include "object_fork.h"
#include "unreachable.h"

namespace machcompat {

void republish();  // init.cc

namespace {

template <typename T>
std::atomic_ref<T> atomic(T& v) { return std::atomic_ref<T>(v); }

struct Connection {
  int sock = -1;
  pid_t machd_pid = 0;  // from the socket's peer credentials (SO_PEERCRED)
  int doorbell = -1;
  uint8_t* region = nullptr;
  machd_region_header* hdr = nullptr;
  // machd's liveness page (read-only; machd_abi.h), or null if machd sent none.
  const uint32_t* liveness = nullptr;
  uint32_t task_self = 0;
  uint32_t bootstrap = 0;
  bool managed_memory = false;  // MACHD_WELCOME_MANAGED_MEMORY
  bool up = false;
  bool broken = false;  // machd went away
};

Connection g_conn;
std::mutex g_connect_mu;
std::atomic<uint64_t> g_generation{1};
std::atomic<uint64_t> g_used[MACHD_MAX_CHANNELS / 64];
std::atomic<uint32_t> g_free_seq{0};  // futex word: bumped when a channel frees
pthread_key_t g_key;
pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
int64_t g_spin_ns = -1;

std::mutex g_inbox_mu;
std::unordered_map<uint64_t, int> g_inbox;

// machd_death_fd's pipe: it hands out copies of the read end; the write end
// is closed when this task finds machd gone, so every copy reads EOF. The
// notice takes no lock (a call failing in a signal handler makes it); the
// mutex only keeps two machd_death_fd calls from making two pipes.
std::mutex g_death_mu;
int g_death_read = -1;
std::atomic<int> g_death_write{-1};
std::atomic<bool> g_death_noticed{false};

// Closes the death pipe's write end, once.
void close_death_write() {
  const int fd = g_death_write.exchange(-1);
  if (fd >= 0) close(fd);
}

// futex_waitv (Linux 5.16): false once it answered ENOSYS (an older kernel,
// or a system-call filter), then sleeps fall back to FUTEX_WAIT alone.
std::atomic<bool> g_waitv_works{true};

// One waiter of futex_waitv (the kernel's struct futex_waitv, spelt out so
// older headers build).
struct FutexWaiter {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
constexpr uint32_t kFutexSize32 = 2;  // FUTEX_32; no FUTEX_PRIVATE_FLAG: shared across processes
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

struct ThreadChannel {
  uint64_t generation = 0;
  int index = -1;
};
thread_local ThreadChannel t_channel;
thread_local int t_calls = 0;  // CallBuilders alive on this thread (>1: a signal handler's)
thread_local pid_t t_tid = 0;  // gettid(), cached (reset in a forked child)

pid_t my_tid() {
  if (t_tid == 0) t_tid = pid_t(mach_emulation_native(SYS_gettid, 0, 0, 0, 0, 0, 0));
  return t_tid;
}

// Through the native gate: never redirected (native_syscall.h).
void futex_wait(uint32_t* word, uint32_t expected, const timespec* timeout, bool shared) {
  mach_emulation_native(SYS_futex, long(word), shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, long(expected), long(timeout),
                        0, 0);
}
void futex_wake_all(uint32_t* word) {
  mach_emulation_native(SYS_futex, long(word), FUTEX_WAKE_PRIVATE, INT32_MAX, 0, 0, 0);
}

// machd's process has ended (the kernel marked its robust futex; a plain
// load). False when machd sent no liveness page.
bool machd_died() {
  return g_conn.liveness != nullptr &&
         (std::atomic_ref<const uint32_t>(*g_conn.liveness).load(std::memory_order_acquire) & FUTEX_OWNER_DIED) != 0;
}

machd_channel* channel_at(int i) {
  return reinterpret_cast<machd_channel*>(g_conn.region + MACHD_CHANNELS_OFFSET +
                                          uint64_t(i) * MACHD_CHANNEL_SIZE);
}

void release_channel(int i) {
  g_used[i / 64].fetch_and(~(uint64_t(1) << (i % 64)), std::memory_order_release);
  g_free_seq.fetch_add(1, std::memory_order_release);
  futex_wake_all(reinterpret_cast<uint32_t*>(&g_free_seq));
}

void thread_exit(void* p) {
  auto* tc = static_cast<ThreadChannel*>(p);
  if (tc->index >= 0 && tc->generation == g_generation.load()) release_channel(tc->index);
  tc->index = -1;
}

void make_key() { pthread_key_create(&g_key, thread_exit); }

int acquire_channel() {
  for (;;) {
    uint32_t seq = g_free_seq.load(std::memory_order_acquire);
    for (uint32_t w = 0; w < MACHD_MAX_CHANNELS / 64; ++w) {
      uint64_t used = g_used[w].load(std::memory_order_relaxed);
      while (~used != 0) {
        int b = __builtin_ctzll(~used);
        if (g_used[w].compare_exchange_weak(used, used | (uint64_t(1) << b), std::memory_order_acquire))
          return int(w * 64 + uint32_t(b));
      }
    }
    // Every channel is in use by a thread in a call: wait for one to free
    // (none will once machd is gone: those calls fail and keep theirs).
    if (g_conn.broken || machd_died()) return -1;
    timespec ts{0, 10 * 1000 * 1000};
    futex_wait(reinterpret_cast<uint32_t*>(&g_free_seq), seq, &ts, false);
  }
}

// How long a caller spins for its reply before sleeping (MACH_COMPAT_SPIN_US,
// default 0). Spinning only helps when machd runs on another CPU meanwhile;
// on one CPU, or a loaded machine, it takes the CPU machd needs.
int64_t spin_ns() {
  if (g_spin_ns >= 0) return g_spin_ns;
  int64_t ns = 0;
  cpu_set_t set;
  const char* e = getenv("MACH_COMPAT_SPIN_US");
  if (e && sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 1) ns = int64_t(atoll(e)) * 1000;
  g_spin_ns = ns < 0 ? 0 : ns;
  return g_spin_ns;
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// The question asked before the hello, and how it went.
struct DeviceAsk {
  int sock;
  bool broken = false;  // machd refused us or went: no hello follows
  int32_t refused = 0;  // MACHD_SOCK_REFUSED's error
};

// Asks machd, before the hello, for its /dev/userfaultfd (machd_abi.h,
// MACHD_SOCK_UFFD_DEVICE; `ctx` is a DeviceAsk): the device, or -1 when
// machd does not lend it.
int borrow_uffd_device(void* ctx) {
  DeviceAsk& a = *static_cast<DeviceAsk*>(ctx);
  machd_hello ask{MACHD_SOCK_UFFD_DEVICE, MACHD_ABI_MAGIC, MACHD_ABI_VERSION, 0, 0};
  if (machd_send_fds(a.sock, &ask, sizeof ask, nullptr, 0, 0) != ssize_t(sizeof ask)) {
    a.broken = true;
    return -1;
  }
  machd_welcome w{};
  int got[MACHD_MAX_FDS_PER_MSG];
  size_t ngot = 0;
  const ssize_t n = machd_recv_fds(a.sock, &w, sizeof w, got, &ngot, 0, nullptr);
  const bool lent = n == ssize_t(sizeof w) && w.kind == MACHD_SOCK_UFFD_DEVICE && w.error == 0 && ngot == 1;
  if (!lent)
    for (size_t i = 0; i < ngot; ++i) close(got[i]);
  if (n != ssize_t(sizeof w) || w.kind != MACHD_SOCK_UFFD_DEVICE) {
    a.broken = true;
    if (n == ssize_t(sizeof w) && w.kind == MACHD_SOCK_REFUSED) a.refused = w.error != 0 ? w.error : KERN_FAILURE;
  }
  return lent ? got[0] : -1;
}

// False if the handshake failed; then `refused` is machd's kern_return_t if
// it answered MACHD_SOCK_REFUSED, else 0.
bool handshake(int sock, Connection& c, int32_t& refused) {
  refused = 0;
  machd_hello hello{MACHD_SOCK_HELLO, MACHD_ABI_MAGIC, MACHD_ABI_VERSION,
                    fast_lanes_enabled() ? MACHD_HELLO_FAST_LANES : 0u, 0};
  // Our userfaultfd goes to machd (our faults on memory objects reach their
  // pagers through it); we keep no copy, so machd's going releases it.
  DeviceAsk asked{sock};
  TaskUserfaultfd uffd = make_task_userfaultfd(borrow_uffd_device, &asked);
  if (asked.broken) {  // machd refused us, or went, when we asked for the device
    if (uffd.fd >= 0) close(uffd.fd);
    refused = asked.refused;
    return false;
  }
  if (uffd.fd >= 0) {
    hello.flags |= MACHD_HELLO_UFFD | (uffd.user_mode_only ? MACHD_HELLO_UFFD_USER_ONLY : 0u);
    hello.uffd_features = uffd.features;
  }
  const ssize_t sent = machd_send_fds(sock, &hello, sizeof hello, &uffd.fd, uffd.fd >= 0 ? 1 : 0, 0);
  if (uffd.fd >= 0) close(uffd.fd);
  if (sent != ssize_t(sizeof hello)) return false;
  machd_welcome w{};
  int got[MACHD_MAX_FDS_PER_MSG];
  size_t ngot = 0;
  ssize_t n = machd_recv_fds(sock, &w, sizeof w, got, &ngot, 0, nullptr);
  int fds[3] = {-1, -1, -1};
  if (ngot == 2 || ngot == 3) {
    for (size_t i = 0; i < ngot; ++i) fds[i] = got[i];
  } else {
    for (size_t i = 0; i < ngot; ++i) close(got[i]);
  }
  auto fail = [&] {
    for (int fd : fds)
      if (fd >= 0) close(fd);
    return false;
  };
  if (n == ssize_t(sizeof w) && w.kind == MACHD_SOCK_REFUSED) {
    refused = w.error != 0 ? w.error : KERN_FAILURE;
    return fail();
  }
  if (n != ssize_t(sizeof w) || w.kind != MACHD_SOCK_WELCOME || w.version != MACHD_ABI_VERSION ||
      w.region_size != MACHD_REGION_SIZE || w.nchannels != MACHD_MAX_CHANNELS ||
      w.channel_size != MACHD_CHANNEL_SIZE || fds[0] < 0 || fds[1] < 0)
    return fail();
  void* p = mmap(nullptr, MACHD_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
  if (p == MAP_FAILED) return fail();
  close(fds[0]);
  fds[0] = -1;
  if (fds[2] >= 0) {
    void* l = mmap(nullptr, size_t(sysconf(_SC_PAGESIZE)), PROT_READ, MAP_SHARED, fds[2], 0);
    if (l != MAP_FAILED) c.liveness = static_cast<const uint32_t*>(l) + MACHD_LIVENESS_WORD_OFFSET / 4;
    close(fds[2]);
  }
  c.region = static_cast<uint8_t*>(p);
  c.hdr = reinterpret_cast<machd_region_header*>(p);
  c.doorbell = fds[1];
  c.task_self = w.task_self;
  c.bootstrap = w.bootstrap_port;
  c.managed_memory = (w.flags & MACHD_WELCOME_MANAGED_MEMORY) != 0;
  return true;
}

void drop_connection() {
  if (g_conn.region) munmap(g_conn.region, MACHD_REGION_SIZE);
  if (g_conn.liveness)
    munmap(const_cast<uint32_t*>(g_conn.liveness - MACHD_LIVENESS_WORD_OFFSET / 4), size_t(sysconf(_SC_PAGESIZE)));
  if (g_conn.sock >= 0) close(g_conn.sock);
  if (g_conn.doorbell >= 0) close(g_conn.doorbell);
  g_conn = Connection{};
  for (auto& w : g_used) w.store(0);
  std::lock_guard<std::mutex> lk(g_inbox_mu);
  for (auto& [tag, fd] : g_inbox) close(fd);
  g_inbox.clear();
}

bool ensure_connected() {
  if (g_conn.up) return !g_conn.broken;
  connect_now();
  if (g_conn.up) republish();  // mach_task_self_ and bootstrap_port
  return g_conn.up && !g_conn.broken;
}

// Wakes every thread, in every task, asleep on machd's liveness word (the
// kernel wakes only one when machd dies; see sleep_on_region_word).
void wake_liveness_sleepers() {
  if (g_conn.liveness != nullptr)
    mach_emulation_native(SYS_futex, long(g_conn.liveness), FUTEX_WAKE, INT32_MAX, 0, 0, 0);
}

bool machd_alive() {
  if (atomic(g_conn.hdr->flags).load(std::memory_order_acquire) & MACHD_FLAG_SHUTDOWN) return false;
  return !machd_ended();
}

// machd reads and writes this task's memory (vm_read, vm_write, ... from
// other tasks) with process_vm_readv/writev; under YAMA's ptrace_scope 1
// only a declared ptracer may, so name machd (it never attaches). Harmless
// (EINVAL) without YAMA.
void allow_machd_to_access_memory(int sock) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) {
    g_conn.machd_pid = cred.pid;
    prctl(PR_SET_PTRACER, static_cast<unsigned long>(cred.pid), 0, 0, 0);
  }
}

}  // namespace

const uint32_t* machd_liveness_word() { return g_conn.liveness; }

void allow_machd_to_read_this_process() {
  if (g_conn.machd_pid > 0) mach_emulation_native(SYS_prctl, PR_SET_PTRACER, long(g_conn.machd_pid), 0, 0, 0, 0);
}

void connect_now(bool report_failure) {
  std::lock_guard<std::mutex> lk(g_connect_mu);
  if (g_conn.up) return;
  pthread_once(&g_key_once, make_key);
  char path[sizeof(sockaddr_un{}.sun_path)];
  UnreachableReport report;
  report.path = path;
  if (machd_socket_path_from(path, sizeof path, &report.source) != 0) {
    path[0] = '\0';
    report.why = Unreachable::kNoPath;
    if (report_failure) report_unreachable(report);
    return;
  }
  char dir[sizeof path], why[512];
  struct stat st;
  // The shared /tmp fallback: only a directory of our own (machd_socket_path.h);
  // a missing one is reported as connect()'s ENOENT below.
  if (report.source == MACHD_SOCKET_FALLBACK && machd_socket_dir(path, dir, sizeof dir) == 0 &&
      lstat(dir, &st) == 0 && machd_private_dir_check(dir, 0, why, sizeof why) != 0) {
    report.why = Unreachable::kDirNotOurs;
    report.detail = why;
    if (report_failure) report_unreachable(report);
    return;
  }
  int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, strlen(path) + 1);
  timeval tv{5, 0};  // a machd that accepts but never answers must not hang us
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  Connection c;
  if (connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    report.why = Unreachable::kConnect;
    report.error = errno;
    close(sock);
    if (report_failure) report_unreachable(report);
    return;
  }
  int32_t refused = 0;
  if (!handshake(sock, c, refused)) {
    report.why = refused != 0 ? Unreachable::kRefused : Unreachable::kNoWelcome;
    report.error = refused != 0 ? refused : errno;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) report.machd_uid = cred.uid;
    close(sock);
    if (report_failure) report_unreachable(report);
    return;
  }
  c.sock = sock;
  c.up = true;
  g_conn = c;
  allow_machd_to_access_memory(sock);
  start_agent();  // machd's hands in this process (agent.h)
}

machd_fast_header* fast_header() {
  if (!ensure_connected()) return nullptr;
  if (atomic(g_conn.hdr->flags).load(std::memory_order_acquire) & MACHD_FLAG_SHUTDOWN) return nullptr;
  // machd died (killed, say): no fast-lane send may look as if it went; the
  // slow path says what happened.
  if (machd_died()) return nullptr;
  return reinterpret_cast<machd_fast_header*>(g_conn.region + MACHD_FAST_OFFSET);
}

uint8_t* region_base() { return g_conn.region; }

void kick_machd() {
  if (atomic(g_conn.hdr->flags).load(std::memory_order_seq_cst) & MACHD_FLAG_NEED_WAKEUP) {
    uint64_t one = 1;
    (void)!write(g_conn.doorbell, &one, sizeof one);
  }
}

bool machd_ended() {
  if (machd_died()) return true;
  pollfd p{g_conn.sock, POLLRDHUP, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

void note_machd_gone() {
  g_conn.broken = true;
  wake_liveness_sleepers();
  g_death_noticed.store(true);
  close_death_write();  // (machd_death_fd closes it if it made the pipe meanwhile)
}

Woke sleep_on_region_word(uint32_t* word, uint32_t expected, int64_t timeout_ns) {
  const uint32_t* live = g_conn.liveness;
  const uint32_t seen = live ? std::atomic_ref<const uint32_t>(*live).load(std::memory_order_acquire) : 0;
  if (seen & FUTEX_OWNER_DIED) {
    wake_liveness_sleepers();
    return Woke::kMachdDied;
  }
  const bool forever = timeout_ns < 0;
  int64_t r = -ENOSYS;
  if (live != nullptr && g_waitv_works.load(std::memory_order_relaxed)) {
    // Both words at once: machd's answer, or machd's death (the kernel
    // wakes one sleeper on the liveness word as machd's process ends: the
    // word carries FUTEX_WAITERS for that, liveness.h).
    timespec until{};
    if (!forever) {
      clock_gettime(CLOCK_MONOTONIC, &until);
      until.tv_sec += time_t(timeout_ns / 1000000000);
      until.tv_nsec += long(timeout_ns % 1000000000);
      if (until.tv_nsec >= 1000000000) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000;
      }
    }
    FutexWaiter w[2] = {{expected, uint64_t(uintptr_t(word)), kFutexSize32, 0},
                        {seen, uint64_t(uintptr_t(live)), kFutexSize32, 0}};
    r = mach_emulation_native(SYS_futex_waitv, long(w), 2, 0, forever ? 0 : long(&until), CLOCK_MONOTONIC, 0);
    if (r == -ENOSYS) g_waitv_works.store(false, std::memory_order_relaxed);
  }
  if (r == -ENOSYS) {
    const int64_t step = forever ? 1000 * 1000 * 1000 : timeout_ns;
    timespec rel{time_t(step / 1000000000), long(step % 1000000000)};
    r = mach_emulation_native(SYS_futex, long(word), FUTEX_WAIT, long(expected), long(&rel), 0, 0);
    if (forever && r == -ETIMEDOUT) return machd_ended() ? Woke::kMachdDied : Woke::kChanged;
  }
  if (machd_died()) {
    wake_liveness_sleepers();  // the kernel woke only one of us
    return Woke::kMachdDied;
  }
  if (r == -EINTR) return Woke::kInterrupted;
  return r == -ETIMEDOUT ? Woke::kTimedOut : Woke::kChanged;
}

uint32_t task_self_name() { return g_conn.task_self; }
uint32_t bootstrap_name() { return g_conn.bootstrap; }
bool anonymous_memory_managed() { return g_conn.up && g_conn.managed_memory; }
uint64_t generation() { return g_generation.load(std::memory_order_acquire); }

CallBuilder::CallBuilder(uint32_t op) {
  ++native_depth();  // the call's own system calls are never redirected
  // Counted first: a handler interrupting us from here on sees a call in
  // progress and keeps off the thread's channel.
  nested_ = t_calls++ > 0;
  if (!ensure_connected()) return;
  uint64_t gen = g_generation.load(std::memory_order_acquire);
  gen_ = gen;
  int index;
  if (nested_) {
    index = acquire_channel();
  } else {
    if (t_channel.generation != gen || t_channel.index < 0) {
      t_channel.index = acquire_channel();
      t_channel.generation = gen;
      pthread_setspecific(g_key, &t_channel);
    }
    index = t_channel.index;
  }
  if (index < 0) return;  // machd went while every channel was busy
  index_ = uint32_t(index);
  ch_ = channel_at(index);
  ch_->op = op;
  ch_->data_len = 0;
  ch_->tid = my_tid();
}

CallBuilder::~CallBuilder() {
  if (nested_ && ch_ != nullptr && gen_ == g_generation.load(std::memory_order_acquire))
    release_channel(int(index_));
  --t_calls;
  --native_depth();
}

uint64_t* CallBuilder::args() { return ch_->args; }
uint8_t* CallBuilder::data() { return reinterpret_cast<uint8_t*>(ch_ + 1); }
void CallBuilder::set_data_len(uint32_t n) { ch_->data_len = n; }

CallResult CallBuilder::submit(std::span<const int> fds) {
  CallResult r;
  if (ch_ == nullptr) {
    r.machd_gone = true;
    return r;
  }
  atomic(ch_->state).store(MACHD_CH_REQ, std::memory_order_release);
  if (fds.empty()) {
    atomic(g_conn.hdr->pending[index_ / 64]).fetch_or(uint64_t(1) << (index_ % 64), std::memory_order_acq_rel);
    kick_machd();
  } else {
    machd_sock_request sr{MACHD_SOCK_REQUEST, index_, uint32_t(fds.size()), 0};
    ssize_t n = machd_send_fds(g_conn.sock, &sr, sizeof sr, fds.data(), fds.size(), 0);
    if (n != ssize_t(sizeof sr)) {
      atomic(ch_->state).store(MACHD_CH_IDLE, std::memory_order_relaxed);
      note_machd_gone();
      r.machd_gone = true;
      return r;
    }
  }
  // Wait for DONE: spin briefly when another CPU can run machd, then sleep.
  uint32_t* state = &ch_->state;
  if (int64_t spin = spin_ns(); spin > 0) {
    uint64_t until = now_ns() + uint64_t(spin);
    for (unsigned i = 1; atomic(*state).load(std::memory_order_acquire) != MACHD_CH_DONE; ++i) {
      __builtin_ia32_pause();
      if ((i & 63) == 0 && now_ns() >= until) break;
    }
  }
  for (;;) {
    uint32_t s = atomic(*state).load(std::memory_order_acquire);
    if (s == MACHD_CH_DONE) break;
    if (s == MACHD_CH_REQ) {
      if (!atomic(*state).compare_exchange_strong(s, MACHD_CH_SLEEP, std::memory_order_acq_rel)) continue;
    }
    // Woken by machd's answer, or at once by machd's death; the periodic
    // check covers a machd without a liveness page, or a kernel without
    // futex_waitv, and a machd shutting down.
    (void)sleep_on_region_word(state, MACHD_CH_SLEEP, 1000 * 1000 * 1000);
    if (atomic(*state).load(std::memory_order_acquire) != MACHD_CH_DONE && !machd_alive()) {
      note_machd_gone();
      r.machd_gone = true;
      return r;  // the channel stays unusable; the connection is broken anyway
    }
  }
  r.result = ch_->result;
  for (uint32_t i = 0; i < MACHD_CH_RETS; ++i) r.rets[i] = ch_->rets[i];
  uint32_t len = ch_->data_len;
  if (len > MACHD_CHANNEL_DATA_SIZE) len = MACHD_CHANNEL_DATA_SIZE;
  r.data = std::span<const uint8_t>(data(), len);
  atomic(*state).store(MACHD_CH_IDLE, std::memory_order_relaxed);
  return r;
}

CallResult call(uint32_t op, std::initializer_list<uint64_t> args, std::span<const uint8_t> data) {
  CallBuilder b(op);
  if (!b.ok()) {
    CallResult r;
    r.machd_gone = true;
    return r;
  }
  size_t i = 0;
  for (uint64_t a : args) {
    if (i < MACHD_CH_ARGS) b.args()[i++] = a;
  }
  for (; i < MACHD_CH_ARGS; ++i) b.args()[i] = 0;
  if (!data.empty()) {
    size_t n = data.size() < MACHD_CHANNEL_DATA_SIZE ? data.size() : MACHD_CHANNEL_DATA_SIZE;
    memcpy(b.data(), data.data(), n);
    b.set_data_len(uint32_t(n));
  }
  return b.submit();
}

int take_fd(uint64_t tag) {
  std::lock_guard<std::mutex> lk(g_inbox_mu);
  for (;;) {
    auto it = g_inbox.find(tag);
    if (it != g_inbox.end()) {
      int fd = it->second;
      g_inbox.erase(it);
      return fd;
    }
    if (g_conn.sock < 0) return -1;
    machd_sock_fds hdr{};
    int got[MACHD_MAX_FDS_PER_MSG];
    size_t ngot = 0;
    ssize_t n = machd_recv_fds(g_conn.sock, &hdr, sizeof hdr, got, &ngot, 0, nullptr);
    std::vector<int> fds(got, got + ngot);
    if (n <= 0) {
      for (int fd : fds) close(fd);
      return -1;
    }
    if (n != ssize_t(sizeof hdr) || hdr.kind != MACHD_SOCK_FDS) {
      for (int fd : fds) close(fd);
      continue;
    }
    for (size_t i = 0; i < fds.size(); ++i) g_inbox[hdr.first_tag + i] = fds[i];
  }
}

// fork(): the child is a new task. It keeps no right of the parent's and
// reconnects (its special ports are new names of the same kind).
void after_fork_child() {
  // Locks held by other threads of the parent at fork time stay held in the
  // child: start from fresh ones (only this thread exists now).
  new (&g_connect_mu) std::mutex;
  new (&g_inbox_mu) std::mutex;
  new (&g_death_mu) std::mutex;
  // The parent's death notice is the parent's: our copy of its write end
  // would keep its readers from ever seeing EOF.
  close_death_write();
  if (g_death_read >= 0) close(g_death_read);
  g_death_read = -1;
  g_death_noticed.store(false);
  drop_connection();
  g_generation.fetch_add(1, std::memory_order_acq_rel);
  t_channel = ThreadChannel{};
  t_tid = 0;
  connect_now(false);  // the child's first Mach call says why, if it fails
  // The parent's object mappings, as their inheritance says.
  objects_after_fork_child();
}

}  // namespace machcompat

extern "C" int machd_death_fd(void) {
  using namespace machcompat;
  NativeScope native;
  (void)ensure_connected();
  std::lock_guard<std::mutex> lk(g_death_mu);
  if (!g_conn.up) {
    errno = ENOTCONN;
    return -1;
  }
  if (g_death_read < 0) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    g_death_read = p[0];
    g_death_write.store(p[1]);
    if (g_death_noticed.load()) close_death_write();  // noticed before the pipe was there
  }
  return fcntl(g_death_read, F_DUPFD_CLOEXEC, 0);
}
