// pagers/pager-test/client_task.cc — see client_task.h.
#include "client_task.h"

#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <fcntl.h>
#include <poll.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

namespace pagerkit {

namespace {

// Exit codes of a client task that could not get going.
constexpr int kNoService = 10;
constexpr int kNoMap = 11;

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

size_t round_up(size_t n) {
  const size_t pg = size_t(sysconf(_SC_PAGESIZE));
  return (n + pg - 1) / pg * pg;
}

mach_port_t look_up(const std::string& service) {
  for (int i = 0; i < 200; ++i) {
    mach_port_t p = MACH_PORT_NULL;
    kern_return_t kr = bootstrap_look_up(bootstrap_port, service.c_str(), &p);
    if (kr == KERN_SUCCESS) return p;
    if (kr != BOOTSTRAP_UNKNOWN_SERVICE) return MACH_PORT_NULL;
    usleep(10000);
  }
  return MACH_PORT_NULL;
}

[[noreturn]] void run_child(const std::string& service, uint64_t offset, uint64_t size, uint64_t page,
                            const std::vector<Phase>& phases, const TaskLayout& layout, int done_fd, int go_fd,
                            BoardHeader* board, uint64_t* latency, uint8_t* witness) {
  mach_port_t object = look_up(service);
  if (!MACH_PORT_VALID(object)) _exit(kNoService);
  std::vector<uint8_t*> views;
  for (vm_inherit_t inherit : layout.views) {
    mach_vm_address_t addr = 0;
    board->map_result = mach_vm_map(mach_task_self(), &addr, size, 0, VM_FLAGS_ANYWHERE, object, offset, FALSE,
                                    VM_PROT_DEFAULT, VM_PROT_ALL, inherit);
    if (board->map_result != KERN_SUCCESS) _exit(kNoMap);
    views.push_back(reinterpret_cast<uint8_t*>(addr));
  }
  mach_port_deallocate(mach_task_self(), object);
  std::vector<uint8_t*> witnesses;
  for (unsigned i = 0; i < layout.witnesses; ++i) witnesses.push_back(witness + i * size);
  ClientContext ctx(std::move(views), size, page, board, latency, std::move(witnesses));
  for (size_t i = 0; i < phases.size(); ++i) {
    phases[i](ctx);
    const char done = 'd';
    if (write(done_fd, &done, 1) != 1) _exit(0);
    char go;
    // 'x' (or the kit gone): the end. (Other client tasks forked later hold
    // copies of the pipe's write end, so its closing is no sign.)
    if (read(go_fd, &go, 1) != 1 || go == 'x') _exit(0);
  }
  _exit(0);
}

}  // namespace

// ---- the child's side --------------------------------------------------------------

void ClientContext::first_touch(uint64_t off) {
  const uint64_t t0 = monotonic_ns();
  board_->touch_start.store(t0);
  board_->touching.store(off);
  (void)*reinterpret_cast<volatile uint64_t*>(views_[0] + off);
  const uint64_t t1 = monotonic_ns();
  board_->touching.store(kIdle);
  latency_[board_->touches.fetch_add(1)] = t1 - t0;
  memcpy(witnesses_[0] + off, views_[0] + off, page_);
}

void ClientContext::read_all(unsigned view, unsigned witness) {
  for (uint64_t off = 0; off < size_; off += page_) {
    board_->touch_start.store(monotonic_ns());
    board_->touching.store(off);
    memcpy(witnesses_[witness] + off, views_[view] + off, page_);
  }
  board_->touching.store(kIdle);
}

void ClientContext::write(uint64_t off, const uint8_t* bytes, uint64_t len, unsigned view) {
  board_->touch_start.store(monotonic_ns());
  board_->touching.store(off - off % page_);
  memcpy(views_[view] + off, bytes, len);
  board_->touching.store(kIdle);
}

// ---- the kit's side ------------------------------------------------------------------

ClientTask::~ClientTask() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (done_fd_ >= 0) close(done_fd_);
  if (go_fd_ >= 0) close(go_fd_);
  if (board_) munmap(board_, board_size_);
}

