// tests/mig/runtime/main.cc — starts a private machd and the rtproof server
// task, then runs the tests.
//
// machd runs with --socket in a fresh temporary directory; MACHD_SOCKET
// points there before the first Mach call, so this process and its children
// use it. The server is a forked child: a new task with only its special
// ports, which checks in a unique bootstrap name that the test process then
// looks up. At the end the server is told to quit (it must exit 0) and machd
// gets SIGTERM (it must exit 0).
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>

#include "../../common/private_machd.h"
#include "harness.h"
#include "rtproof.h"

namespace {

mach_port_t g_server = MACH_PORT_NULL;
pid_t g_server_pid = -1;

void sleep_ms(int ms) {
  timespec ts{ms / 1000, long(ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

// Waits up to timeout_ms for pid; its exit code, 128+signal, or -1.
int wait_exit_for(pid_t pid, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    sleep_ms(10);
  }
  return -1;
}

// Forks the server task; returns a send right to its port.
mach_port_t start_server(pid_t* pid) {
  std::string name = "org.machd.test.mig-runtime." + std::to_string(getpid());
  fflush(stdout);
  fflush(stderr);
  *pid = fork();
  if (*pid == 0) {
    mach_port_t port = MACH_PORT_NULL;
    if (bootstrap_check_in(bootstrap_port, name.c_str(), &port) != KERN_SUCCESS) _exit(3);
    _exit(rt::serve(port));
  }
  for (int i = 0; i < 500; ++i) {
    mach_port_t p = MACH_PORT_NULL;
    kern_return_t kr = bootstrap_look_up(bootstrap_port, name.c_str(), &p);
    if (kr == KERN_SUCCESS) return p;
    if (kr != BOOTSTRAP_UNKNOWN_SERVICE) break;
    sleep_ms(10);
  }
  return MACH_PORT_NULL;
}

}  // namespace

namespace rt {

mach_port_t server_port() { return g_server; }
pid_t server_pid() { return g_server_pid; }

Holdings holdings() {
  machd_debug_stats_t s{};
  machd_debug_get_stats(&s);
  return Holdings{s.ports, s.messages, s.ool_payloads, s.memfd_payloads};
}

Holdings settle_to(const Holdings& want) {
  Holdings h = holdings();
  for (int i = 0; i < 300 && !(h == want); ++i) {
    sleep_ms(10);
    h = holdings();
  }
  return h;
}

std::string to_string(const Holdings& h) {
  return "{ports " + std::to_string(h.ports) + ", messages " + std::to_string(h.messages) + ", ool_payloads " +
         std::to_string(h.ool_payloads) + ", memfd_payloads " + std::to_string(h.memfd_payloads) + "}";
}

std::vector<Name> own_names() {
  mach_port_name_array_t names = nullptr;
  mach_port_type_array_t types = nullptr;
  mach_msg_type_number_t n = 0, tn = 0;
  std::vector<Name> out;
  if (mach_port_names(mach_task_self(), &names, &n, &types, &tn) != KERN_SUCCESS) return out;
  for (mach_msg_type_number_t i = 0; i < n; ++i) out.push_back({names[i], types[i]});
  vm_deallocate(mach_task_self(), vm_address_t(names), n * sizeof *names);
  vm_deallocate(mach_task_self(), vm_address_t(types), tn * sizeof *types);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Name> server_names(int* send_once) {
  rp_names_t names = nullptr, types = nullptr;
  mach_msg_type_number_t n = 0, tn = 0;
  std::vector<Name> out;
  int once = 0;
  if (rp_census(g_server, &names, &n, &types, &tn) != KERN_SUCCESS || n != tn) return {{0, 0xdeadu}};
  for (mach_msg_type_number_t i = 0; i < n; ++i) {
    if (types[i] == MACH_PORT_TYPE_SEND_ONCE) {
      ++once;
      continue;
    }
    out.push_back({names[i], types[i]});
  }
  vm_deallocate(mach_task_self(), vm_address_t(names), n * sizeof *names);
  vm_deallocate(mach_task_self(), vm_address_t(types), tn * sizeof *types);
  std::sort(out.begin(), out.end());
  if (send_once) *send_once = once;
  return out;
}

std::string to_string(const std::vector<Name>& names) {
  std::string s;
  char buf[48];
  for (const Name& n : names) {
    snprintf(buf, sizeof buf, " 0x%x:0x%x", n.name, n.type);
    s += buf;
  }
  return "{" + s + " }";
}

mach_port_t make_port() {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return MACH_PORT_NULL;
  mach_port_insert_right(mach_task_self(), p, p, MACH_MSG_TYPE_MAKE_SEND);
  return p;
}

int receive_id(mach_port_t port, int timeout_ms) {
  struct {
    mach_msg_header_t h;
    char body[256];
    mach_msg_max_trailer_t t;
  } m{};
  mach_msg_return_t mr =
      mach_msg(&m.h, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, port, mach_msg_timeout_t(timeout_ms), MACH_PORT_NULL);
  if (mr != MACH_MSG_SUCCESS) return -1;
  int id = m.h.msgh_id;
  mach_msg_destroy(&m.h);
  return id;
}

kern_return_t request_no_senders(mach_port_t port) {
  mach_port_t prev = MACH_PORT_NULL;
  kern_return_t kr = mach_port_request_notification(mach_task_self(), port, MACH_NOTIFY_NO_SENDERS, 0, port,
                                                    MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev);
  if (kr == KERN_SUCCESS && prev != MACH_PORT_NULL) mach_port_deallocate(mach_task_self(), prev);
  return kr;
}

vm_address_t alloc_pattern(size_t len, unsigned seed) {
  vm_address_t a = 0;
  if (vm_allocate(mach_task_self(), &a, len, VM_FLAGS_ANYWHERE) != KERN_SUCCESS) return 0;
  auto* p = reinterpret_cast<unsigned char*>(a);
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<unsigned char>((i * 131 + seed * 7 + (i >> 12)) & 0xff);
  return a;
}

void PrintTo(const Holdings& h, std::ostream* os) { *os << to_string(h); }
void PrintTo(const Name& n, std::ostream* os) { *os << to_string(std::vector<Name>{n}); }

void NoLeak::SetUp() {
  // The thread's MIG reply port exists before the baseline is taken.
  int32_t count = 0, last = 0;
  ASSERT_EQ(rp_notes(g_server, &count, &last), KERN_SUCCESS);
  server_before_ = server_names(&server_once_before_);
  own_before_ = own_names();
  before_ = holdings();
}

void NoLeak::ExpectNothingLeaked() {
  Holdings now = settle_to(before_);
  EXPECT_EQ(now, before_) << "machd's holdings differ from the baseline";
  int once = 0;
  std::vector<Name> srv = server_names(&once);
  EXPECT_EQ(srv, server_before_) << "server names now " << to_string(srv) << ", before " << to_string(server_before_);
  EXPECT_EQ(once, server_once_before_) << "send-once rights in the server";
  std::vector<Name> own = own_names();
  EXPECT_EQ(own, own_before_) << "own names now " << to_string(own) << ", before " << to_string(own_before_);
}

}  // namespace rt

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  testsupport::PrivateMachd daemon;
  if (!testsupport::start_and_join(daemon)) return 2;

  g_server = start_server(&g_server_pid);
  if (g_server == MACH_PORT_NULL) {
    fprintf(stderr, "the rtproof server did not check in\n");
    if (g_server_pid > 0) kill(g_server_pid, SIGKILL);
    return 2;
  }

  int rc = RUN_ALL_TESTS();

  // quit is a simpleroutine: the server leaves its loop and exits 0.
  kern_return_t kr = rp_quit(g_server);
  int server_exit = kr == KERN_SUCCESS ? wait_exit_for(g_server_pid, 5000) : -1;
  if (server_exit != 0) {
    fprintf(stderr, "the rtproof server did not exit cleanly after quit (rp_quit %d, exit %d)\n", kr, server_exit);
    kill(g_server_pid, SIGKILL);
    waitpid(g_server_pid, nullptr, 0);
    if (rc == 0) rc = 1;
  }
  return testsupport::stop_and_check(daemon, rc);
}
