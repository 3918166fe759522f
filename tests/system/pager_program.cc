// tests/system/pager_program.cc — see pager_program.h.
#include "pager_program.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "support.h"

extern char** environ;

namespace systest {

PagerProgram::~PagerProgram() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    systest::wait_exit(pid_);
  }
  if (out_ >= 0) close(out_);
}

bool PagerProgram::start(const char* env, const std::vector<std::string>& args) {
  const char* path = getenv(env);
  if (path == nullptr) return false;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
  std::vector<char*> argv = {const_cast<char*>(path)};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, path, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  out_ = p[0];
  if (rc != 0) {
    pid_ = -1;
    return false;
  }
  banner_ = wait_line(" serving ");
  return !banner_.empty();
}

bool PagerProgram::read_line(std::string* line, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      *line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return true;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd pfd{out_, POLLIN, 0};
    if (poll(&pfd, 1, int(left)) <= 0) continue;
    char buf[512];
    const ssize_t n = read(out_, buf, sizeof buf);
    if (n <= 0) return false;
    pending_.append(buf, size_t(n));
  }
}

std::string PagerProgram::wait_line(const std::string& needle, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string line;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || !read_line(&line, int(left))) return "";
    if (line.find(needle) != std::string::npos) return line;
  }
}

std::string PagerProgram::signal_until(int sig, const std::string& needle,
                                       const std::function<bool(const std::string&)>& done, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string line;
  do {
    signal(sig);
    line = wait_line(needle);
    if (line.empty() || done(line)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return line;
}

void PagerProgram::signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int PagerProgram::wait_exit(int timeout_ms) {
  if (pid_ <= 0) return -1;
  const int code = wait_exit_for(pid_, timeout_ms);
  if (code != -1) pid_ = -1;
  return code;
}

}  // namespace systest
