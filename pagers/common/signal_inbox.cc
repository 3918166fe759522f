// pagers/common/signal_inbox.cc — see signal_inbox.h.
#include "signal_inbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace pagerprog {
namespace {

int g_pipe[2] = {-1, -1};

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
    pollfd p{g_pipe[0], POLLIN, 0};
    const int n = poll(&p, 1, wait_ms);
    if (n == 0) return 0;
    if (n < 0 && errno != EINTR) return -1;
    // EINTR: a signal came in; the read above takes it.
  }
}

}  // namespace pagerprog
