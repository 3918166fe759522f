// machd/daemon/daemon.h — machd: the event loop that connects tasks to the
// IPC core.
//
//   accept → hand-shake (SO_PEERCRED, SO_PEERPIDFD) → Session + ipc task
//   doorbell → Session::collect → FastLanes::service (every task's send ring)
//            → dispatch(op) → Kernel → Reply | blocked
//   after each batch: Kernel::take_completions → encode → Session::finish
//   pidfd readable / socket hang-up → Kernel::task_terminate → Session gone
//
// Kernel-served ports (bootstrap, kernel objects: task ports, host, ...) are
// received by the kernel task through one port set; a kernel "thread" stays
// blocked receiving on it and its completions go to the bootstrap server or
// to kern::Dispatch (the MIG subsystems of kernel objects).
#pragma once

#include <sys/socket.h>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "admission.h"
#include "liveness.h"
#include "memory_return.h"
#include "event_loop.h"
#include "fair_turns.h"
#include "fast_lanes.h"
#include "ipc/kernel.h"
#include "kern/agent.h"
#include "kern/corpse.h"
#include "kern/dispatch.h"
#include "kern/exception_delivery.h"
#include "kern/exception_ports.h"
#include "kern/emulation.h"
#include "kern/clock.h"
#include "kern/host.h"
#include "kern/introspect.h"
#include "machd_introspect.h"
#include "kern/processor.h"
#include "kern/timer.h"
#include "kern/thread.h"
#include "kern/runtime.h"
#include "kern/task.h"
#include "kern/task_suspension.h"
#include "kern/lock_set.h"
#include "kern/runtime.h"
#include "kern/semaphore.h"
#include "kern/voucher.h"
#include "options.h"
#include "session.h"
#include "task_host.h"
#include "vm/memory_entry.h"
#include "vm/anonymous_memory.h"
#include "vm/default_memory_manager.h"
#include "vm/memory_objects.h"

namespace machd {

class BootstrapServer;

class Daemon final : public kern::AgentLink {
 public:
  explicit Daemon(const Options& opts);
  ~Daemon();

  // Binds the socket (or takes systemd's). Returns false after logging why.
  bool listen();
  // Runs until SIGTERM/SIGINT (or idle exit). Returns the process exit code.
  int run();

  ipc::Kernel& kernel() { return kernel_; }

  // WaiterIds with this session id are machd's own (kernel servers).
  static constexpr uint64_t kKernelSession = 0;

 private:
  // tests/fuzz/daemon_probe.h: drives a Daemon without its event loop (a
  // task connected through a socket pair, requests served as on a doorbell).
  friend class DaemonProbe;

  // Accepts connections; after an error that stops accepting (out of
  // descriptors), arms itself again kAcceptRetryNs later.
  void arm_accept();
  void on_accept(int fd);
  // A connection owing its hello: forget_hello() stops waiting for it (the
  // hello came); drop_hello() also closes it.
  void forget_hello(int fd);
  void drop_hello(int fd);
  // Waits (without blocking the loop) for the hello of connection `fd` of
  // user `uid` until `deadline_ns` (monotonic), the hello deadline counted
  // from its accept; `asked_device`: it already asked for /dev/userfaultfd
  // (it may ask once, and the answer does not move its deadline).
  void await_hello(int fd, uid_t uid, bool asked_device, uint64_t deadline_ns);
  void on_hello(int fd, bool asked_device, uint64_t deadline_ns);
  // Answers a task's MACHD_SOCK_UFFD_DEVICE (machd_abi.h): the device when
  // machd lends it (--lend-userfaultfd), else KERN_NOT_SUPPORTED; then
  // waits for its hello until `deadline_ns`. Closes `fd` if the answer
  // cannot be sent.
  void lend_userfaultfd_device(int fd, uid_t uid, uint64_t deadline_ns);
  // Tasks of machd's own effective uid, and of those --allow-uid names, may
  // connect; any other (root included) is refused with KERN_NO_ACCESS.
  bool uid_allowed(uid_t uid) const;
  // Refuses connection `fd` of a uid not allowed (KERN_NO_ACCESS), closes
  // it, and says so in the log once per uid.
  void refuse_uid(int fd, const ucred& cred);
  void on_doorbell(Session& s);
  void on_socket(Session& s, int events);
  void terminate(uint64_t session_id, const char* why);
  void handle(Session& s, Request& req);
  // run_trap while a tracer is attached (kern/trace.h): a mach_msg send is
  // described before it runs and its record emitted after.
  bool run_traced(Session& s, Request& req, ipc::WaiterId w, uint64_t now, Reply& rep);
  // The record of a send of `msg` (len bytes as the sender wrote it) by
  // `task` (process `pid`), its result not yet filled.
  void describe_send(ipc::TaskId task, int32_t pid, const uint8_t* msg, size_t len, uint64_t now,
                     machd_trace_record_t& r);
  void complete(ipc::Completion& c);
  void drain_completions();
  void arm_kernel_receive();
  void on_kernel_message(ipc::Completion& c);
  bool handle_kernel_completion(ipc::Completion& c);
  // Serves the kernel task's request `c` (which waited `waited` times
  // before, the last time in vain if `wait_failed`): answers it, or keeps it
  // in waiting_ when its routine asked to be served again later
  // (kern::Runtime::serve_again_when).
  void serve_kernel_request(ipc::Completion& c, uint32_t waited, bool wait_failed);
  // The wait of waiting_[id] is over: serve it again (on a timer turn).
  void serve_again(uint64_t id, bool ok);
  void shutdown_all();
  void poll_hot_sessions();
  // Fair service: a task is served one request, then more for up to one
  // slice of machd's time, at a time. A session with requests left waits
  // its turn in turns_ (fair_turns.h): each loop turn, without sleeping
  // first, gives each user with sessions waiting one more slice, which the
  // user's sessions take in order. A session of a user with sessions
  // waiting is not served on its doorbell: it queues behind them.
  static constexpr uint64_t kSliceNs = 1'000'000;
  void owe_turn(Session& s);
  // The user's other sessions are waiting their turns (then `s` waits too).
  bool user_waits(const Session& s) const { return turns_.owed(s.creds().uid); }
  // Session::take_announced, then the fast lanes (posted before the
  // requests they preceded); false if that ended the session.
  bool take_announced(Session& s);
  // Channel requests (owed ones: Session::next_request) or socket requests
  // of a session, one at least, then more until `until` (monotonic ns; 0:
  // one slice after the first); true if it has more.
  bool serve_requests(Session& s, uint64_t until = 0);
  bool serve_socket(Session& s, uint64_t until = 0);
  void serve_backlog();
  // Session `id`'s part of its user's turn, which ends at `until`.
  void serve_in_turn(uint64_t id, uint64_t until);
  void service_fast_lanes();
  Session* session_of_task(ipc::TaskId task);
  // kern::AgentLink
  uint8_t* agent_area(ipc::TaskId task) override;
  bool send_fd(ipc::TaskId task, int fd, uint64_t* tag) override;
  void interrupt_wait(ipc::TaskId task, pid_t tid) override;
  void finish_call(ipc::TaskId task, uint32_t channel, int32_t result, const uint64_t* rets, size_t nrets,
                   const uint8_t* data, size_t size) override;

