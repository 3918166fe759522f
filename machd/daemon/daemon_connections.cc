// machd/daemon/daemon_connections.cc — the Daemon's front door: listening,
// accepting connections, and a client's hello (credentials checked,
// admission, the session made and the welcome sent). Serving the session
// is daemon.cc's.
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

int open_pidfd(int sock, pid_t pid) {
  int fd = -1;
  socklen_t len = sizeof fd;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0 && fd >= 0) return fd;
  return int(syscall(SYS_pidfd_open, pid, 0));  // older kernels: racy but best effort
}

bool send_welcome(int fd, const machd_welcome& w, int region_fd, int doorbell, int liveness = -1) {
  const int fds[3] = {region_fd, doorbell, liveness};
  const size_t n = region_fd < 0 ? 0 : liveness < 0 ? 2 : 3;
  return machd_send_fds(fd, &w, sizeof w, fds, n, MSG_DONTWAIT) == ssize_t(sizeof w);
}
}  // namespace

bool Daemon::listen() {
  if (opts_.systemd) {
    int n = sd_listen_fds(1);
    if (n != 1) {
      spdlog::error("--systemd: expected 1 socket from systemd, got {}", n);
      return false;
    }
    listen_fd_ = SD_LISTEN_FDS_START;
    fcntl(listen_fd_, F_SETFL, fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
  } else {
    char buf[sizeof(sockaddr_un{}.sun_path)];
    if (!opts_.socket_path.empty()) {
      if (opts_.socket_path.size() >= sizeof buf) {
        spdlog::error("socket path too long: {}", opts_.socket_path);
        return false;
      }
      socket_path_ = opts_.socket_path;
    } else {
      machd_socket_source source;
      if (machd_socket_path_from(buf, sizeof buf, &source) != 0) {
        spdlog::error("default socket path too long");
        return false;
      }
      socket_path_ = buf;
      char dir[sizeof buf];
      if (machd_socket_dir(buf, dir, sizeof dir) == 0) {
        // The shared /tmp fallback: only a directory of our own (machd_socket_path.h).
        char why[512];
        if (source == MACHD_SOCKET_FALLBACK && machd_private_dir_check(dir, 1, why, sizeof why) != 0) {
          spdlog::error("will not listen on {}: {}", socket_path_, why);
          socket_path_.clear();  // not ours to unlink
          return false;
        }
        if (source != MACHD_SOCKET_FALLBACK) mkdir(dir, 0700);
      }
    }
    listen_fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      if (errno != EADDRINUSE) {
        spdlog::error("bind {}: {}", socket_path_, strerror(errno));
        return false;
      }
      // In use: another machd answering, or a stale socket file.
      int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
      bool alive = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      close(probe);
      if (alive) {
        spdlog::info("another machd is listening on {}", socket_path_);
        socket_path_.clear();  // not ours to unlink
        return false;
      }
      unlink(socket_path_.c_str());
      if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        spdlog::error("bind {}: {}", socket_path_, strerror(errno));
        return false;
      }
    }
    // A per-user daemon: only the user's tasks. With --allow-uid, anyone who
    // can reach the path may connect and on_hello() checks the uid.
    chmod(socket_path_.c_str(), opts_.allowed_uids.empty() ? 0600 : 0666);
    if (::listen(listen_fd_, 128) != 0) {
      spdlog::error("listen: {}", strerror(errno));
      return false;
    }
  }
  arm_accept();

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);  // the terminal went away: shut down cleanly too
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  loop_->poll_multishot(signal_fd_, POLLIN, [this](int, bool) {
    signalfd_siginfo si;
    while (read(signal_fd_, &si, sizeof si) == ssize_t(sizeof si)) {
      spdlog::info("signal {}: shutting down", si.ssi_signo);
      stopping_ = true;
    }
  });
  if (opts_.lend_userfaultfd) {
    uffd_device_ = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (uffd_device_ < 0)
      spdlog::warn("--lend-userfaultfd: cannot open /dev/userfaultfd ({}); a task that cannot make a full "
                   "userfaultfd itself fails system calls that touch its memory objects (EFAULT)",
                   strerror(errno));
  }
  spdlog::info("machd listening on {} ({} event loop)", opts_.systemd ? std::string("systemd socket") : socket_path_,
               loop_->name());
  return true;
}

