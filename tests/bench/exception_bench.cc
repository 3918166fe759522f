// tests/bench/exception_bench.cc — a fault handled as a Mach exception by a
// handler in another task, beside its floors measured in the same run, every
// process (machd included) pinned to CPU 0.
//
//   exception_bench [--machd PATH] [--iters N]
//
// The fault is int3 (the cheapest fault to repeat: the thread resumes after
// it with no state change). Rows, per fault:
//   signal floor       an in-task SIGTRAP handler installed with the raw
//                      rt_sigaction system call (no library in the path)
//   ptrace floor       a tracer: waitpid for the stop, PTRACE_GETREGS,
//                      PTRACE_SETREGS (the tracer "fixes" the registers),
//                      PTRACE_CONT
//   Mach exception     EXC_BREAKPOINT to a task-level port served by a
//                      handler task (EXCEPTION_DEFAULT, 64-bit codes), which
//                      answers KERN_SUCCESS (targets: <= 2.5x the signal
//                      floor, <= 1.0x the ptrace floor)
//   ... with the state EXCEPTION_STATE_IDENTITY and x86_THREAD_STATE64: the
//                      registers travel both ways
//   ... STATE only     EXCEPTION_STATE: no thread and task rights in the
//                      message, so the handler has none to deallocate (each
//                      mach_port_deallocate is a call into machd)
#include <mach/mach.h>
#include <mach/mach_exc.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "../common/pinned_bench.h"

extern "C" {
#include "mach_excServer.h"
}

// The kernel's sigreturn trampoline for the raw rt_sigaction below.
asm(R"(
  .text
  .globl exception_bench_restorer
exception_bench_restorer:
  mov $15, %rax
  syscall
)");
extern "C" void exception_bench_restorer();

using testsupport::in_child;
using testsupport::now_ns;

namespace {

int g_iters = 20000;



inline void trap() { asm volatile("int3" ::: "memory"); }

double faults(int n) {
  for (int i = 0; i < n / 10; i++) trap();
  const double t0 = now_ns();
  for (int i = 0; i < n; i++) trap();
  return (now_ns() - t0) / n;
}


// ---- the signal floor ------------------------------------------------------
struct KernelSigaction {
  void (*handler)(int, siginfo_t*, void*);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};
void on_trap(int, siginfo_t*, void*) {}

double bench_signal() {
  return in_child([] {
    KernelSigaction ka{on_trap, SA_SIGINFO | 0x04000000 /* SA_RESTORER */, exception_bench_restorer, 0};
    if (syscall(SYS_rt_sigaction, SIGTRAP, &ka, nullptr, 8) != 0) return -1.0;
    return faults(g_iters);
  });
}

// ---- the ptrace floor --------------------------------------------------------
double bench_ptrace() {
  const int n = g_iters;
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t c = fork();
  if (c == 0) {
    close(p[0]);
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    raise(SIGSTOP);
    const double ns = faults(n);
    (void)!write(p[1], &ns, sizeof ns);
    _exit(0);
  }
  close(p[1]);
  int status = 0;
  waitpid(c, &status, 0);  // the SIGSTOP
  ptrace(PTRACE_CONT, c, nullptr, nullptr);
  for (;;) {
    if (waitpid(c, &status, 0) != c || WIFEXITED(status) || WIFSIGNALED(status)) break;
    if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP) {
      user_regs_struct regs;
      ptrace(PTRACE_GETREGS, c, nullptr, &regs);
      ptrace(PTRACE_SETREGS, c, nullptr, &regs);
      ptrace(PTRACE_CONT, c, nullptr, nullptr);
    } else {
      ptrace(PTRACE_CONT, c, nullptr, reinterpret_cast<void*>(uintptr_t(WSTOPSIG(status))));
    }
  }
  double ns = -1;
  if (read(p[0], &ns, sizeof ns) != ssize_t(sizeof ns)) ns = -1;
  close(p[0]);
  return ns;
}

// ---- Mach exceptions to a handler task --------------------------------------
// The handler runs in this (the parent) process.
double bench_mach(exception_behavior_t behavior) {
  const int n = g_iters;
  int go[2], result[2];
  if (pipe(go) != 0 || pipe(result) != 0) return -1;
  pid_t c = fork();
  if (c == 0) {
    close(go[1]);
    close(result[0]);
    char x;
    if (read(go[0], &x, 1) != 1) _exit(1);
    const double ns = faults(n);
    (void)!write(result[1], &ns, sizeof ns);
    _exit(0);
  }
  close(go[0]);
  close(result[1]);
  mach_port_t task = MACH_PORT_NULL;
  for (int i = 0; i < 500 && task_for_pid(mach_task_self(), c, &task) != KERN_SUCCESS; i++) usleep(10000);
  mach_port_t port = MACH_PORT_NULL;
  mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port);
  mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND);
  double ns = -1;
  if (task_set_exception_ports(task, EXC_MASK_BREAKPOINT, port, behavior, x86_THREAD_STATE64) == KERN_SUCCESS &&
      write(go[1], "g", 1) == 1) {
    // As mach_msg_server does: each reply goes out with the receive of the
    // next request in one mach_msg (the request then lands in the reply's
    // buffer, and the buffers swap).
    const int total = n + n / 10;
    union Buffer {
      mach_msg_header_t head;
      uint8_t bytes[8192];
    };
    static Buffer a, b;
    Buffer* req = &a;
    Buffer* rep = &b;
    mach_msg_return_t mr = mach_msg(&req->head, MACH_RCV_MSG, 0, sizeof *req, port, 0, MACH_PORT_NULL);
    for (int i = 0; i < total && mr == MACH_MSG_SUCCESS; i++) {
      mach_exc_server(&req->head, &rep->head);
      const bool last = i + 1 == total;
      mr = mach_msg(&rep->head, MACH_SEND_MSG | (last ? 0 : MACH_RCV_MSG), rep->head.msgh_size,
                    last ? 0 : sizeof *rep, last ? MACH_PORT_NULL : port, 0, MACH_PORT_NULL);
      std::swap(req, rep);
    }
    if (read(result[0], &ns, sizeof ns) != ssize_t(sizeof ns)) ns = -1;
  }
  kill(c, SIGKILL);
  waitpid(c, nullptr, 0);
  close(go[1]);
  close(result[0]);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
  mach_port_deallocate(mach_task_self(), task);
  return ns;
}

}  // namespace

