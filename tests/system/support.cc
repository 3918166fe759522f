// tests/system/support.cc — see support.h.
#include "support.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <mach/mach_vm.h>
#include <machd/machd_debug.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "../common/port_rights.h"

namespace systest {

namespace {
std::string g_socket;
std::atomic<int> g_unique{0};

void sleep_ms(int ms) {
  timespec ts{ms / 1000, long(ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}
}  // namespace

void set_machd(const std::string& socket) { g_socket = socket; }
const std::string& machd_socket() { return g_socket; }

int run_as_nobody(const std::function<int()>& body) {
  const std::string sock = machd_socket();
  const std::string dir = sock.substr(0, sock.rfind('/'));
  struct stat dst{}, sst{};
  if (stat(dir.c_str(), &dst) != 0 || stat(sock.c_str(), &sst) != 0) return -1;
  chmod(dir.c_str(), 0711);
  chmod(sock.c_str(), 0777);
  pid_t w = spawn_task([&] {
    if (geteuid() != 0 || !become_nobody()) return 10;
    return wait_exit(spawn_task(body));
  });
  const int rc = wait_exit(w);
  chmod(dir.c_str(), dst.st_mode & 07777);
  chmod(sock.c_str(), sst.st_mode & 07777);
  return rc;
}

bool become_nobody() {
  if (geteuid() != 0) return true;
  return setgid(65534) == 0 && setuid(65534) == 0;
}

uint8_t* map_object(mach_port_t object, uint64_t size, uint64_t offset, vm_prot_t prot, boolean_t copy,
                    kern_return_t* out) {
  mach_vm_address_t a = 0;
  kern_return_t kr = mach_vm_map(mach_task_self(), &a, size, 0, VM_FLAGS_ANYWHERE, object, offset, copy, prot,
                                 VM_PROT_ALL, VM_INHERIT_DEFAULT);
  if (out) *out = kr;
  return kr == KERN_SUCCESS ? reinterpret_cast<uint8_t*>(a) : nullptr;
}

uint8_t* map_named_object(const std::string& name, uint64_t size, mach_port_t* object) {
  const mach_port_t o = look_up(name);
  if (object) *object = o;
  return MACH_PORT_VALID(o) ? map_object(o, size) : nullptr;
}

uint8_t* find_region() {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  uint8_t* found = nullptr;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long a;
    if (strstr(line, "memfd:machd-task") && sscanf(line, "%lx", &a) == 1) {
      found = reinterpret_cast<uint8_t*>(a);
      break;
    }
  }
  if (f) fclose(f);
  return found;
}

pid_t spawn_task(const std::function<int()>& body) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
    }
    _exit(code);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int wait_exit_for(pid_t pid, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    sleep_ms(10);
  }
  return -1;
}

int reap_within(pid_t pid, int timeout_ms) {
  int code = wait_exit_for(pid, timeout_ms);
  if (code < 0) {
    kill(pid, SIGKILL);
    wait_exit(pid);
  }
  return code;
}

mach_msg_return_t send_simple(mach_port_t dest, int32_t value, const char* text, mach_port_t reply,
                              mach_msg_type_name_t dest_type, mach_msg_type_name_t reply_type,
                              mach_msg_option_t extra, mach_msg_timeout_t timeout) {
  SimpleMsg m{};
  m.head.msgh_bits = MACH_MSGH_BITS(dest_type, reply == MACH_PORT_NULL ? 0 : reply_type);
  m.head.msgh_size = sizeof m;
  m.head.msgh_remote_port = dest;
  m.head.msgh_local_port = reply;
  m.head.msgh_id = 1000 + value;
  m.value = value;
  if (text) strncpy(m.text, text, sizeof m.text - 1);
  return mach_msg(&m.head, MACH_SEND_MSG | extra, sizeof m, 0, MACH_PORT_NULL, timeout, MACH_PORT_NULL);
}

mach_msg_return_t send_right(mach_port_t dest, mach_port_t right, mach_msg_type_name_t disposition) {
  return testsupport::send_port_right(dest, right, disposition);
}

mach_port_t receive_right(mach_port_t port, int timeout_ms) { return testsupport::receive_port_right(port, timeout_ms); }

mach_port_t trade_inbox(const std::string& name) {
  mach_port_t parent = look_up(name);
  if (parent == MACH_PORT_NULL) return MACH_PORT_NULL;
  mach_port_t inbox = make_port();
  if (send_right(parent, inbox, MACH_MSG_TYPE_MAKE_SEND) != MACH_MSG_SUCCESS) return MACH_PORT_NULL;
  return inbox;
}

mach_msg_return_t receive_simple(mach_port_t port, SimpleRcv& out, int timeout_ms) {
  memset(&out, 0, sizeof out);
  mach_msg_option_t opt = MACH_RCV_MSG | MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
                          MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT);
  if (timeout_ms >= 0) opt |= MACH_RCV_TIMEOUT;
  return mach_msg(&out.msg.head, opt, 0, sizeof out, port, timeout_ms < 0 ? 0 : mach_msg_timeout_t(timeout_ms),
                  MACH_PORT_NULL);
}

mach_port_t make_port() {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return MACH_PORT_NULL;
  mach_port_insert_right(mach_task_self(), p, p, MACH_MSG_TYPE_MAKE_SEND);
  return p;
}

