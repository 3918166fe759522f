// tests/bench/vm_bench.cc — reading and writing another task's memory.
//
//   vm_bench [--machd PATH] [--size BYTES] [--iters N]
//
// Starts a private machd (pinned with this process and the worker to CPU 0,
// as `taskset -c 0` would) and a forked worker task holding a buffer, then
// times, per call on `size` bytes (default 1 MiB):
//   mach_vm_read   of the worker's buffer (reply carries the data out of line)
//   mach_vm_read_overwrite into a buffer here
//   mach_vm_write  into the worker's buffer
// beside the Linux floor measured in the same run: process_vm_readv and
// process_vm_writev of the same bytes straight between the two processes.
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <sched.h>
#include <servers/bootstrap.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../common/private_machd.h"

namespace {

double now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e6 + double(ts.tv_nsec) / 1e3;
}

template <typename F>
double per_call_us(long iters, F f) {
  for (int i = 0; i < 5; ++i) f();  // warm
  double t0 = now_us();
  for (long i = 0; i < iters; ++i)
    if (!f()) return -1;
  return (now_us() - t0) / double(iters);
}

struct PortMsg {
  mach_msg_header_t head;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port;
  mach_msg_max_trailer_t trailer;
};

}  // namespace

int main(int argc, char** argv) {
  std::string machd = getenv("MACHD_BIN") ? getenv("MACHD_BIN") : "";
  size_t size = 1 << 20;
  long iters = 500;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--machd" && i + 1 < argc) machd = argv[++i];
    else if (a == "--size" && i + 1 < argc) size = size_t(atol(argv[++i]));
    else if (a == "--iters" && i + 1 < argc) iters = atol(argv[++i]);
    else {
      fprintf(stderr, "usage: vm_bench [--machd PATH] [--size BYTES] [--iters N]\n");
      return 2;
    }
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  sched_setaffinity(0, sizeof one, &one);
  testsupport::PrivateMachd daemon;
  if (machd.empty() || !daemon.start(machd, "warn", &one)) return 2;
  setenv("MACHD_SOCKET", daemon.socket().c_str(), 1);
  if (mach_reply_port() == MACH_PORT_NULL) {  // connects (and publishes bootstrap_port)
    fprintf(stderr, "vm_bench: cannot reach machd\n");
    return 1;
  }
  mach_port_t rendezvous = MACH_PORT_NULL;
  const std::string name = "org.machd.vm-bench." + std::to_string(getpid());
  if (bootstrap_check_in(bootstrap_port, name.c_str(), &rendezvous) != KERN_SUCCESS) {
    fprintf(stderr, "vm_bench: bootstrap_check_in failed\n");
    return 1;
  }

  // The worker's buffer is at the same address as ours (allocated before fork).
  mach_vm_address_t buf = 0;
  if (mach_vm_allocate(mach_task_self(), &buf, size, VM_FLAGS_ANYWHERE) != KERN_SUCCESS) return 1;
  memset(reinterpret_cast<void*>(buf), 7, size);
  int done[2];
  if (pipe(done) != 0) return 1;
  pid_t worker = fork();
  if (worker == 0) {
    mach_port_t controller = MACH_PORT_NULL;
    for (int i = 0; i < 500 && bootstrap_look_up(bootstrap_port, name.c_str(), &controller) != KERN_SUCCESS; ++i)
      usleep(10000);
    struct {
      mach_msg_header_t head;
      mach_msg_body_t body;
      mach_msg_port_descriptor_t port;
    } m{};
    m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
    m.head.msgh_size = sizeof m;
    m.head.msgh_remote_port = controller;
    m.body.msgh_descriptor_count = 1;
    m.port.name = mach_task_self();
    m.port.disposition = MACH_MSG_TYPE_COPY_SEND;
    m.port.type = MACH_MSG_PORT_DESCRIPTOR;
    mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL);
    char c;
    close(done[1]);
    ssize_t r = read(done[0], &c, 1);
    _exit(r < 0 ? 1 : 0);
  }
  close(done[0]);
  PortMsg pm{};
  if (mach_msg(&pm.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof pm, rendezvous, 10000, MACH_PORT_NULL) !=
      MACH_MSG_SUCCESS) {
    fprintf(stderr, "vm_bench: the worker's task port did not arrive\n");
    return 1;
  }
  const mach_port_t task = pm.port.name;

  std::vector<char> local(size, 1);
  double vm_read_us = per_call_us(iters, [&] {
    vm_offset_t data = 0;
    mach_msg_type_number_t n = 0;
    if (mach_vm_read(task, buf, size, &data, &n) != KERN_SUCCESS) return false;
    return mach_vm_deallocate(mach_task_self(), data, n) == KERN_SUCCESS;
  });
  double vm_read_overwrite_us = per_call_us(iters, [&] {
    mach_vm_size_t out = 0;
    return mach_vm_read_overwrite(task, buf, size, mach_vm_address_t(local.data()), &out) == KERN_SUCCESS;
  });
  double vm_write_us = per_call_us(iters, [&] {
    return mach_vm_write(task, buf, vm_offset_t(local.data()), mach_msg_type_number_t(size)) == KERN_SUCCESS;
  });
  double readv_us = per_call_us(iters, [&] {
    iovec l{local.data(), size}, r{reinterpret_cast<void*>(buf), size};
    return process_vm_readv(worker, &l, 1, &r, 1, 0) == ssize_t(size);
  });
  double writev_us = per_call_us(iters, [&] {
    iovec l{local.data(), size}, r{reinterpret_cast<void*>(buf), size};
    return process_vm_writev(worker, &l, 1, &r, 1, 0) == ssize_t(size);
  });
  close(done[1]);
  waitpid(worker, nullptr, 0);

  const double mib = double(size) / (1 << 20);
  printf("another task's memory, %zu bytes per call, all on CPU 0 (%ld calls each)\n", size, iters);
  printf("  %-28s %10s %10s   %-26s %10s  %s\n", "call", "us/call", "MiB/s", "Linux floor", "us/call", "ratio");
  auto row = [&](const char* what, double us, const char* floor_name, double floor) {
    printf("  %-28s %10.1f %10.0f   %-26s %10.1f  %.2fx\n", what, us, mib / us * 1e6, floor_name, floor, us / floor);
  };
  row("mach_vm_read", vm_read_us, "process_vm_readv", readv_us);
  row("mach_vm_read_overwrite", vm_read_overwrite_us, "process_vm_readv", readv_us);
  row("mach_vm_write", vm_write_us, "process_vm_writev", writev_us);
  return 0;
}
