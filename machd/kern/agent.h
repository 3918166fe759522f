// machd/kern/agent.h — asking a task's in-task agent (libmach-compat) to do
// what only the process itself can do, without ever waiting on it.
//
// Contract
//   Agent::request(task, call, done): posts `call` in the task's agent
//   mailbox (machd_abi.h, "the in-task agent") and returns at once. `done`
//   is called exactly once, later, from machd's event loop:
//     - with the agent's answer (AgentResult::result is the agent's
//       kern_return_t, rets its out values), or
//     - with KERN_TERMINATED if the task goes away first, or
//     - with KERN_OPERATION_TIMED_OUT if the agent does not answer within
//       Agent::kTimeoutNs while the task's threads all sleep (process.h,
//       may_still_answer): one that is running, waiting for a CPU, in the
//       kernel or stopped (SIGSTOP, a debugger) is given up to
//       Agent::kPatienceNs, looked at every kRecheckNs; or
//     - with KERN_RESOURCE_SHORTAGE (all mailbox slots busy) or
//       KERN_INVALID_ARGUMENT (no such task, bad op); these are also
//       reported through the callback, never synchronously.
//   An fd in AgentCall::fd (MMAP of a memfd) is sent to the task over its
//   socket with a tag before the call is posted (SCM_RIGHTS gives the task
//   its own copy); the caller keeps and closes its fd. The agent closes its
//   copy after mmap.
//   `done` may call request() again. It must not assume the task is alive.
//
//   Ops (machd_agent_op): MMAP {addr, len, prot, flags (MAP_* incl.
//   MAP_FIXED, MAP_SHARED/MAP_PRIVATE; anonymous when no fd), offset} →
//   rets[0] the address; MUNMAP {addr, len}; MPROTECT {addr, len, prot};
//   MADVISE {addr, len, advice}; errors come back as KERN_NO_SPACE,
//   KERN_INVALID_ARGUMENT, KERN_PROTECTION_FAILURE or KERN_FAILURE, with
//   the errno in rets[1]. MLOCK / MUNLOCK {addr, len} (KERN_RESOURCE_SHORTAGE
//   when Linux refuses to lock). THREAD_CREATE {slot} → rets[0] the new tid (used
//   by kern/thread).
//
// Thread slots: stop(task, slot, tid, done) asks thread `tid` to park in
// slot `slot` (a real-time signal the library handles); done(KERN_SUCCESS)
// once it is parked with its context in the slot, or an error as above.
// release(task, slot) lets it go (applying a context marked DIRTY).
//
// Driven by the daemon: on_doorbell(task) whenever the task rang, and
// expire(now) when next_deadline() passes.
#pragma once

#include <mach/kern_return.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "ipc/kernel.h"
#include "machd_abi.h"
#include "runtime.h"

namespace machd::kern {

struct AgentCall {
  uint32_t op = MACHD_AGENT_NOP;  // machd_agent_op
  uint64_t args[6] = {};          // as the op says; for MMAP args[4] is filled by the Agent
  int fd = -1;                    // MMAP: a memfd to map (not consumed)
};

// Calls of the common ops, filled in (see the op list above).
AgentCall mmap_call(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t offset);
AgentCall munmap_call(uint64_t addr, uint64_t len);
AgentCall madvise_call(uint64_t addr, uint64_t len, int advice);

struct AgentResult {
  kern_return_t result = KERN_SUCCESS;
  uint64_t rets[2] = {};
};

using AgentDone = std::function<void(const AgentResult&)>;
using ParkDone = std::function<void(kern_return_t)>;

// What the daemon provides: a task's region and its socket.
class AgentLink {
 public:
  virtual ~AgentLink() = default;
  // The task's agent area (region + MACHD_AGENT_OFFSET), nullptr if none.
  virtual uint8_t* agent_area(ipc::TaskId task) = 0;
  // Sends `fd` to the task tagged (machd_sock_fds); false on failure.
  virtual bool send_fd(ipc::TaskId task, int fd, uint64_t* tag) = 0;
  // Ends a blocked mach_msg of thread `tid` of the task (found by the tid
  // its channel records): it returns MACH_SEND_INTERRUPTED or
  // MACH_RCV_INTERRUPTED. No-op when the thread is not blocked in one.
  virtual void interrupt_wait(ipc::TaskId task, pid_t tid) = 0;
  // Answers a call the task made on `channel` whose reply was held back (a
  // trap that blocked, e.g. MACHD_OP_EXCEPTION_RAISE): the thread waiting on
  // the channel wakes with this result, rets and data. Nothing happens if
  // the channel is not waiting for a reply (the task is gone).
  virtual void finish_call(ipc::TaskId task, uint32_t channel, int32_t result, const uint64_t* rets, size_t nrets,
                           const uint8_t* data, size_t size) = 0;
};

class Agent final : public TaskObserver {
 public:
  static constexpr uint64_t kTimeoutNs = 2'000'000'000ull;
  static constexpr uint64_t kPatienceNs = 30'000'000'000ull;
  static constexpr uint64_t kRecheckNs = 250'000'000ull;

