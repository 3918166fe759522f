// tests/net/process.cc — starting the net tests' programs (process.h).
#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace nettest {

pid_t spawn(const Spawn& s, std::string* why) {
  // Everything the child needs is built before fork.
  std::vector<const char*> argv;
  for (const std::string& a : s.argv) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  const std::string ns_path = s.netns.empty() ? "" : "/run/netns/" + s.netns;
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    if (why) *why = std::string("fork: ") + strerror(errno);
    return -1;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    if (!ns_path.empty()) {
      int fd = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(125);
      close(fd);
    }
    int null = open("/dev/null", O_RDWR);
    dup2(s.stdin_fd >= 0 ? s.stdin_fd : null, 0);
    dup2(s.stdout_fd >= 0 ? s.stdout_fd : null, 1);
    if (s.stderr_fd >= 0) dup2(s.stderr_fd, 2);
    for (const std::string& e : s.env) putenv(strdup(e.c_str()));
    execvp(argv[0], const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  return pid;
}

int wait_for(pid_t pid, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() >= end) return -1;
    usleep(5000);
  }
}

void kill_and_wait(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

bool read_line(int fd, std::string* line, int timeout_ms) {
  line->clear();
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    char c;
    if (left <= 0 || poll(&p, 1, int(left)) != 1 || read(fd, &c, 1) != 1) return false;
    if (c == '\n') return true;
    *line += c;
  }
}

int run(const std::vector<std::string>& argv, std::string* output, const std::string& netns, int timeout_ms) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  Spawn s;
  s.argv = argv;
  s.netns = netns;
  s.stdout_fd = out[1];
  s.stderr_fd = out[1];
  pid_t pid = spawn(s);
  close(out[1]);
  if (pid < 0) {
    close(out[0]);
    return -1;
  }
  std::string text;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
    pollfd p{out[0], POLLIN, 0};
    if (left <= 0 || poll(&p, 1, int(left)) != 1) break;
    char buf[512];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, size_t(n));
  }
  close(out[0]);
  int status = wait_for(pid, std::max<int>(0, int(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    end - std::chrono::steady_clock::now())
                                                    .count())));
  if (status < 0) {
    kill_and_wait(pid);
    status = 128 + SIGKILL;
  }
  if (output) *output = text;
  return status;
}

}  // namespace nettest