  Options opts_;
  std::string socket_path_;
  int listen_fd_ = -1;
  int signal_fd_ = -1;
  bool stopping_ = false;
  std::unique_ptr<EventLoop> loop_ = EventLoop::create();
  ipc::Kernel kernel_;
  FastLanes fast_{kernel_};
  uint64_t next_session_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;
  mach_port_name_t kernel_set_ = 0;  // port set of kernel-served ports (kernel task)
  std::unique_ptr<BootstrapServer> bootstrap_;
  TaskDirectory directory_;
  std::unique_ptr<kern::Runtime> runtime_;
  kern::Dispatch dispatch_;
  // Kernel requests waiting to be served again (serve_kernel_request), whole:
  // their rights stay in the kernel task and their memory here.
  struct WaitingRequest {
    ipc::Completion c;
    uint32_t waited = 0;
  };
  std::unordered_map<uint64_t, WaitingRequest> waiting_;
  uint64_t next_waiting_ = 1;
  std::unique_ptr<kern::Host> host_;
  std::unique_ptr<kern::Introspection> introspection_;
  std::unique_ptr<kern::Clocks> clocks_;
  std::unique_ptr<kern::Processors> processors_;
  std::unique_ptr<kern::Timers> timers_;
  std::unique_ptr<kern::Tasks> tasks_;
  std::unique_ptr<kern::Semaphores> semaphores_;
  std::unique_ptr<kern::LockSets> lock_sets_;
  std::unique_ptr<vm::MemoryEntries> memory_entries_;
  std::unique_ptr<kern::Agent> agent_;
  std::unique_ptr<vm::MemoryObjects> memory_objects_;
  std::unique_ptr<vm::DefaultMemoryManager> default_memory_manager_;
  std::unique_ptr<vm::AnonymousMemory> anonymous_memory_;
  std::unique_ptr<kern::Threads> threads_;
  std::unique_ptr<kern::SuspensionTokens> suspension_tokens_;
  std::unique_ptr<kern::ExceptionPorts> exception_ports_;
  std::unique_ptr<kern::ExceptionDelivery> exception_delivery_;
  std::unique_ptr<kern::Corpses> corpses_;
  std::unique_ptr<kern::Emulations> emulations_;
  std::unique_ptr<kern::Vouchers> vouchers_;
  std::unordered_map<ipc::TaskId, uint64_t> session_of_task_;
  uint64_t idle_since_ns_ = 0;
  std::unordered_set<uid_t> refused_uids_;  // already logged
  std::unordered_set<uid_t> unmanaged_uids_;  // told their memory is outside --memory-limit
  struct PendingHello {
    uint64_t token = 0;               // the poll for its hello
    kern::TimerQueue::Id timer = 0;   // its deadline
  };
  std::unordered_map<int, PendingHello> hellos_;  // by fd: accepted, owing their hello
  int uffd_device_ = -1;  // /dev/userfaultfd, lent to tasks (--lend-userfaultfd)
  Admission admission_;
  Liveness liveness_;  // the word that tells tasks machd is alive
  static constexpr uint64_t kAcceptRetryNs = 100'000'000;  // 100 ms
  uint64_t last_accept_warning_ns_ = 0;
  // Polling before sleeping (only with more than one CPU: on one CPU the
  // client needs the CPU machd would spin on). See poll_hot_sessions().
  uint64_t spin_ns_ = 0;
  std::vector<uint64_t> hot_;  // sessions that had requests recently
  FairTurns turns_;  // sessions owed another turn, by user
  uint64_t pidversion_ = 0;
  MemoryReturn memory_return_;  // what a flood left goes back to the system
};

inline ipc::WaiterId make_waiter(uint64_t session, uint32_t channel) {
  return (session << 16) | channel;
}
inline uint64_t waiter_session(ipc::WaiterId w) { return w >> 16; }
inline uint32_t waiter_channel(ipc::WaiterId w) { return uint32_t(w & 0xFFFF); }

}  // namespace machd
