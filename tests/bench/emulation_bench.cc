// tests/bench/emulation_bench.cc — system call redirection
// (<mach/emulation.h>) beside its floors, measured in the same run, every
// process (machd included) pinned to CPU 0.
//
//   emulation_bench [--machd PATH] [--iters N]
//
// Rows (per call; the call is getppid, which does almost nothing):
//   native            getppid in a process with no filter
//   not redirected    getppid in a task whose filter redirects another call
//                     (target: no measurable difference from native)
//   SUD floor         a bare Syscall User Dispatch SIGSYS round trip: the
//                     handler sets rax and returns (selector to ALLOW in the
//                     handler, back to BLOCK before the next call)
//   in-task routine   getppid redirected to a routine in the task
//                     (target <= 1.1x the SUD floor)
//   USER_NOTIF floor  a SECCOMP_RET_USER_NOTIF round trip: a supervisor
//                     thread answers each notification with a value
//   server task       getppid redirected to an emulation server task
//                     (mach_emulation_serve): an emulation_syscall request
//                     and its reply through machd (target <= 1.1x USER_NOTIF)
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <mach/emulation.h>
#include <mach/mach.h>
#include <pthread.h>
#include <sched.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../common/pinned_bench.h"

using testsupport::in_child;
using testsupport::now_ns;

namespace {

int g_iters = 200000;



double per_call(int n, long (*call)()) {
  for (int i = 0; i < n / 10; i++) call();
  const double t0 = now_ns();
  for (int i = 0; i < n; i++) call();
  return (now_ns() - t0) / n;
}

long raw_getppid() { return syscall(SYS_getppid); }


// ---- SUD floor -----------------------------------------------------------
volatile char g_selector = SYSCALL_DISPATCH_FILTER_ALLOW;

void sud_handler(int, siginfo_t*, void* ucv) {
  g_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
  static_cast<ucontext_t*>(ucv)->uc_mcontext.gregs[REG_RAX] = 1;
}

long sud_call() {
  g_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
  return syscall(SYS_getppid);
}

double bench_sud() {
  return in_child([] {
    struct sigaction sa {};
    sa.sa_sigaction = sud_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSYS, &sa, nullptr);
    // The allowed region: none (one byte of page zero).
    if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 1, &g_selector) != 0) return -1.0;
    double ns = per_call(g_iters, sud_call);
    g_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
    return ns;
  });
}

// ---- redirected in the task ----------------------------------------------
int64_t routine(mach_emulation_call_t*) { return 1; }

double bench_routine(bool redirect_it) {
  return in_child([redirect_it] {
    const int nr = redirect_it ? SYS_getppid : SYS_getpgid;  // getpgid: some other call
    if (mach_emulation_set(mach_task_self(), &nr, 1, vm_address_t(routine)) != KERN_SUCCESS) return -1.0;
    return per_call(redirect_it ? g_iters : g_iters * 5, raw_getppid);
  });
}

// ---- USER_NOTIF floor -----------------------------------------------------
void* supervise(void* p) {
  const int fd = *static_cast<int*>(p);
  seccomp_notif req;
  seccomp_notif_resp resp;
  for (;;) {
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) return nullptr;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.val = 1;
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) return nullptr;
  }
}

double bench_user_notif() {
  return in_child([] {
    sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{sizeof f / sizeof f[0], f};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    // Only this thread is filtered (no TSYNC): the supervisor thread is not.
    static int fd = int(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
    if (fd < 0) return -1.0;
    pthread_t t;
    pthread_create(&t, nullptr, supervise, &fd);
    return per_call(g_iters / 4, raw_getppid);
  });
}

// ---- redirected to a server task ------------------------------------------
int64_t serve_one(void*, pid_t, int, int, const int64_t*) { return 1; }

double bench_server() {
  const std::string name = "emulation_bench." + std::to_string(getpid());
  pid_t server = fork();
  if (server == 0) {
    mach_port_t p = MACH_PORT_NULL;
    if (bootstrap_check_in(bootstrap_port, name.c_str(), &p) != KERN_SUCCESS) _exit(1);
    mach_emulation_serve(p, serve_one, nullptr);
    _exit(0);
  }
  double ns = in_child([&name] {
    mach_port_t s = MACH_PORT_NULL;
    for (int i = 0; i < 500 && bootstrap_look_up(bootstrap_port, name.c_str(), &s) != KERN_SUCCESS; i++)
      usleep(10000);
    const int nr = SYS_getppid;
    if (mach_emulation_set_server(mach_task_self(), &nr, 1, s) != KERN_SUCCESS) return -1.0;
    return per_call(g_iters / 4, raw_getppid);
  });
  kill(server, SIGKILL);
  waitpid(server, nullptr, 0);
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  testsupport::PrivateMachd daemon;
  if (int rc = testsupport::start_pinned_bench("emulation_bench", argc, argv, &g_iters, daemon)) return rc;
  const double native = in_child([] { return per_call(g_iters * 5, raw_getppid); });
  const double other = bench_routine(false);
  const double sud = bench_sud();
  const double routine_ns = bench_routine(true);
  const double notif = bench_user_notif();
  const double server_ns = bench_server();
  daemon.stop();
  printf("system call redirection, all on CPU 0, getppid, %d iterations\n", g_iters);
  printf("  %-34s %9.1f ns\n", "native", native);
  printf("  %-34s %9.1f ns   %.2fx native (target: no measurable difference)\n", "not redirected (filter installed)",
         other, other / native);
  printf("  %-34s %9.1f ns\n", "SUD SIGSYS round trip (floor)", sud);
  printf("  %-34s %9.1f ns   %.2fx the SUD floor (target <= 1.10x)\n", "in-task routine", routine_ns,
         routine_ns / sud);
  printf("  %-34s %9.1f ns\n", "USER_NOTIF supervisor (floor)", notif);
  printf("  %-34s %9.1f ns   %.2fx the USER_NOTIF floor (target <= 1.10x)\n", "emulation server task", server_ns,
         server_ns / notif);
  return 0;
}