bool ClientTask::start(const std::string& service, uint64_t offset, uint64_t size, uint64_t page,
                       std::vector<Phase> phases, const TaskLayout& layout,
                       const std::function<pid_t()>& fork_task) {
  const uint64_t pages = size / page;
  board_size_ = round_up(sizeof(BoardHeader) + pages * 2 * sizeof(uint64_t) + layout.witnesses * size);
  board_ = mmap(nullptr, board_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (board_ == MAP_FAILED) {
    board_ = nullptr;
    return false;
  }
  header_ = new (board_) BoardHeader;
  header_->pages = pages;
  latency_ = reinterpret_cast<uint64_t*>(static_cast<uint8_t*>(board_) + sizeof(BoardHeader));
  witness_ = reinterpret_cast<uint8_t*>(latency_ + pages * 2);  // a page may be touched again after a flush
  offset_ = offset;
  size_ = size;
  int done[2], go[2];
  if (pipe2(done, O_CLOEXEC) != 0) return false;
  if (pipe2(go, O_CLOEXEC) != 0) {
    close(done[0]);
    close(done[1]);
    return false;
  }
  fflush(stdout);
  fflush(stderr);
  pid_ = fork_task ? fork_task() : fork();
  if (pid_ == 0) {
    close(done[0]);
    close(go[1]);
    run_child(service, offset, size, page, phases, layout, done[1], go[0], header_, latency_, witness_);
  }
  close(done[1]);
  close(go[0]);
  done_fd_ = done[0];
  go_fd_ = go[1];
  return pid_ > 0;
}

ClientTask::Status ClientTask::ended(int wstatus, int waited_ms) const {
  Status s;
  s.waited_ms = waited_ms;
  const uint64_t t = header_->touching.load();
  s.touching = t == kIdle ? kIdle : offset_ + t;
  if (WIFSIGNALED(wstatus)) {
    s.kind = Status::kSignaled;
    s.code = WTERMSIG(wstatus);
  } else {
    s.kind = Status::kExited;
    s.code = WEXITSTATUS(wstatus);
  }
  s.map_result = header_->map_result;
  return s;
}

ClientTask::Status ClientTask::wait_until(int timeout_ms, bool phase) {
  const uint64_t start = monotonic_ns();
  for (;;) {
    const int waited = int((monotonic_ns() - start) / 1000000);
    int wstatus = 0;
    if (pid_ > 0 && waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      Status s = ended(wstatus, waited);
      // A phase that ended just before the exit still counts.
      char b;
      if (phase && read(done_fd_, &b, 1) == 1) {
        s.kind = Status::kPhaseDone;
        s.code = 0;
      }
      return s;
    }
    if (pid_ <= 0) return Status{Status::kExited, 0, kIdle, waited};
    if (phase) {
      pollfd p{done_fd_, POLLIN, 0};
      if (poll(&p, 1, 20) == 1 && (p.revents & POLLIN)) {
        char b;
        if (read(done_fd_, &b, 1) == 1) return Status{Status::kPhaseDone, 0, kIdle, waited};
      }
    } else {
      usleep(5000);
    }
    if (waited > timeout_ms) {
      Status s;
      s.kind = Status::kHung;
      s.waited_ms = waited;
      const uint64_t t = header_->touching.load();
      s.touching = t == kIdle ? kIdle : offset_ + t;
      if (t != kIdle) s.touch_ms = int((monotonic_ns() - header_->touch_start.load()) / 1000000);
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return s;
    }
  }
}

ClientTask::Status ClientTask::wait_phase(int timeout_ms) { return wait_until(timeout_ms, true); }

void ClientTask::go() {
  const char b = 'g';
  if (go_fd_ >= 0) (void)!write(go_fd_, &b, 1);
}

ClientTask::Status ClientTask::finish(int timeout_ms) {
  const char end = 'x';
  if (go_fd_ >= 0) (void)!write(go_fd_, &end, 1);
  if (go_fd_ >= 0) close(go_fd_);
  go_fd_ = -1;
  return wait_until(timeout_ms, false);
}

std::vector<uint64_t> ClientTask::latencies() const {
  if (!header_) return {};
  const uint32_t n = header_->touches.load();
  return std::vector<uint64_t>(latency_, latency_ + n);
}

std::string ClientTask::Status::describe() const {
  char where[64] = "";
  if (touching != kIdle) snprintf(where, sizeof where, " while touching object offset 0x%" PRIx64, touching);
  char b[192];
  switch (kind) {
    case kPhaseDone: return "ran its phase";
    case kExited:
      if (code == kNoService) return "could not look up the object's bootstrap name";
      if (code == kNoMap) {
        snprintf(b, sizeof b, "could not map the object: mach_vm_map returned 0x%x (%s)", unsigned(map_result),
                 mach_error_string(map_result));
        return b;
      }
      snprintf(b, sizeof b, "exited with status %d%s", code, where);
      return b;
    case kSignaled:
      snprintf(b, sizeof b, "was killed by %s%s", strsignal(code), where);
      return b;
    case kHung:
      if (touching != kIdle)
        snprintf(b, sizeof b, "hung for %.1f s, %.1f s of them on one access%s, and was killed", waited_ms / 1000.0,
                 touch_ms / 1000.0, where);
      else
        snprintf(b, sizeof b, "hung for %.1f s, and was killed", waited_ms / 1000.0);
      return b;
  }
  return "?";
}

}  // namespace pagerkit
