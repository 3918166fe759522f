// tests/fuzz/daemon_probe.h — the real machd (machd::Daemon, every kernel
// server and the IPC core) in the fuzzer's process, driven without its event
// loop, and one task at a time connected to it as a hostile client would be.
//
// The task's process is a helper child, not the fuzzer: machd signals a
// task's process (task_terminate), writes its memory (mach_vm_write) and
// looks up its threads, and none of that may land in the fuzzer. The helper
// only makes the socket pairs (so SO_PEERCRED and the pidfd name it); the
// probe plays the task's side of the region and the socket itself.
//
//   connect()   hello on a fresh socket pair → Daemon::on_hello (a Session,
//               an ipc task, the welcome and its fds, read and closed here)
//   submit()    a request written into a channel of the shared region, its
//               pending bit set, then Daemon::on_doorbell, as the loop does
//   disconnect() Daemon::terminate (the hang-up path), the space's teardown
//               (Kernel::reap, the loop's turns), then the leak check
//
// Everything runs on the calling thread; one probe per process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daemon.h"
#include "machd_abi.h"

namespace machd {

class DaemonProbe {
 public:
  // A Daemon with default options (nothing bound, logging off) and the helper.
  DaemonProbe();
  ~DaemonProbe();
  DaemonProbe(const DaemonProbe&) = delete;
  DaemonProbe& operator=(const DaemonProbe&) = delete;

  // Connects a new task (the helper's process). `fast_lanes`: its hello asks
  // for them. Returns false when machd refused it or the helper is gone
  // (a fresh helper is started for the next call).
  bool connect(bool fast_lanes);
  // Ends the connected task as a hang-up does. Returns false when the
  // kernel's counts (ports, names, messages, payloads, waiters, credits,
  // lanes, vouchers) differ from before connect(): something leaked.
  bool disconnect();

  // The connected task's names from its welcome and the first requests.
  mach_port_name_t task_self() const { return task_self_; }
  mach_port_name_t bootstrap() const { return bootstrap_; }
  mach_port_name_t host() const { return host_; }
  pid_t pid() const { return helper_pid_; }

  // The task's shared region (writable, as the task's own mapping is).
  uint8_t* region() const;
  machd_fast_header* fast() const;

  // Writes a request into channel `ch` and serves it: announced in the
  // pending bitmap (Daemon::on_doorbell), or, when `fds` is given, on the
  // socket with those descriptors attached (Daemon::on_socket; the caller
  // keeps its own copies). `data` is truncated to the channel. Returns true
  // when the reply is there (false: the call blocked, or machd ended the task).
  bool submit(uint32_t ch, uint32_t op, const uint64_t (&args)[MACHD_CH_ARGS], const uint8_t* data, size_t len,
              const std::vector<int>* fds = nullptr);
  // The reply of channel `ch` after submit() returned true.
  int32_t result(uint32_t ch) const;
  uint64_t ret(uint32_t ch, uint32_t i) const;
  // Serves the doorbell alone (fast lanes, agent answers, pending bits).
  void ring();
  // True while the task is connected (machd may end it for a violation).
  bool connected() const;

  // Plain mach_msg through channel `ch` (no out-of-line records): `msg` is
  // sent if non-empty, then a receive on `rcv` (MACH_PORT_NULL: none) with
  // timeout 0. Returns the result.
  int32_t msg(uint32_t ch, const std::vector<uint8_t>& msg, mach_port_name_t rcv, uint32_t rcv_size = 4096);

  ipc::Kernel& kernel();

  // Runs `one_task` (which connects, acts, and returns disconnect()'s
  // verdict). When the task left something behind, runs it once more (the
  // first run may have made an object machd keeps for good, a clock's port)
  // and aborts, printing the counts, if it leaks again.
  void expect_no_leak(const std::function<bool()>& one_task);

 private:
  bool start_helper();
  void stop_helper();
  void drain_socket();

  std::unique_ptr<Daemon> daemon_;
  pid_t helper_pid_ = -1;
  int helper_ctl_ = -1;   // our end of the helper's control socket
  int client_ = -1;       // the task's end of the connection
  uint64_t session_ = 0;  // Daemon session id (0: none)
  mach_port_name_t task_self_ = MACH_PORT_NULL;
  mach_port_name_t bootstrap_ = MACH_PORT_NULL;
  mach_port_name_t host_ = MACH_PORT_NULL;
  ipc::Stats before_{};
};

// The probe of this fuzzer process (made on first use).
DaemonProbe& probe();

// What each target driving the probe defines (daemon_fuzz_main.cc holds
// libFuzzer's entry points and calls them).
namespace fuzz_target {
// Runs one input: connects a task, acts, and returns disconnect()'s verdict.
bool run_one(const uint8_t* data, size_t size);
// Writes the target's seeds into `dir` (exits on failure).
void write_seeds(const std::string& dir);
}  // namespace fuzz_target

}  // namespace machd