void Daemon::arm_accept() {
  loop_->accept_multishot(listen_fd_, [this](int res, bool more) {
    if (res >= 0) {
      on_accept(res);
      return;
    }
    if (more) return;  // still armed
    // Accepting stopped. Out of descriptors or memory: the backlog waits
    // until some are free again; anything else: try again at once.
    const bool starved = res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM;
    const uint64_t now = monotonic_ns();
    if (now - last_accept_warning_ns_ >= 1'000'000'000ull) {
      spdlog::warn("accept: {}{}", strerror(-res), starved ? "; new tasks wait until descriptors are free" : "");
      last_accept_warning_ns_ = now;
    }
    runtime_->timers().add(now + (starved ? kAcceptRetryNs : 0), [this] {
      if (!stopping_) arm_accept();
    });
  });
}

void Daemon::on_accept(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    close(fd);
    return;
  }
  // The client speaks first (hello); wait for it without blocking the loop,
  // and for no longer than the hello deadline.
  await_hello(fd, cred.uid, false, monotonic_ns() + admission_.limits().hello_timeout_ns);
}

void Daemon::await_hello(int fd, uid_t uid, bool asked_device, uint64_t deadline_ns) {
  hellos_[fd].timer = runtime_->timers().add(deadline_ns, [this, fd, uid] {
    spdlog::debug("closing a connection of uid {}: no hello in time", uid);
    drop_hello(fd);
  });
  if (int oldest = admission_.add_hello(uid, fd); oldest >= 0) {
    spdlog::debug("closing a connection of uid {}: {} newer ones owe their hello too", uid,
                  admission_.limits().hellos_per_uid);
    drop_hello(oldest);
  }
  const uint64_t token = loop_->poll_once(fd, POLLIN | POLLRDHUP, [this, fd, asked_device, deadline_ns](int, bool) {
    forget_hello(fd);
    on_hello(fd, asked_device, deadline_ns);
  });
  if (auto it = hellos_.find(fd); it != hellos_.end()) it->second.token = token;
}

void Daemon::lend_userfaultfd_device(int fd, uid_t uid, uint64_t deadline_ns) {
  machd_welcome w{};
  w.kind = MACHD_SOCK_UFFD_DEVICE;
  w.version = MACHD_ABI_VERSION;
  w.error = uffd_device_ >= 0 ? KERN_SUCCESS : KERN_NOT_SUPPORTED;
  if (machd_send_fds(fd, &w, sizeof w, &uffd_device_, uffd_device_ >= 0 ? 1 : 0, MSG_DONTWAIT) !=
      ssize_t(sizeof w)) {
    close(fd);
    return;
  }
  if (uffd_device_ >= 0) spdlog::debug("lent /dev/userfaultfd to a connection of uid {}", uid);
  await_hello(fd, uid, true, deadline_ns);
}

void Daemon::forget_hello(int fd) {
  auto it = hellos_.find(fd);
  if (it == hellos_.end()) return;
  runtime_->timers().cancel(it->second.timer);
  hellos_.erase(it);
  admission_.end_hello(fd);
}

void Daemon::drop_hello(int fd) {
  auto it = hellos_.find(fd);
  if (it == hellos_.end()) return;
  if (it->second.token) loop_->cancel(it->second.token);
  forget_hello(fd);
  close(fd);
}

