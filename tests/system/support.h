// tests/system/support.h — helpers for multi-process tests against a real
// machd. The test binary is itself a Mach task (it links libmach-compat);
// forked children become new tasks (see fork semantics in connection.h).
#pragma once

#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <sys/types.h>
#include <unistd.h>

#include <functional>
#include <string>

// Skips a test that needs this process to be root: a root task's host
// port is host_priv (XNU's set_security_token), and with it the processor
// ports and the host special ports. Run as another user, the suite skips it
// and says so.
#define SKIP_UNLESS_ROOT()                                                                     \
  do {                                                                                         \
    if (geteuid() != 0) GTEST_SKIP() << "needs root: only a root task's host port is host_priv"; \
  } while (0)

namespace systest {

// The machd every test of this binary talks to (started by main()).
const std::string& machd_socket();

// Runs `body` in a forked child task; the child exits with body's return
// value (or 99 if it threw). Returns the child's pid.
// Under gcc's AddressSanitizer a fork while another thread of this process
// is inside the allocator leaves its lock held in the child, whose agent
// thread then never starts: let a thread a test starts settle first (see
// TestPager::start in pager_test.cc).
pid_t spawn_task(const std::function<int()>& body);
// Waits for pid; returns its exit code, or 128+signal.
int wait_exit(pid_t pid);
// Waits up to timeout_ms for pid to exit; returns -1 if still running.
int wait_exit_for(pid_t pid, int timeout_ms);
// Waits up to timeout_ms for pid to exit, then kills it; returns its exit
// code, or -1 if it had to be killed.
int reap_within(pid_t pid, int timeout_ms);

// Runs `body` in a task of user nobody (65534): a forked worker drops to
// nobody, then forks the task that connects. The private machd's socket and
// its directory are opened to other users meanwhile, then restored. Needs
// root. Returns body's exit code (128+signal), or -1 if the socket could not
// be opened.
int run_as_nobody(const std::function<int()>& body);

// In a child about to exec a task as another user: as root, becomes user
// nobody (65534); as anyone else, stays who it is. False if that failed.
bool become_nobody();

// Starts `$TASK_HELPER mode` (task_helper.c) as a task of the machd at
// `socket`. If `out` is given, *out is the read end of a pipe the helper's
// stdout goes to; if `in` is given, *in is the write end of a pipe that is
// its stdin. `in_child`, if given, runs in the child before exec; false
// makes the child exit 126. Returns the pid (-1 if fork failed).
pid_t spawn_helper(const std::string& socket, const char* mode, int* out = nullptr, int* in = nullptr,
                   const std::function<bool()>& in_child = {});
// "Seccomp:" of /proc/PID/status: 0 no filter, 2 a filter; -1 if unreadable.
int seccomp_mode(pid_t pid);
// "Seccomp_filters:" of /proc/PID/status: how many filters the process runs
// under (a container's own included); -1 if unreadable.
int seccomp_filters(pid_t pid);
// One line from `fd` (without its newline) read within timeout_ms; "" if
// none came.
std::string read_line(int fd, int timeout_ms = 10000);

// A simple message: header + an int payload + 64 bytes of text.
struct SimpleMsg {
  mach_msg_header_t head;
  int32_t value;
  char text[64];
};
struct SimpleRcv {
  SimpleMsg msg;
  mach_msg_max_trailer_t trailer;
};

// Sends a simple message to `dest` (COPY_SEND unless dest_type given) with
// optional reply port (MAKE_SEND_ONCE by default).
mach_msg_return_t send_simple(mach_port_t dest, int32_t value, const char* text,
                              mach_port_t reply = MACH_PORT_NULL,
                              mach_msg_type_name_t dest_type = MACH_MSG_TYPE_COPY_SEND,
                              mach_msg_type_name_t reply_type = MACH_MSG_TYPE_MAKE_SEND_ONCE,
                              mach_msg_option_t extra = 0, mach_msg_timeout_t timeout = 0);
// Sends `right` with `disposition` to `dest` (COPY_SEND) in a message with
// one port descriptor.
mach_msg_return_t send_right(mach_port_t dest, mach_port_t right, mach_msg_type_name_t disposition);

// Receives a message carrying one port descriptor (as send_right sends it)
// from `port` within timeout_ms; the right's name here, or MACH_PORT_NULL.
mach_port_t receive_right(mach_port_t port, int timeout_ms = 10000);

// Receives into `out` from `port` (timeout_ms < 0: wait forever), asking for
// the audit trailer.
mach_msg_return_t receive_simple(mach_port_t port, SimpleRcv& out, int timeout_ms = -1);

// In a child task: a fresh port whose send right is sent to the port the
// parent checked in under `name` (the parent gets it with receive_right);
// returns the port, on which the child then receives what the parent sends.
mach_port_t trade_inbox(const std::string& name);
// A fresh receive right with a send right under the same name.
mach_port_t make_port();
// Sets the queue limit of `port` (a gtest failure if machd refuses).
void set_qlimit(mach_port_t port, mach_port_msgcount_t limit);
// Messages queued on `port` (mps_msgcount), or ~0u if the call fails.
mach_port_msgcount_t queued(mach_port_t port);
// The trailer receive_simple() asked for, right after the message.
const mach_msg_audit_trailer_t* audit_of(const SimpleRcv& r);

// Registers a receive right under a unique bootstrap name, returns the name.
std::string check_in_unique(const char* prefix, mach_port_t* port);
// bootstrap_look_up, retrying for up to 5 s while the name is unknown.
mach_port_t look_up(const std::string& name);

// Maps the memory object `object` (a pager's port) into this task at any
// address with mach_vm_map (copy as given, cur protection `prot`, max
// VM_PROT_ALL); the address, or nullptr with *out (if given) the error.
uint8_t* map_object(mach_port_t object, uint64_t size, uint64_t offset = 0, vm_prot_t prot = VM_PROT_DEFAULT,
                    boolean_t copy = FALSE, kern_return_t* out = nullptr);

// Looks the object up by its bootstrap name (look_up) and maps it as
// map_object does (copy FALSE, VM_PROT_DEFAULT); nullptr on failure.
// *object, if given, gets the send right (the caller releases it); else it
// is kept for the task's life.
uint8_t* map_named_object(const std::string& name, uint64_t size, mach_port_t* object = nullptr);

// This task's shared region with machd (the memfd mapping), or nullptr.
uint8_t* find_region();

// machd's current holdings.
struct Holdings {
  uint64_t tasks, ports, messages, ool_payloads, waiters, memfd_payloads, rss_bytes, vouchers, voucher_values;
};
Holdings holdings();
// Waits (up to 5 s) until machd's task count is `tasks`.
bool wait_for_tasks(uint64_t tasks);

// The Linux tid a thread port names (THREAD_IDENTIFIER_INFO), -1 on error.
pid_t tid_of(mach_port_t thread);
// The control port of thread `tid` of `task` (from task_threads; the
// caller owns the send right), MACH_PORT_NULL if none.
mach_port_t thread_of_tid(mach_port_t task, pid_t tid);

}  // namespace systest
