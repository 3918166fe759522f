// machd/daemon/main.cc — machd's entry point.
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "daemon.h"
#include "logging.h"
#include "memory_return.h"
#include "machd_version.h"
#include "options.h"
#include "syscall_filter.h"

namespace {

// Every queued out-of-line region holds an fd: allow many.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}


}  // namespace

int main(int argc, char** argv) {
  int code = 0;
  auto opts = machd::parse_options(argc, argv, code);
  if (!opts) return code;

  if (!machd::set_up_logging(*opts)) return 1;
  raise_fd_limit();
  machd::MemoryReturn::configure_allocator();

  int ready[2] = {-1, -1};
  if (!opts->foreground && !opts->systemd) {
    // Background: the parent waits until the child listens, then exits 0.
    if (pipe(ready) != 0) return 1;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid > 0) {
      close(ready[1]);
      char ok = 0;
      ssize_t n = read(ready[0], &ok, 1);
      return (n == 1 && ok == 1) ? 0 : 1;
    }
    close(ready[0]);
    setsid();
    // Until it listens, a detached machd's stderr is still the starter's:
    // only what keeps it from starting goes there.
    if (opts->log_level < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
  }

  machd::Daemon d(*opts);
  bool listening = d.listen();
  if (ready[1] >= 0) {
    char ok = listening ? 1 : 0;
    (void)!write(ready[1], &ok, 1);
    close(ready[1]);
    if (listening) {
      // Detached: nothing more for the starter's terminal; the log goes to
      // its file (logging.h).
      int null = open("/dev/null", O_RDWR);
      if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        close(null);
      }
      const std::string log = machd::detached_log_file(*opts);
      if (log.empty() || !machd::redirect_stderr_to(log)) {
        int quiet = open("/dev/null", O_WRONLY);
        if (quiet >= 0) dup2(quiet, 2), close(quiet);
      }
      spdlog::set_level(opts->log_level);
      spdlog::info("machd {} listening (pid {}, detached)", MACHD_VERSION, getpid());
    }
  }
  if (!listening) return 1;

  // From here machd serves: only the system calls that takes.
  if (opts->syscall_filter) {
    std::string why;
    if (machd::install_syscall_filter(machd::FilterProfile::kDaemon, &why))
      spdlog::debug("system-call filter installed");
    else
      spdlog::warn("running without a system-call filter: {}", why);
  }
  return d.run();
}
