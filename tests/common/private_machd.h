// tests/common/private_machd.h — starting a private machd for a test or a
// benchmark, on a socket in a fresh temporary directory.
#pragma once

#include <mach/mach.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace testsupport {

// True if something accepts connections on the Unix socket at `path`.
inline bool machd_answers(const std::string& path) {
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

class PrivateMachd {
 public:
  // Starts `machd --foreground --socket <tmp>/machd.sock [extra...]` (with the
  // given CPU affinity if `cpus` is non-null) and waits up to 5 s for it to
  // answer.
  // `in_child`, if given, runs in the child just before exec (resource
  // limits, say).
  bool start(const std::string& machd, const char* log_level = "warn", const cpu_set_t* cpus = nullptr,
             const std::vector<std::string>& extra = {}, const std::function<void()>& in_child = {}) {
    char dir[] = "/tmp/machd-test-XXXXXX";
    if (mkdtemp(dir) == nullptr) return false;
    dir_ = dir;
    socket_ = dir_ + "/machd.sock";
    pid_ = fork();
    if (pid_ == 0) {
      // A test that dies (a sanitizer's abort) takes its machd with it: left
      // running, machd would hold meson's output pipe open until the timeout.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (cpus) sched_setaffinity(0, sizeof *cpus, cpus);
      if (in_child) in_child();
      std::vector<const char*> argv = {machd.c_str(), "--foreground", "--socket", socket_.c_str(), "--log-level",
                                       log_level};
      for (const std::string& a : extra) argv.push_back(a.c_str());
      argv.push_back(nullptr);
      execv(machd.c_str(), const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    for (int i = 0; i < 500 && !machd_answers(socket_); ++i) usleep(10000);
    return machd_answers(socket_);
  }
  // SIGKILL, then waits (the socket and directory stay until stop()).
  void kill_now() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  // SIGTERM, then waits; returns machd's exit status as waitpid gives it.
  int stop() {
    int status = -1;
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (!socket_.empty()) unlink(socket_.c_str());
    if (!dir_.empty()) rmdir(dir_.c_str());
    socket_.clear();
    dir_.clear();
    return status;
  }
  ~PrivateMachd() {
    if (pid_ > 0) kill(pid_, SIGKILL);
    stop();
  }
  const std::string& socket() const { return socket_; }
  pid_t pid() const { return pid_; }
  // For a failure message: "running", or how machd ended (then reaped).
  std::string state() {
    if (pid_ <= 0) return "not started";
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) return "running";
    if (r < 0) return "unknown (" + std::string(strerror(errno)) + ")";
    pid_ = -1;
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  }

 private:
  std::string dir_, socket_;
  pid_t pid_ = -1;
};

// For a test program's main(): starts the machd named by $MACHD_BIN, points
// MACHD_SOCKET at it (for this process and every child) and makes this
// process a task of it now. False, having said why on stderr, if it cannot.
inline bool start_and_join(PrivateMachd& daemon, const std::vector<std::string>& extra = {}) {
  const char* machd = getenv("MACHD_BIN");
  if (machd == nullptr) {
    fprintf(stderr, "MACHD_BIN is not set\n");
    return false;
  }
  if (!daemon.start(machd, getenv("MACHD_TEST_LOG") ? getenv("MACHD_TEST_LOG") : "warn", nullptr, extra)) {
    fprintf(stderr, "machd did not start\n");
    return false;
  }
  setenv("MACHD_SOCKET", daemon.socket().c_str(), 1);
  // The library connects lazily when it was loaded before machd listened.
  mach_port_t p = mach_reply_port();
  if (p == MACH_PORT_NULL || mach_task_self() == MACH_PORT_NULL) {
    fprintf(stderr, "cannot connect to machd\n");
    return false;
  }
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  return true;
}

// For a test program's main(), last: stops machd (SIGTERM) and returns the
// program's exit code: rc, or 1 if rc is 0 and machd did not exit with 0.
inline int stop_and_check(PrivateMachd& daemon, int rc) {
  int status = daemon.stop();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "machd did not exit cleanly on SIGTERM (status %d)\n", status);
    if (rc == 0) rc = 1;
  }
  return rc;
}

}  // namespace testsupport