  explicit Agent(AgentLink& link);
  ~Agent() override;

  void request(ipc::TaskId task, const AgentCall& call, AgentDone done);
  // thread_abort: see AgentLink::interrupt_wait.
  void interrupt_wait(ipc::TaskId task, pid_t tid) { link_.interrupt_wait(task, tid); }
  // See AgentLink::finish_call.
  void finish_call(ipc::TaskId task, uint32_t channel, int32_t result, const uint64_t* rets, size_t nrets,
                   const uint8_t* data, size_t size) {
    link_.finish_call(task, channel, result, rets, nrets, data, size);
  }

  // The slot `index` of the task (nullptr if the task has no region).
  machd_thread_slot* slot(ipc::TaskId task, uint32_t index);
  // The agent thread of the task (0 until it started).
  pid_t agent_tid(ipc::TaskId task);
  // Parks thread `tid` in `index` (see above). Only one stop per slot at a time.
  void stop(ipc::TaskId task, uint32_t index, pid_t tid, ParkDone done);
  // Lets the thread in `index` go; a stop still in flight completes with
  // KERN_ABORTED.
  void release(ipc::TaskId task, uint32_t index);
  // Waits (without blocking) for a thread that parks in `index` by itself
  // (a thread the agent created).
  void await_park(ipc::TaskId task, uint32_t index, ParkDone done);

  // Publishes the task's exception interest mask (machd_abi.h exc_interest).
  void set_exception_interest(ipc::TaskId task, uint64_t mask);

  void on_doorbell(ipc::TaskId task);
  std::optional<uint64_t> next_deadline() const;
  void expire(uint64_t now_ns);
  void task_terminating(ipc::TaskId task) override;

 private:
  struct Pending {
    uint32_t seq;
    uint64_t posted;
    uint64_t deadline;
    AgentDone done;
  };
  struct Park {
    uint64_t posted;
    uint64_t deadline;
    ParkDone done;
  };
  struct PerTask {
    std::vector<Pending> calls = std::vector<Pending>(MACHD_AGENT_CALLS);  // by mailbox slot (done empty: free)
    std::map<uint32_t, Park> parks;                                      // by thread slot
  };
  machd_agent_header* header(ipc::TaskId task);
  // Takes every answer and park the task's area holds for `pt` into `run`.
  void collect(ipc::TaskId task, machd_agent_header* h, PerTask& pt, std::vector<std::function<void()>>& run);
  // Whether a call or park posted at `posted` and overdue at `now` gets
  // more time (see request()); `moving`: may_still_answer for its task,
  // read once per expire() turn, before the task's answers are collected.
  static bool patient(uint64_t posted, uint64_t now, bool moving);
  void fail_all(PerTask& pt, kern_return_t kr);

  AgentLink& link_;
  std::unordered_map<ipc::TaskId, PerTask> tasks_;
  uint32_t seq_ = 1;
};

// The agent of this machd (set by its constructor).
Agent& agent();

// now, on the clock the deadlines use.
uint64_t agent_now_ns();

}  // namespace machd::kern
