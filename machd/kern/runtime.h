// machd/kern/runtime.h — what every kernel-object server in machd shares:
// the IPC core, the kernel task's port set, the request being served, and
// the daemon's services (which process is which task).
//
// One Runtime exists in machd (runtime() reaches it from the extern "C"
// routines the MIG server stubs call). It is driven by the event loop's
// thread only.
//
//   kernel task receives on a kobject port
//     └─ Dispatch::serve ─ sets request() ─ MIG demux ─ routine (kern/*.cc)
//          routine: translate the object port (translate.h), one core call,
//                   fill the reply; or defer() and answer later with
//                   DeferredReply::send.
#pragma once

#include <mach/message.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ipc/kernel.h"
#include "kobject.h"
#include "timer_queue.h"

namespace machd::kern {

// The daemon's side: what only the I/O layer knows about a task.
class TaskHost {
 public:
  virtual ~TaskHost() = default;
  // The Linux process of a task (0 when unknown: the kernel task, a gone task).
  virtual pid_t pid_of(ipc::TaskId task) const = 0;
  // A pidfd of the task's process (-1 when none); owned by the daemon.
  virtual int pidfd_of(ipc::TaskId task) const = 0;
  // The task a process is, if it is connected (ipc::kNoTask otherwise).
  virtual ipc::TaskId task_of_pid(pid_t pid) const = 0;
  // Every connected task.
  virtual std::vector<ipc::TaskId> tasks() const = 0;
  // Asks the daemon's loop to call `on_readable` (on its thread) whenever
  // `fd` is readable, until unwatch_fd(token). The callback must consume
  // what made fd readable. The fd stays the caller's. 0: cannot watch.
  virtual uint64_t watch_fd(int /*fd*/, std::function<void()> /*on_readable*/) { return 0; }
  virtual void unwatch_fd(uint64_t /*token*/) {}
  // A task machd made itself (Runtime::create_task: a corpse) is process
  // `pid`, whose pidfd stays the caller's. False: not kept (no directory).
  virtual bool add_process(ipc::TaskId /*task*/, pid_t /*pid*/, int /*pidfd*/) { return false; }
  virtual void remove_process(ipc::TaskId /*task*/) {}
};

// Told when a task appears or goes (kernel objects of a task: its thread
// ports, its read/inspect/name ports, its timers...). Called by the daemon
// after the IPC core created the task, and before it terminates it.
class TaskObserver {
 public:
  virtual ~TaskObserver() = default;
  virtual void task_created(ipc::TaskId) {}
  virtual void task_terminating(ipc::TaskId) {}
};

// The request being served (valid during a routine).
struct Request {
  ipc::TaskId sender = ipc::kNoTask;          // the task that sent it (from its audit token)
  audit_token_t audit{};                      // kernel-verified identity of the sender
  mach_msg_id_t id = 0;
  mach_port_name_t reply = MACH_PORT_NULL;    // reply right (kernel task name), if any
  mach_msg_type_name_t reply_type = 0;        // MACH_MSG_TYPE_PORT_SEND(_ONCE)
  mach_port_name_t local = MACH_PORT_NULL;    // the object port (kernel task name)
};

// A reply a routine promised to send later (it returned MIG_NO_REPLY).
struct DeferredReply {
  mach_port_name_t reply = MACH_PORT_NULL;
  mach_msg_type_name_t reply_type = 0;
  mach_msg_id_t id = 0;  // the request's id (the reply's is id + 100)
};

class Runtime {
 public:
  Runtime(ipc::Kernel& kernel, mach_port_name_t kernel_set, TaskHost& host);
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  ~Runtime();

  ipc::Kernel& kernel() { return kernel_; }
  ipc::TaskId kt() const { return kt_; }
  TaskHost& host() { return host_; }
  // machd's deadlines (clock alarms, timers): the daemon's loop waits for
  // timers().next() too and runs run_expired() when it is reached.
  TimerQueue& timers() { return timers_; }

  // A new object port served by machd: receive right in the kernel task,
  // labelled (type, id), in the port set the kernel task receives on.
  // Returns its kernel-task name (MACH_PORT_NULL on failure).
  mach_port_name_t create_port(KType type, uint64_t id);
  // Destroys an object port: holders' send rights become dead names.
  void destroy_port(mach_port_name_t kernel_name);
  // A send right to the object port, copied out into `task`; its name there.
  mach_port_name_t make_send(ipc::TaskId task, mach_port_name_t kernel_name);

  // What the kernel task holds as a right of a received message: the object
  // it denotes ({} when not an object).
  ipc::KObject object_of(mach_port_name_t kernel_name) const {
    return kernel_.kobject_of(kt_, kernel_name);
  }
  // Drops a send right the kernel task received in a request (what XNU's
  // MIG intran conversions consume on success).
  void release_send(mach_port_name_t kernel_name);
  // A send right the kernel task holds only for the reply being built (the
  // MIG server stubs COPY_SEND the ports a routine returns): it is released
  // once the reply went out (after_reply). Returns `kernel_name`.
  mach_port_name_t release_after_reply(mach_port_name_t kernel_name);

