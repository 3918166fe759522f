// pagers/pager-test/pager_process.cc — see pager_process.h.
#include "pager_process.h"

#include <servers/bootstrap.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

#include "mach_pager_test.h"

namespace pagerkit {

bool PagerProcess::start(const std::vector<std::string>& argv, const std::string& name, uint64_t seed, uint64_t size,
                         std::string* why) {
  name_ = name;
  char seed_text[32], size_text[32];
  snprintf(seed_text, sizeof seed_text, "0x%" PRIx64, seed);
  snprintf(size_text, sizeof size_text, "%" PRIu64, size);
  fflush(stdout);
  fflush(stderr);
  pid_ = fork();
  if (pid_ < 0) {
    *why = std::string("fork: ") + strerror(errno);
    return false;
  }
  if (pid_ == 0) {
    setpgid(0, 0);
    dup2(STDERR_FILENO, STDOUT_FILENO);  // the report alone goes to stdout
    setenv(MACH_PAGER_TEST_ENV_NAME, name.c_str(), 1);
    setenv(MACH_PAGER_TEST_ENV_SEED, seed_text, 1);
    setenv(MACH_PAGER_TEST_ENV_SIZE, size_text, 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    fprintf(stderr, "mach-pager-test: cannot run %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid_, pid_);  // (either side may get there first)
  return true;
}

mach_port_t PagerProcess::wait_published(double timeout_s, std::string* why) {
  const int tries = int(timeout_s * 100) + 1;
  for (int i = 0; i < tries; ++i) {
    mach_port_t p = MACH_PORT_NULL;
    const kern_return_t kr = bootstrap_look_up(bootstrap_port, name_.c_str(), &p);
    if (kr == KERN_SUCCESS) return p;
    if (kr != BOOTSTRAP_UNKNOWN_SERVICE) {
      *why = std::string("bootstrap_look_up: ") + mach_error_string(kr);
      return MACH_PORT_NULL;
    }
    if (exited()) {
      *why = "the pager " + exit_text() + " before publishing its object port under " MACH_PAGER_TEST_ENV_NAME;
      return MACH_PORT_NULL;
    }
    usleep(10000);
  }
  char t[128];
  snprintf(t, sizeof t, "the pager published no port under %s within %g s", MACH_PAGER_TEST_ENV_NAME, timeout_s);
  *why = t;
  return MACH_PORT_NULL;
}

void PagerProcess::reap(int options) {
  if (pid_ <= 0 || reaped_) return;
  int status = 0;
  if (waitpid(pid_, &status, options) == pid_) {
    reaped_ = true;
    status_ = status;
  }
}

bool PagerProcess::exited() {
  reap(WNOHANG);
  return reaped_;
}

std::string PagerProcess::exit_text() const {
  if (pid_ <= 0) return "never ran";
  if (!reaped_) return "is running";
  char b[96];
  if (WIFSIGNALED(status_))
    snprintf(b, sizeof b, "was killed by signal %d (%s)", WTERMSIG(status_), strsignal(WTERMSIG(status_)));
  else
    snprintf(b, sizeof b, "exited with status %d", WEXITSTATUS(status_));
  return b;
}

void PagerProcess::kill_now() {
  if (pid_ <= 0 || reaped_) return;
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  reap(0);
}

void PagerProcess::stop() {
  if (pid_ <= 0 || exited()) return;
  kill(-pid_, SIGTERM);
  for (int i = 0; i < 200 && !exited(); ++i) usleep(10000);
  kill_now();
}

}  // namespace pagerkit
