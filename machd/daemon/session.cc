// machd/daemon/session.cc — see session.h.
#include "session.h"

#include "machd_fds.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace machd {

namespace {
template <typename T>
std::atomic_ref<T> atomic(T& v) { return std::atomic_ref<T>(v); }

void futex_wake(uint32_t* word) {
  syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// Channel words whose sleeping thread is owed a wake-up (see flush_wakeups).
std::vector<uint32_t*> g_owed_wakeups;
}  // namespace

void flush_wakeups() {
  for (uint32_t* w : g_owed_wakeups) futex_wake(w);
  g_owed_wakeups.clear();
}

Request::~Request() {
  for (int fd : fds)
    if (fd >= 0) close(fd);
}

Session::Session(uint64_t id, int sock, int pidfd, const ipc::Credentials& creds)
    : id_(id), sock_(sock), pidfd_(pidfd), creds_(creds) {
  region_fd_ = memfd_create("machd-task", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (region_fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  if (ftruncate(region_fd_, off_t(MACHD_REGION_SIZE)) != 0 ||
      fcntl(region_fd_, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    int e = errno;
    close(region_fd_);
    throw std::system_error(e, std::generic_category(), "region size");
  }
  void* p = mmap(nullptr, MACHD_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, region_fd_, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(region_fd_);
    throw std::system_error(e, std::generic_category(), "mmap region");
  }
  region_ = static_cast<uint8_t*>(p);
  hdr_ = reinterpret_cast<machd_region_header*>(region_);
  hdr_->magic = MACHD_ABI_MAGIC;
  hdr_->version = MACHD_ABI_VERSION;
  hdr_->nchannels = MACHD_MAX_CHANNELS;
  hdr_->channel_size = MACHD_CHANNEL_SIZE;
  hdr_->region_size = MACHD_REGION_SIZE;
  atomic(hdr_->flags).store(MACHD_FLAG_NEED_WAKEUP, std::memory_order_release);
  doorbell_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (doorbell_ < 0) {
    int e = errno;
    munmap(region_, MACHD_REGION_SIZE);
    close(region_fd_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
}

Session::~Session() {
  std::erase_if(g_owed_wakeups, [this](uint32_t* w) {
    auto* p = reinterpret_cast<uint8_t*>(w);
    return p >= region_ && p < region_ + MACHD_REGION_SIZE;
  });
  if (region_ != nullptr) munmap(region_, MACHD_REGION_SIZE);
  if (region_fd_ >= 0) close(region_fd_);
  if (doorbell_ >= 0) close(doorbell_);
  if (sock_ >= 0) close(sock_);
  if (pidfd_ >= 0) close(pidfd_);
}

machd_channel* Session::channel(uint32_t i) const {
  return reinterpret_cast<machd_channel*>(region_ + MACHD_CHANNELS_OFFSET +
                                          uint64_t(i) * MACHD_CHANNEL_SIZE);
}

bool Session::copy_out(uint32_t ch, Request& out) {
  machd_channel* c = channel(ch);
  uint32_t st = atomic(c->state).load(std::memory_order_acquire);
  if (st != MACHD_CH_REQ && st != MACHD_CH_SLEEP) return false;  // nothing submitted
  // Read every field exactly once; from here on only the copy is used.
  out.channel = ch;
  out.op = atomic(c->op).load(std::memory_order_relaxed);
  uint32_t len = atomic(c->data_len).load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < MACHD_CH_ARGS; ++i) out.args[i] = atomic(c->args[i]).load(std::memory_order_relaxed);
  if (len > MACHD_CHANNEL_DATA_SIZE) len = MACHD_CHANNEL_DATA_SIZE;  // checked by the dispatcher too
  const uint8_t* data = reinterpret_cast<const uint8_t*>(c + 1);
  out.data.assign(data, data + len);
  return true;
}

void Session::take_announced() {
  for (uint32_t w = 0; w < MACHD_MAX_CHANNELS / 64; ++w)
    owed_[w] |= atomic(hdr_->pending[w]).exchange(0, std::memory_order_acq_rel);
}

bool Session::next_request(Request& out, bool& violation) {
  constexpr uint32_t kWords = MACHD_MAX_CHANNELS / 64;
  if (!owes_requests()) return false;
  // From the channel after the last one served, wrapping around: a thread
  // that submits again at once does not starve the channels after it.
  const uint32_t start = next_channel_;
  for (uint32_t step = 0; step <= kWords; ++step) {
    const uint32_t w = (start / 64 + step) % kWords;
    // The first word from `start` on; the last pass, that word's lower part.
    uint64_t mask = ~0ull;
    if (step == 0) mask = ~0ull << (start % 64);
    else if (step == kWords) mask = (1ull << (start % 64)) - 1;
    while ((owed_[w] & mask) != 0) {
      const uint32_t b = uint32_t(__builtin_ctzll(owed_[w] & mask));
      const uint32_t ch = w * 64 + b;
      owed_[w] &= ~(1ull << b);
      next_channel_ = (ch + 1) % MACHD_MAX_CHANNELS;
      if (busy_[ch]) {  // a second request while one is outstanding
        violation = true;
        continue;
      }
      if (copy_out(ch, out)) return true;
    }
  }
  return false;
}

bool Session::owes_requests() const {
  for (uint64_t w : owed_)
    if (w != 0) return true;
  return false;
}

bool Session::take(uint32_t ch, Request& out) {
  if (ch >= MACHD_MAX_CHANNELS || busy_[ch]) return false;
  return copy_out(ch, out);
}

void Session::finish(uint32_t ch, const Reply& reply) {
  machd_channel* c = channel(ch);
  size_t n = reply.data.size();
  if (n > MACHD_CHANNEL_DATA_SIZE) n = MACHD_CHANNEL_DATA_SIZE;  // callers size replies to fit
  if (n > 0) memcpy(reinterpret_cast<uint8_t*>(c + 1), reply.data.data(), n);
  c->data_len = uint32_t(n);
  c->result = reply.result;
  for (uint32_t i = 0; i < MACHD_CH_RETS; ++i) c->rets[i] = reply.rets[i];
  busy_[ch] = false;
  uint32_t prev = atomic(c->state).exchange(MACHD_CH_DONE, std::memory_order_acq_rel);
  if (prev == MACHD_CH_SLEEP) g_owed_wakeups.push_back(&c->state);
}

bool Session::send_fds(std::span<const int> fds, uint64_t first_tag) {
  for (size_t done = 0; done < fds.size();) {
    size_t n = std::min<size_t>(fds.size() - done, MACHD_MAX_FDS_PER_MSG);
    machd_sock_fds hdr{MACHD_SOCK_FDS, uint32_t(n), first_tag + done};
    if (machd_send_fds(sock_, &hdr, sizeof hdr, fds.data() + done, n, MSG_DONTWAIT) < 0) return false;
    done += n;
  }
  return true;
}

bool Session::has_pending() const {
  if (owes_requests()) return true;
  for (uint32_t w = 0; w < MACHD_MAX_CHANNELS / 64; ++w)
    if (atomic(hdr_->pending[w]).load(std::memory_order_relaxed) != 0) return true;
  auto* fast = reinterpret_cast<machd_fast_header*>(region_ + MACHD_FAST_OFFSET);
  if (atomic(fast->async_pending).load(std::memory_order_relaxed) != 0) return true;
  auto* agent = reinterpret_cast<machd_agent_header*>(region_ + MACHD_AGENT_OFFSET);
  return atomic(agent->done).load(std::memory_order_relaxed) != 0;
}

void Session::set_need_wakeup(bool need) {
  if (need) atomic(hdr_->flags).fetch_or(MACHD_FLAG_NEED_WAKEUP, std::memory_order_seq_cst);
  else atomic(hdr_->flags).fetch_and(~MACHD_FLAG_NEED_WAKEUP, std::memory_order_seq_cst);
}

void Session::mark_shutdown() {
  atomic(hdr_->flags).fetch_or(MACHD_FLAG_SHUTDOWN, std::memory_order_acq_rel);
  // Only threads with an outstanding call can be asleep in machd; the others
  // see the flag at their next call (or their periodic liveness check).
  for (uint32_t ch = 0; ch < MACHD_MAX_CHANNELS; ++ch)
    if (busy_[ch]) futex_wake(&channel(ch)->state);
}

}  // namespace machd
