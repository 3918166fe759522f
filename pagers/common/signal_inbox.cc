// pagers/common/signal_inbox.cc — see signal_inbox.h.
#include "signal_inbox.h"

#include <errno.h>
#include <fcntl.h>
#include <machd/machd_liveness.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace pagerprog {
namespace {

int g_pipe[2] = {-1, -1};
int g_machd_gone = -1;  // machd_death_fd's descriptor (watch_machd)

void on_signal(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  (void)!write(g_pipe[1], &b, 1);  // a full pipe drops the signal: plenty are queued already
  errno = saved;
}

}  // namespace

bool catch_signals(std::initializer_list<int> signals) {
  if (g_pipe[0] < 0 && pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return false;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int s : signals)
    if (sigaction(s, &sa, nullptr) != 0) return false;
  return true;
}

void watch_machd(const char* program) {
  if (g_machd_gone >= 0) return;
  g_machd_gone = machd_death_fd();
  if (g_machd_gone < 0)
    fprintf(stderr, "%s: cannot watch machd (%s): machd's death will go unnoticed until a signal\n", program,
            strerror(errno));
}

int next_signal(int timeout_ms) {
  if (g_pipe[0] < 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    unsigned char b;
    if (read(g_pipe[0], &b, 1) == 1) return b;
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      const auto left = deadline - std::chrono::steady_clock::now();
      wait_ms = int(std::max<int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(left).count()));
    }
    pollfd p[2] = {{g_pipe[0], POLLIN, 0}, {g_machd_gone, POLLIN, 0}};  // (a negative fd: ignored)
    const int n = poll(p, 2, wait_ms);
    if (n == 0) return 0;
    if (n < 0 && errno != EINTR) return -1;
    if (n > 0 && (p[0].revents & POLLIN) == 0 && p[1].revents != 0) return kMachdGone;
    // EINTR: a signal came in; the read above takes it.
  }
}

}  // namespace pagerprog
