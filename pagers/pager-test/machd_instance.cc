// pagers/pager-test/machd_instance.cc — see machd_instance.h.
#include "machd_instance.h"

#include <limits.h>
#include <mach/mach.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace pagerkit {

namespace {

std::string program_dir() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string s(buf, size_t(n));
  return s.substr(0, s.rfind('/'));
}

// Becomes a task of the machd MACHD_SOCKET names, trying for up to
// `tries` x 10 ms while it starts (libmach-compat connects on first use and
// tries again on the next call after a failure).
bool join(int tries, pid_t machd) {
  for (int i = 0; i < tries; ++i) {
    mach_port_t p = mach_reply_port();
    if (MACH_PORT_VALID(p)) {
      mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
      return true;
    }
    if (machd > 0 && waitpid(machd, nullptr, WNOHANG) == machd) return false;
    usleep(10000);
  }
  return false;
}

}  // namespace

std::string locate_machd(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* e = getenv("MACHD_BIN"); e && *e) return e;
  const std::string dir = program_dir();
  for (const std::string& c : {dir + "/../../machd/machd", dir + "/machd"})
    if (access(c.c_str(), X_OK) == 0) return c;
  return MACH_PAGER_TEST_MACHD;
}

MachdInstance::~MachdInstance() { stop(); }

std::string MachdInstance::start(const std::string& socket, const std::string& machd, double pager_timeout_s,
                                 const std::string& log_level) {
  if (!socket.empty()) {
    socket_ = socket;
    setenv("MACHD_SOCKET", socket.c_str(), 1);
    return join(200, -1) ? "" : "no machd answers on " + socket;
  }
  char dir[] = "/tmp/mach-pager-test-XXXXXX";
  if (mkdtemp(dir) == nullptr) return "cannot make a temporary directory";
  dir_ = dir;
  socket_ = dir_ + "/machd.sock";
  char timeout[32];
  snprintf(timeout, sizeof timeout, "%g", pager_timeout_s);
  fflush(stdout);
  fflush(stderr);
  pid_ = fork();
  if (pid_ == 0) {
    std::vector<const char*> argv = {machd.c_str(), "--foreground",  "--socket",          socket_.c_str(),
                                     "--log-level", log_level.c_str(), "--pager-timeout", timeout,
                                     nullptr};
    execv(machd.c_str(), const_cast<char* const*>(argv.data()));
    fprintf(stderr, "mach-pager-test: cannot run %s\n", machd.c_str());
    _exit(127);
  }
  if (pid_ < 0) return "cannot fork";
  setenv("MACHD_SOCKET", socket_.c_str(), 1);
  if (!join(500, pid_)) return "machd (" + machd + ") did not start";
  return "";
}

int MachdInstance::stop() {
  int status = 0;
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int waited = 0;
    while (waitpid(pid_, &status, WNOHANG) != pid_) {
      if (waited++ == 500) {  // 5 s: it is not stopping
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      usleep(10000);
    }
    pid_ = -1;
  }
  if (!dir_.empty()) {
    unlink(socket_.c_str());
    rmdir(dir_.c_str());
    dir_.clear();
  }
  return status;
}

}  // namespace pagerkit
