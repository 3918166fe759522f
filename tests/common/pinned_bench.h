// tests/common/pinned_bench.h — what the one-CPU benchmarks share: the
// command line (--machd PATH, --iters N), a private machd pinned to CPU 0
// with this process, and running one measurement in a forked child (a task
// of its own) that hands back one figure.
#pragma once

#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "private_machd.h"

namespace testsupport {

inline double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

inline void pin_to_cpu0() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);
}

// Runs `body` in a forked child and returns the double it hands back (-1 if
// it hands back none).
template <typename F>
double in_child(F body) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t c = fork();
  if (c == 0) {
    close(p[0]);
    double v = body();
    (void)!write(p[1], &v, sizeof v);
    _exit(0);
  }
  close(p[1]);
  double v = -1;
  if (read(p[0], &v, sizeof v) != ssize_t(sizeof v)) v = -1;
  close(p[0]);
  waitpid(c, nullptr, 0);
  return v;
}

// Parses `name [--machd PATH] [--iters N]` (MACHD_BIN also names machd),
// starts a private machd pinned to CPU 0, points MACHD_SOCKET at it and pins
// this process to CPU 0. Returns 0 when ready, else the exit status to
// return (the reason was printed).
inline int start_pinned_bench(const char* name, int argc, char** argv, int* iters, PrivateMachd& daemon) {
  std::string machd = getenv("MACHD_BIN") ? getenv("MACHD_BIN") : "";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--machd" && i + 1 < argc) {
      machd = argv[++i];
    } else if (a == "--iters" && i + 1 < argc) {
      *iters = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: %s [--machd PATH] [--iters N]\n", name);
      return 2;
    }
  }
  if (machd.empty()) {
    fprintf(stderr, "%s: give --machd PATH (or MACHD_BIN)\n", name);
    return 2;
  }
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(0, &cpus);
  if (!daemon.start(machd, "warn", &cpus)) {
    fprintf(stderr, "%s: machd did not start\n", name);
    return 1;
  }
  setenv("MACHD_SOCKET", daemon.socket().c_str(), 1);
  pin_to_cpu0();
  return 0;
}

}  // namespace testsupport