extern "C" {
kern_return_t catch_mach_exception_raise(mach_port_t, mach_port_t thread, mach_port_t task, exception_type_t,
                                         mach_exception_data_t, mach_msg_type_number_t) {
  mach_port_deallocate(mach_task_self(), thread);
  mach_port_deallocate(mach_task_self(), task);
  return KERN_SUCCESS;
}
kern_return_t catch_mach_exception_raise_state(mach_port_t, exception_type_t, const mach_exception_data_t,
                                               mach_msg_type_number_t, int*, const thread_state_t old_state,
                                               mach_msg_type_number_t old_count, thread_state_t new_state,
                                               mach_msg_type_number_t* new_count) {
  memcpy(new_state, old_state, old_count * sizeof(natural_t));
  *new_count = old_count;
  return KERN_SUCCESS;
}
// (The test servers are generated with the identity-protected routines too.)
kern_return_t catch_mach_exception_raise_identity_protected(mach_port_t, uint64_t, mach_port_t, exception_type_t,
                                                            mach_exception_data_t, mach_msg_type_number_t) {
  return KERN_FAILURE;
}
kern_return_t catch_mach_exception_raise_state_identity_protected(mach_port_t, uint64_t, mach_port_t,
                                                                  exception_type_t, mach_exception_data_t,
                                                                  mach_msg_type_number_t, int*, thread_state_t,
                                                                  mach_msg_type_number_t, thread_state_t,
                                                                  mach_msg_type_number_t*) {
  return KERN_FAILURE;
}
kern_return_t catch_mach_exception_raise_backtrace(mach_port_t, mach_port_t, exception_type_t, mach_exception_data_t,
                                                   mach_msg_type_number_t) {
  return KERN_FAILURE;
}
kern_return_t catch_mach_exception_raise_state_identity(mach_port_t, mach_port_t thread, mach_port_t task,
                                                        exception_type_t, mach_exception_data_t, mach_msg_type_number_t,
                                                        int*, thread_state_t old_state, mach_msg_type_number_t old_count,
                                                        thread_state_t new_state, mach_msg_type_number_t* new_count) {
  memcpy(new_state, old_state, old_count * sizeof(natural_t));
  *new_count = old_count;
  mach_port_deallocate(mach_task_self(), thread);
  mach_port_deallocate(mach_task_self(), task);
  return KERN_SUCCESS;
}
}

int main(int argc, char** argv) {
  testsupport::PrivateMachd daemon;
  if (int rc = testsupport::start_pinned_bench("exception_bench", argc, argv, &g_iters, daemon)) return rc;
  const double signal_ns = bench_signal();
  const double ptrace_ns = bench_ptrace();
  const double mach_ns = bench_mach(exception_behavior_t(EXCEPTION_DEFAULT | MACH_EXCEPTION_CODES));
  const double state_ns = bench_mach(exception_behavior_t(EXCEPTION_STATE_IDENTITY | MACH_EXCEPTION_CODES));
  const double bare_ns = bench_mach(exception_behavior_t(EXCEPTION_STATE | MACH_EXCEPTION_CODES));
  daemon.stop();
  printf("exceptions, all on CPU 0, int3, %d faults\n", g_iters);
  printf("  %-44s %9.1f ns\n", "in-task signal handler (floor)", signal_ns);
  printf("  %-44s %9.1f ns\n", "ptrace tracer fixing the registers (floor)", ptrace_ns);
  printf("  %-44s %9.1f ns   %.2fx signal (target <= 2.5x), %.2fx ptrace (target <= 1.0x)\n",
         "Mach exception, handler task (DEFAULT)", mach_ns, mach_ns / signal_ns, mach_ns / ptrace_ns);
  printf("  %-44s %9.1f ns   %.2fx signal, %.2fx ptrace\n", "Mach exception, STATE_IDENTITY (state both ways)",
         state_ns, state_ns / signal_ns, state_ns / ptrace_ns);
  printf("  %-44s %9.1f ns   %.2fx signal, %.2fx ptrace\n", "Mach exception, STATE (no port rights to drop)",
         bare_ns, bare_ns / signal_ns, bare_ns / ptrace_ns);
  return 0;
}