void Daemon::on_hello(int fd, bool asked_device, uint64_t deadline_ns) {
  machd_hello hello{};
  int hello_fds[MACHD_MAX_FDS_PER_MSG];
  size_t nhello_fds = 0;
  int hello_flags = 0;
  ssize_t n = machd_recv_fds(fd, &hello, sizeof hello, hello_fds, &nhello_fds, MSG_DONTWAIT, &hello_flags);
  // The task's userfaultfd, if the hello carries one (and only then).
  int uffd = -1;
  for (size_t i = 0; i < nhello_fds; ++i) {
    if (i == 0 && (hello.flags & MACHD_HELLO_UFFD) && n == ssize_t(sizeof hello))
      uffd = hello_fds[i];
    else
      close(hello_fds[i]);
  }
  struct UffdGuard {
    int& fd;
    ~UffdGuard() {
      if (fd >= 0) close(fd);
    }
  } uffd_guard{uffd};
  machd_welcome w{};
  w.kind = MACHD_SOCK_REFUSED;
  w.version = MACHD_ABI_VERSION;
  if (n == 0) {  // connected and left without a word (a liveness probe)
    close(fd);
    return;
  }
  // Before its hello, the one question a task may ask: machd's
  // /dev/userfaultfd (machd_abi.h, MACHD_SOCK_UFFD_DEVICE).
  const bool asks_device = n == ssize_t(sizeof hello) && hello.kind == MACHD_SOCK_UFFD_DEVICE && !asked_device &&
                           nhello_fds == 0 && hello.flags == 0;
  if (asks_device && hello.magic == MACHD_ABI_MAGIC && hello.version == MACHD_ABI_VERSION) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      close(fd);
    } else if (!uid_allowed(cred.uid)) {
      refuse_uid(fd, cred);
    } else {
      lend_userfaultfd_device(fd, cred.uid, deadline_ns);
    }
    return;
  }
  if (n != ssize_t(sizeof hello) || hello.kind != MACHD_SOCK_HELLO || hello.magic != MACHD_ABI_MAGIC ||
      hello.version != MACHD_ABI_VERSION) {
    spdlog::warn("refusing client: bad hello (version {})", n == ssize_t(sizeof hello) ? hello.version : 0);
    w.error = KERN_INVALID_ARGUMENT;
    send_welcome(fd, w, -1, -1);
    close(fd);
    return;
  }
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    close(fd);
    return;
  }
  if (!uid_allowed(cred.uid)) {
    refuse_uid(fd, cred);
    return;
  }
  if (!admission_.begin_task(cred.uid)) {
    spdlog::warn("refusing a task of uid {} (pid {}): it has {} tasks, the most machd serves one user", cred.uid,
                 cred.pid, admission_.tasks(cred.uid));
    w.error = KERN_RESOURCE_SHORTAGE;
    send_welcome(fd, w, -1, -1);
    close(fd);
    return;
  }
  int pidfd = open_pidfd(fd, cred.pid);
  ipc::Credentials creds;
  creds.pid = uint32_t(cred.pid);
  creds.uid = creds.euid = cred.uid;
  creds.gid = creds.egid = cred.gid;
  creds.pidversion = uint32_t(++pidversion_);
  uint64_t id = next_session_++;
  std::unique_ptr<Session> s;
  try {
    s = std::make_unique<Session>(id, fd, pidfd, creds);
  } catch (const std::exception& e) {
    spdlog::error("cannot set up task for pid {}: {}", cred.pid, e.what());
    w.error = KERN_RESOURCE_SHORTAGE;
    send_welcome(fd, w, -1, -1);
    close(fd);
    if (pidfd >= 0) close(pidfd);
    admission_.end_task(cred.uid);
    return;
  }
  s->task = kernel_.task_create(creds);
  kernel_.port_insert_member(kernel_.kernel_task(), kernel_.task_port_kernel_name(s->task), kernel_set_);
  directory_.add(s->task, cred.pid, s->pidfd());
  session_of_task_[s->task] = id;
  runtime_->notify_task_created(s->task);
  w.kind = MACHD_SOCK_WELCOME;
  w.task_self = kernel_.task_self_name(s->task);
  mach_port_name_t bp = MACH_PORT_NULL;
  kernel_.task_get_special_port(s->task, s->task, TASK_BOOTSTRAP_PORT, &bp);
  w.bootstrap_port = bp;
  w.region_size = MACHD_REGION_SIZE;
  w.nchannels = MACHD_MAX_CHANNELS;
  w.channel_size = MACHD_CHANNEL_SIZE;
  // Its vm_allocate memory comes under the budget only if every fault on
  // it reaches machd: with a UFFD_USER_MODE_ONLY userfaultfd a system call
  // touching a page not yet in (a read(2) into a fresh buffer) would fail
  // with EFAULT, so such a task keeps plain anonymous memory.
  const bool user_faults_only = (hello.flags & MACHD_HELLO_UFFD_USER_ONLY) != 0;
  if (anonymous_memory_->managed() && uffd >= 0) {
    if (!user_faults_only)
      w.flags |= MACHD_WELCOME_MANAGED_MEMORY;
    else if (unmanaged_uids_.insert(cred.uid).second)
      spdlog::warn("tasks of uid {} can make only a user-mode userfaultfd: their vm_allocate memory stays outside "
                   "--memory-limit{}",
                   cred.uid, uffd_device_ >= 0 ? "" : " (machd --lend-userfaultfd would bring it in)");
  }
  w.task_id = s->task;
  if (!send_welcome(fd, w, s->region_fd(), s->doorbell(), liveness_.fd())) {
    // The client left before its welcome: undo what was set up for it.
    admission_.end_task(cred.uid);
    runtime_->notify_task_terminating(s->task);
    session_of_task_.erase(s->task);
    directory_.remove(s->task);
    kernel_.task_terminate(s->task);
    drain_completions();
    return;  // ~Session closes everything
  }
  Session& ref = *s;
  if (hello.flags & MACHD_HELLO_FAST_LANES) fast_.attach(ref);
  if (uffd >= 0) {
    spdlog::debug("task {}: userfaultfd{} (features {:#x})", s->task,
                  (hello.flags & MACHD_HELLO_UFFD_USER_ONLY) ? ", user-mode faults only" : "", hello.uffd_features);
    memory_objects_->router().attach_task(s->task, uffd, hello.uffd_features);
    uffd = -1;  // the router owns it
  }
  sessions_.emplace(id, std::move(s));
  exception_ports_->publish(ref.task);  // its region is reachable only now
  ref.tokens[0] = loop_->poll_multishot(ref.sock(), POLLIN | POLLRDHUP, [this, id](int res, bool) {
    auto it = sessions_.find(id);
    if (it != sessions_.end()) on_socket(*it->second, res);
  });
  ref.tokens[1] = loop_->poll_multishot(ref.doorbell(), POLLIN, [this, id](int, bool) {
    auto it = sessions_.find(id);
    if (it != sessions_.end()) on_doorbell(*it->second);
  });
  if (ref.pidfd() >= 0) {
    ref.tokens[2] = loop_->poll_once(ref.pidfd(), POLLIN, [this, id](int, bool) { terminate(id, "process exited"); });
  }
  spdlog::debug("task {} connected: pid {} uid {}", ref.task, creds.pid, creds.uid);
}

void Daemon::refuse_uid(int fd, const ucred& cred) {
  // Said once per uid (a refused client may retry on every call).
  if (refused_uids_.insert(cred.uid).second)
    spdlog::warn("refusing pid {}: uid {} is not machd's ({}); machd --allow-uid {} would serve it", cred.pid,
                 cred.uid, geteuid(), cred.uid);
  machd_welcome w{};
  w.kind = MACHD_SOCK_REFUSED;
  w.version = MACHD_ABI_VERSION;
  w.error = KERN_NO_ACCESS;
  send_welcome(fd, w, -1, -1);
  close(fd);
}

bool Daemon::uid_allowed(uid_t uid) const {
  return uid == geteuid() ||
         std::find(opts_.allowed_uids.begin(), opts_.allowed_uids.end(), uid) != opts_.allowed_uids.end();
}

}  // namespace machd
