// tests/bench/sync_bench.cc — semaphore handoff between two tasks beside a
// raw futex handoff between two processes, in one run.
//
//   sync_bench [--machd PATH] [--iters N] [--only one|both]
//
// For each CPU configuration (every process pinned to CPU 0, then free) it
// starts a private machd with that affinity and measures:
//   futex      two processes ping-pong through two counters in a shared
//              mapping (increment + FUTEX_WAKE, FUTEX_WAIT while zero): the floor
//   semaphore  two tasks ping-pong with semaphore_signal / semaphore_wait on
//              two semaphores one created and sent to the other in a message
//   uncontended  semaphore_signal + semaphore_wait in one thread (fast path)
// A round trip is two handoffs; figures are per handoff.
#include <linux/futex.h>
#include <mach/mach.h>
#include <mach/semaphore.h>
#include <sched.h>
#include <servers/bootstrap.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../common/port_rights.h"
#include "../common/private_machd.h"

using testsupport::receive_port_right;
using testsupport::send_port_right;

namespace {

int g_iters = 100000;

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void pin(bool one_cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int i = 0; i < (one_cpu ? 1 : 64); ++i) CPU_SET(i, &set);
  sched_setaffinity(0, sizeof set, &set);
}

// ---- the floor: a counting semaphore on a shared futex word -----------------
void fsignal(std::atomic<uint32_t>& w) {
  w.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, &w, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}
void fwait(std::atomic<uint32_t>& w) {
  for (;;) {
    uint32_t v = w.load(std::memory_order_acquire);
    if (v > 0 && w.compare_exchange_weak(v, v - 1, std::memory_order_acq_rel)) return;
    if (v == 0) syscall(SYS_futex, &w, FUTEX_WAIT, 0, nullptr, nullptr, 0);
  }
}

double bench_futex() {
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  auto* w = new (p) std::atomic<uint32_t>[2]{};
  pid_t peer = fork();
  if (peer == 0) {
    for (int i = 0; i < g_iters + 1000; ++i) {
      fwait(w[0]);
      fsignal(w[1]);
    }
    _exit(0);
  }
  for (int i = 0; i < 1000; ++i) {
    fsignal(w[0]);
    fwait(w[1]);
  }
  double t0 = now_s();
  for (int i = 0; i < g_iters; ++i) {
    fsignal(w[0]);
    fwait(w[1]);
  }
  double t = now_s() - t0;
  waitpid(peer, nullptr, 0);
  munmap(p, 4096);
  return t / g_iters / 2 * 1e6;
}

// ---- semaphores between two tasks -----------------------------------------
double bench_semaphore(const std::string& name) {
  pid_t peer = fork();
  if (peer == 0) {
    mach_port_t port = MACH_PORT_NULL;
    if (bootstrap_check_in(bootstrap_port, name.c_str(), &port) != KERN_SUCCESS) _exit(1);
    semaphore_t a = receive_port_right(port, -1), b = receive_port_right(port, -1);
    for (int i = 0; i < g_iters + 1000; ++i) {
      if (semaphore_wait(a) != KERN_SUCCESS) _exit(2);
      semaphore_signal(b);
    }
    _exit(0);
  }
  semaphore_t a = MACH_PORT_NULL, b = MACH_PORT_NULL;
  semaphore_create(mach_task_self(), &a, SYNC_POLICY_FIFO, 0);
  semaphore_create(mach_task_self(), &b, SYNC_POLICY_FIFO, 0);
  mach_port_t dest = MACH_PORT_NULL;
  for (int i = 0; i < 1000 && bootstrap_look_up(bootstrap_port, name.c_str(), &dest) != KERN_SUCCESS; ++i)
    usleep(1000);
  if (send_port_right(dest, a, MACH_MSG_TYPE_COPY_SEND) != MACH_MSG_SUCCESS ||
      send_port_right(dest, b, MACH_MSG_TYPE_COPY_SEND) != MACH_MSG_SUCCESS)
    return -1;
  for (int i = 0; i < 1000; ++i) {
    semaphore_signal(a);
    semaphore_wait(b);
  }
  double t0 = now_s();
  for (int i = 0; i < g_iters; ++i) {
    semaphore_signal(a);
    if (semaphore_wait(b) != KERN_SUCCESS) return -1;
  }
  double t = now_s() - t0;
  waitpid(peer, nullptr, 0);
  semaphore_destroy(mach_task_self(), a);
  semaphore_destroy(mach_task_self(), b);
  return t / g_iters / 2 * 1e6;
}

