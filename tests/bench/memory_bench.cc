// tests/bench/memory_bench.cc — what machd's memory costs.
//
//   memory_bench [--machd PATH] [--ports N] [--tasks N]
//
// Starts a private machd and reports, from machd's own resident set size:
//   * bytes per port: one task allocates N receive rights (default 1,000,000);
//   * machd's RSS with N connected tasks (default 1,000 forked processes).
#include <mach/mach.h>
#include <machd/machd_debug.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../common/private_machd.h"

namespace {

machd_debug_stats_t stats() {
  machd_debug_stats_t s{};
  machd_debug_get_stats(&s);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string machd = getenv("MACHD_BIN") ? getenv("MACHD_BIN") : "";
  long nports = 1000000, ntasks = 1000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--machd" && i + 1 < argc) machd = argv[++i];
    else if (a == "--ports" && i + 1 < argc) nports = atol(argv[++i]);
    else if (a == "--tasks" && i + 1 < argc) ntasks = atol(argv[++i]);
    else {
      fprintf(stderr, "usage: memory_bench [--machd PATH] [--ports N] [--tasks N]\n");
      return 2;
    }
  }
  testsupport::PrivateMachd daemon;
  if (machd.empty() || !daemon.start(machd)) return 2;
  setenv("MACHD_SOCKET", daemon.socket().c_str(), 1);
  if (mach_reply_port() == MACH_PORT_NULL) {
    fprintf(stderr, "memory_bench: cannot reach machd\n");
    return 1;
  }
  machd_debug_stats_t base = stats();
  printf("machd RSS at start: %.1f MiB (%lu ports)\n", double(base.rss_bytes) / (1 << 20),
         static_cast<unsigned long>(base.ports));

  // 1. Ports.
  std::vector<mach_port_t> ports(static_cast<size_t>(nports));
  for (long i = 0; i < nports; ++i) {
    if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &ports[size_t(i)]) != KERN_SUCCESS) {
      fprintf(stderr, "allocation %ld failed\n", i);
      return 1;
    }
  }
  machd_debug_stats_t full = stats();
  double per_port = double(full.rss_bytes - base.rss_bytes) / double(nports);
  printf("%ld receive rights in one task: machd RSS %.1f MiB, %.1f bytes per port\n", nports,
         double(full.rss_bytes) / (1 << 20), per_port);
  for (long i = 0; i < nports; ++i) mach_port_mod_refs(mach_task_self(), ports[size_t(i)], MACH_PORT_RIGHT_RECEIVE, -1);
  machd_debug_stats_t after = stats();
  printf("after destroying them: %lu ports, RSS %.1f MiB\n", static_cast<unsigned long>(after.ports),
         double(after.rss_bytes) / (1 << 20));

  // 2. Tasks.
  rlimit rl{};
  getrlimit(RLIMIT_NPROC, &rl);
  machd_debug_stats_t before_tasks = stats();
  int release[2];
  if (pipe(release) != 0) return 1;
  std::vector<pid_t> kids;
  for (long i = 0; i < ntasks; ++i) {
    pid_t p = fork();  // each child is a new task (it reconnects after fork)
    if (p == 0) {
      close(release[1]);
      char c;
      (void)!read(release[0], &c, 1);
      _exit(0);
    }
    if (p < 0) {
      fprintf(stderr, "fork %ld failed\n", i);
      break;
    }
    kids.push_back(p);
  }
  uint64_t want = before_tasks.tasks + kids.size();
  machd_debug_stats_t with = stats();
  for (int i = 0; i < 3000 && with.tasks < want; ++i) {
    usleep(10000);
    with = stats();
  }
  printf("%zu connected tasks (+%lu): machd RSS %.1f MiB, %.1f KiB per task\n", kids.size(),
         static_cast<unsigned long>(with.tasks - before_tasks.tasks), double(with.rss_bytes) / (1 << 20),
         double(with.rss_bytes - before_tasks.rss_bytes) / 1024.0 / double(kids.size() ? kids.size() : 1));
  close(release[1]);
  for (pid_t p : kids) waitpid(p, nullptr, 0);
  daemon.stop();
  return 0;
}
