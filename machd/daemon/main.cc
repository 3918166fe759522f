// machd/daemon/main.cc — machd's entry point.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "daemon.h"
#include "options.h"

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

  auto logger = spdlog::stderr_color_mt("machd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern(opts->systemd ? "%l: %v" : "machd[%P] %^%l%$: %v");
  spdlog::set_level(spdlog::level::from_str(opts->log_level));
  raise_fd_limit();

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
  }

  machd::Daemon d(*opts);
  bool listening = d.listen();
  if (ready[1] >= 0) {
    char ok = listening ? 1 : 0;
    (void)!write(ready[1], &ok, 1);
    close(ready[1]);
    if (listening) {
      int null = open("/dev/null", O_RDWR);
      if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        close(null);
      }
    }
  }
  if (!listening) return 1;

  return d.run();
}