double bench_uncontended() {
  semaphore_t s = MACH_PORT_NULL;
  semaphore_create(mach_task_self(), &s, SYNC_POLICY_FIFO, 0);
  semaphore_signal(s);
  semaphore_wait(s);
  const int n = g_iters * 10;
  double t0 = now_s();
  for (int i = 0; i < n; ++i) {
    semaphore_signal(s);
    semaphore_wait(s);
  }
  double t = now_s() - t0;
  semaphore_destroy(mach_task_self(), s);
  return t / n * 1e9;
}

struct Figures {
  double futex_us = 0, sem_us = 0, uncontended_ns = 0;
};

Figures run_config(const std::string& machd, bool one_cpu) {
  testsupport::PrivateMachd daemon;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int i = 0; i < (one_cpu ? 1 : 64); ++i) CPU_SET(i, &cpus);
  if (!daemon.start(machd, "warn", &cpus)) {
    fprintf(stderr, "sync_bench: machd did not start\n");
    exit(1);
  }
  setenv("MACHD_SOCKET", daemon.socket().c_str(), 1);
  int out[2];
  (void)!pipe(out);
  pid_t c = fork();  // a fresh task of this machd
  if (c == 0) {
    close(out[0]);
    pin(one_cpu);
    Figures f;
    f.futex_us = bench_futex();
    f.sem_us = bench_semaphore("sync_bench." + std::to_string(getpid()));
    f.uncontended_ns = bench_uncontended();
    (void)!write(out[1], &f, sizeof f);
    _exit(0);
  }
  close(out[1]);
  Figures f;
  if (read(out[0], &f, sizeof f) != ssize_t(sizeof f)) f = Figures{};
  close(out[0]);
  waitpid(c, nullptr, 0);
  daemon.stop();
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string machd = getenv("MACHD_BIN") ? getenv("MACHD_BIN") : "";
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--machd" && i + 1 < argc) machd = argv[++i];
    else if (a == "--iters" && i + 1 < argc) g_iters = atoi(argv[++i]);
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else {
      fprintf(stderr, "usage: sync_bench [--machd PATH] [--iters N] [--only one|both]\n");
      return 2;
    }
  }
  if (machd.empty()) {
    fprintf(stderr, "sync_bench: give --machd PATH (or MACHD_BIN)\n");
    return 2;
  }
  printf("sync_bench: %d round trips per handoff figure\n", g_iters);
  struct Config {
    const char* label;
    bool one;
  };
  std::vector<Config> configs;
  if (only != "both") configs.push_back({"1 CPU (all pinned to CPU 0)", true});
  if (only != "one") configs.push_back({"free (all CPUs)", false});
  for (auto& c : configs) {
    Figures f = run_config(machd, c.one);
    printf("\n== %s ==\n", c.label);
    printf("%-40s %11.2f us\n", "handoff, raw futex (2 processes)", f.futex_us);
    printf("%-40s %11.2f us\n", "handoff, semaphore (2 tasks)", f.sem_us);
    printf("%-40s %11.2f x   (target <= 1.2x)\n", "  ratio semaphore / futex", f.sem_us / f.futex_us);
    printf("%-40s %11.1f ns\n", "uncontended signal + wait (one thread)", f.uncontended_ns);
  }
  return 0;
}