  // Sends a message from the kernel task without blocking (replies,
  // notifications, alarms). Rights in `msg` are kernel-task names with the
  // dispositions its bits and descriptors give; out-of-line memory travels
  // in `send` (ool / ool_ports). Returns the send result; an undeliverable
  // message is destroyed with its rights.
  mach_msg_return_t send(std::vector<uint8_t> msg, ipc::SendArgs extras = {});

  // Task lifecycle (the daemon calls the notify_* functions; observers must
  // outlive the Runtime or remove themselves).
  void add_observer(TaskObserver* o) { observers_.push_back(o); }
  void remove_observer(TaskObserver* o);
  void notify_task_created(ipc::TaskId t);
  void notify_task_terminating(ipc::TaskId t);
  // Runs `f` once, when `task` begins to end (after the observers were
  // told): for a wait that must not outlive the task. Returns a token for
  // cancel_at_task_end (0, and `f` is dropped, if the task is unknown).
  uint64_t at_task_end(ipc::TaskId task, std::function<void()> f);
  // Drops a wait at_task_end kept (no-op for 0, or once it ran).
  void cancel_at_task_end(uint64_t token);
  // A task without a connection, made by machd itself (a corpse): its
  // port is served like every task port. The caller then tells the host
  // its process and the observers (notify_task_created). kNoTask on failure.
  ipc::TaskId create_task(const ipc::Credentials& creds);
  // Ends such a task: the observers are told, the host forgets its
  // process, and the IPC core destroys it.
  void end_task(ipc::TaskId t);

  // The request being served, and how to answer it later.
  const Request& request() const { return request_; }
  void set_request(const Request& r) { request_ = r; }
  // Keeps the reply right of the current request; the routine must then
  // return MIG_NO_REPLY and later send exactly one reply with send_reply().
  DeferredReply defer();
  // Sends a deferred reply: `body` is the reply after the header (NDR,
  // RetCode, out arguments) as the MIG reply struct lays it out; a simple
  // message. A reply whose RetCode is not KERN_SUCCESS should be a bare
  // mig_reply_error_t (use send_error_reply). Returns the send's result
  // (MACH_SEND_INVALID_DEST when the request had no reply port); a reply
  // that was not sent was destroyed with the rights it carried.
  mach_msg_return_t send_reply(const DeferredReply& d, const void* reply, size_t size);
  // A deferred reply whose only out argument is one port (header, body,
  // one port descriptor: thread_create's, task_generate_corpse's layout),
  // `port` a kernel-task right the reply carries with `disposition`.
  mach_msg_return_t send_port_reply(const DeferredReply& d, mach_port_name_t port, mach_msg_type_name_t disposition);
  void send_error_reply(const DeferredReply& d, kern_return_t kr);

  // Serving a request again. A routine that cannot answer until something
  // happens elsewhere (pages a pager has not supplied yet) calls
  // serve_again_when(wait) and returns MIG_NO_REPLY. machd then keeps the
  // request whole (its rights and out-of-line memory; nothing is answered)
  // and calls `wait` with a callback. Once that is called, whatever it says,
  // the request is served again from the start, on the loop's thread in a
  // later turn: a routine may ask this only while what it has done so far
  // would be done the same way again. Returns false, asking nothing, when
  // the request already waited kMaxWaits times or its last wait failed: the
  // routine then answers as it would without waiting.
  using Wait = std::function<void(std::function<void(bool ok)>)>;
  static constexpr uint32_t kMaxWaits = 16;
  bool serve_again_when(Wait wait);
  // (The daemon.) Before a request is served: how many times it waited
  // already, and whether the last wait failed. Clears any wait asked for.
  void set_waits(uint32_t waited, bool last_wait_failed);
  // (The daemon.) After it was served: the wait its routine asked for, or
  // an empty function.
  Wait take_wait();

  // Work to do once the reply of the routine being served went out (e.g.
  // dropping a send right the reply copied, COPY_SEND). The daemon calls
  // run_after_reply() after each served request, reply sent or not.
  void after_reply(std::function<void()> f) { after_reply_.push_back(std::move(f)); }
  void run_after_reply();

 private:
  ipc::Kernel& kernel_;
  ipc::TaskId kt_;
  mach_port_name_t kernel_set_;
  TaskHost& host_;
  Request request_;
  std::vector<TaskObserver*> observers_;
  std::unordered_map<uint64_t, std::pair<ipc::TaskId, std::function<void()>>> at_task_end_;  // by token
  uint64_t next_task_end_token_ = 1;
  TimerQueue timers_;
  std::vector<std::function<void()>> after_reply_;
  uint32_t waited_ = 0;
  bool last_wait_failed_ = false;
  Wait wait_;
};

// The runtime of this machd (set by the Runtime constructor).
Runtime& runtime();

}  // namespace machd::kern