void set_qlimit(mach_port_t port, mach_port_msgcount_t limit) {
  mach_port_limits_t lim{limit};
  ASSERT_EQ(mach_port_set_attributes(mach_task_self(), port, MACH_PORT_LIMITS_INFO,
                                     reinterpret_cast<mach_port_info_t>(&lim), MACH_PORT_LIMITS_INFO_COUNT),
            KERN_SUCCESS);
}

mach_port_msgcount_t queued(mach_port_t port) {
  mach_port_status_t st{};
  mach_msg_type_number_t n = MACH_PORT_RECEIVE_STATUS_COUNT;
  if (mach_port_get_attributes(mach_task_self(), port, MACH_PORT_RECEIVE_STATUS,
                               reinterpret_cast<mach_port_info_t>(&st), &n) != KERN_SUCCESS)
    return ~0u;
  return st.mps_msgcount;
}

const mach_msg_audit_trailer_t* audit_of(const SimpleRcv& r) {
  return reinterpret_cast<const mach_msg_audit_trailer_t*>(reinterpret_cast<const uint8_t*>(&r.msg) +
                                                          ((r.msg.head.msgh_size + 3) & ~3u));
}

std::string check_in_unique(const char* prefix, mach_port_t* port) {
  std::string name = std::string("org.machd.test.") + prefix + "." + std::to_string(getpid()) + "." +
                     std::to_string(g_unique.fetch_add(1));
  if (bootstrap_check_in(bootstrap_port, name.c_str(), port) != KERN_SUCCESS) return "";
  return name;
}

mach_port_t look_up(const std::string& name) {
  for (int i = 0; i < 500; ++i) {
    mach_port_t p = MACH_PORT_NULL;
    kern_return_t kr = bootstrap_look_up(bootstrap_port, name.c_str(), &p);
    if (kr == KERN_SUCCESS) return p;
    if (kr != BOOTSTRAP_UNKNOWN_SERVICE) return MACH_PORT_NULL;
    sleep_ms(10);
  }
  return MACH_PORT_NULL;
}

Holdings holdings() {
  machd_debug_stats_t s{};
  machd_debug_get_stats(&s);
  return Holdings{s.tasks,          s.ports,     s.messages, s.ool_payloads,  s.waiters,
                  s.memfd_payloads, s.rss_bytes, s.vouchers, s.voucher_values};
}

bool wait_for_tasks(uint64_t tasks) {
  for (int i = 0; i < 500; ++i) {
    if (holdings().tasks == tasks) return true;
    sleep_ms(10);
  }
  return false;
}

pid_t tid_of(mach_port_t thread) {
  thread_identifier_info_data_t id{};
  mach_msg_type_number_t n = THREAD_IDENTIFIER_INFO_COUNT;
  if (thread_info(thread, THREAD_IDENTIFIER_INFO, reinterpret_cast<thread_info_t>(&id), &n) != KERN_SUCCESS)
    return -1;
  return pid_t(id.thread_id);
}

mach_port_t thread_of_tid(mach_port_t task, pid_t tid) {
  thread_act_array_t list = nullptr;
  mach_msg_type_number_t n = 0;
  if (task_threads(task, &list, &n) != KERN_SUCCESS) return MACH_PORT_NULL;
  mach_port_t found = MACH_PORT_NULL;
  for (mach_msg_type_number_t i = 0; i < n; ++i) {
    if (found == MACH_PORT_NULL && tid_of(list[i]) == tid) found = list[i];
    else mach_port_deallocate(mach_task_self(), list[i]);
  }
  vm_deallocate(mach_task_self(), vm_address_t(list), n * sizeof(mach_port_t));
  return found;
}

}  // namespace systest

namespace systest {

pid_t spawn_helper(const std::string& socket, const char* mode, int* out, int* in,
                   const std::function<bool()>& in_child) {
  const char* helper = getenv("TASK_HELPER");
  int o[2] = {-1, -1}, i[2] = {-1, -1};
  if ((out && pipe2(o, O_CLOEXEC) != 0) || (in && pipe2(i, O_CLOEXEC) != 0)) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    if (out) dup2(o[1], 1);
    if (in) dup2(i[0], 0);
    setenv("MACHD_SOCKET", socket.c_str(), 1);
    if (in_child && !in_child()) _exit(126);
    if (helper) execl(helper, helper, mode, static_cast<char*>(nullptr));
    _exit(127);
  }
  if (out) {
    close(o[1]);
    *out = o[0];
  }
  if (in) {
    close(i[0]);
    *in = i[1];
  }
  return pid;
}

namespace {
int status_number(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0) return atoi(line.c_str() + field.size());
  return -1;
}
}  // namespace

int seccomp_mode(pid_t pid) { return status_number(pid, "Seccomp:"); }
int seccomp_filters(pid_t pid) { return status_number(pid, "Seccomp_filters:"); }

std::string read_line(int fd, int timeout_ms) {
  std::string line;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    char c;
    if (left.count() <= 0 || poll(&p, 1, int(left.count())) != 1 || read(fd, &c, 1) != 1) return "";
    if (c == '\n') return line;
    line += c;
  }
}

}  // namespace systest
