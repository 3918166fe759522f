// tests/bench/thread_bench.cc — what stopping and inspecting a thread costs,
// beside the Linux floor measured in the same run (ptrace).
//
//   thread_bench [--machd PATH] [--iterations N]
//
// Everything runs on CPU 0 (machd, the controller, the target). The target
// is a thread of another process blocked in read(2).
//   suspend+get+resume:  thread_suspend, thread_get_state(x86_THREAD_STATE64),
//                        thread_resume   vs  PTRACE_INTERRUPT, waitpid,
//                        PTRACE_GETREGS, PTRACE_CONT
//   get of a suspended:  thread_get_state  vs  PTRACE_GETREGS
#include <mach/mach.h>
#include <sched.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "../common/private_machd.h"

namespace {

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void pin0() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);
}

// A process blocked in read(2) on `fd` until it gets a byte.
pid_t blocked_reader(int fd) {
  pid_t p = fork();
  if (p == 0) {
    char c;
    (void)!read(fd, &c, 1);
    _exit(0);
  }
  return p;
}

struct Figures {
  double cycle_us, get_us;
};

Figures ptrace_floor(int iterations) {
  int fds[2];
  (void)!pipe(fds);
  pid_t p = blocked_reader(fds[0]);
  usleep(20000);
  Figures f{};
  if (ptrace(PTRACE_SEIZE, p, nullptr, nullptr) != 0) {
    perror("ptrace seize");
    kill(p, SIGKILL);
    waitpid(p, nullptr, 0);
    return f;
  }
  user_regs_struct regs;
  double t0 = now();
  for (int i = 0; i < iterations; ++i) {
    ptrace(PTRACE_INTERRUPT, p, nullptr, nullptr);
    int st;
    waitpid(p, &st, __WALL);
    ptrace(PTRACE_GETREGS, p, nullptr, &regs);
    ptrace(PTRACE_CONT, p, nullptr, nullptr);
  }
  f.cycle_us = (now() - t0) / iterations * 1e6;
  ptrace(PTRACE_INTERRUPT, p, nullptr, nullptr);
  int st;
  waitpid(p, &st, __WALL);
  t0 = now();
  for (int i = 0; i < iterations; ++i) ptrace(PTRACE_GETREGS, p, nullptr, &regs);
  f.get_us = (now() - t0) / iterations * 1e6;
  ptrace(PTRACE_DETACH, p, nullptr, nullptr);
  kill(p, SIGKILL);
  waitpid(p, nullptr, 0);
  close(fds[0]);
  close(fds[1]);
  return f;
}

Figures mach_figures(int iterations) {
  Figures f{};
  std::string name = "org.machd.bench.thread." + std::to_string(getpid());
  mach_port_t inbox = MACH_PORT_NULL;
  if (bootstrap_check_in(bootstrap_port, name.c_str(), &inbox) != KERN_SUCCESS) return f;
  int fds[2];
  (void)!pipe(fds);
  pid_t p = fork();
  if (p == 0) {
    mach_port_t dest = MACH_PORT_NULL;
    for (int i = 0; i < 500 && bootstrap_look_up(bootstrap_port, name.c_str(), &dest) != KERN_SUCCESS; ++i)
      usleep(10000);
    struct {
      mach_msg_header_t head;
      mach_msg_body_t body;
      mach_msg_port_descriptor_t port;
    } m{};
    m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
    m.head.msgh_size = sizeof m;
    m.head.msgh_remote_port = dest;
    m.body.msgh_descriptor_count = 1;
    m.port.name = mach_thread_self();
    m.port.disposition = MACH_MSG_TYPE_MOVE_SEND;
    m.port.type = MACH_MSG_PORT_DESCRIPTOR;
    mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, MACH_PORT_NULL, 0, 0);
    char c;
    (void)!read(fds[0], &c, 1);
    _exit(0);
  }
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
    mach_msg_max_trailer_t trailer;
  } r{};
  if (mach_msg(&r.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof r, inbox, 5000, 0) != MACH_MSG_SUCCESS) {
    kill(p, SIGKILL);
    waitpid(p, nullptr, 0);
    return f;
  }
  mach_port_t thread = r.port.name;
  usleep(20000);  // let it block in read
  x86_thread_state64_t s;
  mach_msg_type_number_t n;
  auto get = [&] {
    n = x86_THREAD_STATE64_COUNT;
    return thread_get_state(thread, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&s), &n);
  };
  int bad = 0;
  double t0 = now();
  for (int i = 0; i < iterations; ++i) {
    bad += thread_suspend(thread) != KERN_SUCCESS;
    bad += get() != KERN_SUCCESS;
    bad += thread_resume(thread) != KERN_SUCCESS;
  }
  f.cycle_us = (now() - t0) / iterations * 1e6;
  thread_suspend(thread);
  t0 = now();
  for (int i = 0; i < iterations; ++i) bad += get() != KERN_SUCCESS;
  f.get_us = (now() - t0) / iterations * 1e6;
  thread_resume(thread);
  if (bad) fprintf(stderr, "thread_bench: %d calls failed\n", bad);
  kill(p, SIGKILL);
  waitpid(p, nullptr, 0);
  mach_port_deallocate(mach_task_self(), thread);
  mach_port_mod_refs(mach_task_self(), inbox, MACH_PORT_RIGHT_RECEIVE, -1);
  close(fds[0]);
  close(fds[1]);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string machd = getenv("MACHD_BIN") ? getenv("MACHD_BIN") : "";
  int iterations = 2000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--machd" && i + 1 < argc) machd = argv[++i];
    else if (a == "--iterations" && i + 1 < argc) iterations = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: thread_bench [--machd PATH] [--iterations N]\n");
      return 2;
    }
  }
  pin0();
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(0, &cpus);
  testsupport::PrivateMachd daemon;
  if (machd.empty() || !daemon.start(machd, "warn", &cpus)) return 2;
  setenv("MACHD_SOCKET", daemon.socket().c_str(), 1);
  if (mach_reply_port() == MACH_PORT_NULL) {
    fprintf(stderr, "thread_bench: cannot reach machd\n");
    return 1;
  }
  Figures floor = ptrace_floor(iterations);
  Figures ours = mach_figures(iterations);
  daemon.stop();
  printf("thread (one CPU, %d iterations)          machd      floor (ptrace)   ratio\n", iterations);
  printf("suspend+get_state+resume, blocked thread %7.2f us  %7.2f us        %.2fx\n", ours.cycle_us, floor.cycle_us,
         ours.cycle_us / floor.cycle_us);
  printf("get_state of a suspended thread          %7.2f us  %7.2f us        %.2fx\n", ours.get_us, floor.get_us,
         ours.get_us / floor.get_us);
  return 0;
}
