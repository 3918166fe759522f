// machd/kern/thread.h — thread objects: a Linux thread of a task (its tid)
// behind a Mach thread port, and the stop/park machinery under
// thread_suspend, task_suspend and the state calls.
//
//   Threads registry: (task, tid) -> Thread {id, port, holds, slot, ...}
//   created lazily (mach_thread_self, task_threads, thread_create), gone when
//   the thread is seen dead or its task terminates (its port then dies and
//   holders' rights become dead names). The agent thread is never one.
//
//   A thread is stopped while holds > 0; holds = its suspend count (thread_
//   suspend) + 1 while its task is suspended + transient holds (get/set
//   state of a running thread, terminate). The first hold asks the agent
//   (kern/agent.h) to park it; hold() calls back once it is parked, never
//   synchronously blocking machd. The last unhold lets it go.
#pragma once

#include <mach/kern_return.h>
#include <mach/thread_status.h>
#include <sys/types.h>

#include <bitset>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent.h"
#include "exception_ports.h"
#include "machd_abi.h"
#include "runtime.h"

namespace machd::kern {

// Linux facts about a thread (procfs); false if it is gone.
struct ThreadProc {
  char state = '?';      // R, S, D, T, t, Z, ...
  uint64_t utime_us = 0;
  uint64_t stime_us = 0;
  int priority = 0;
  int nice = 0;
  std::string name;
};
bool read_thread_proc(pid_t pid, pid_t tid, ThreadProc& out);

struct Thread {
  uint64_t id = 0;
  ipc::TaskId task = ipc::kNoTask;
  pid_t tid = 0;
  mach_port_name_t port = MACH_PORT_NULL;  // kernel-task name (receive + one send right)
  // The read and inspect ports (thread_get_special_port), made on demand;
  // each goes when its last send right does, and keeps the thread meanwhile.
  mach_port_name_t read_port = MACH_PORT_NULL;
  mach_port_name_t inspect_port = MACH_PORT_NULL;
  int slot = -1;                           // thread slot, once it was stopped
  uint32_t suspend_count = 0;              // thread_suspend - thread_resume
  uint32_t holds = 0;
  bool task_held = false;                  // one of the holds is its task's suspension
  bool watched = false;                    // a no-senders request is armed on the port
  enum class Stop { kRunning, kStopping, kParked } stop = Stop::kRunning;
  std::vector<ParkDone> waiters;           // called once parked (or the stop failed)
  x86_debug_state64_t debug{};
  std::map<int, std::vector<integer_t>> policies;  // thread_policy_set, by flavor
  std::unique_ptr<ExceptionActions> exc;           // thread_set_exception_ports (kept while set)
  // Parked by a call of its own (park_from_call): how to let it go.
  std::function<void(const machd_thread_slot&)> on_release;
  // A corpse's thread (add_frozen): its state when the task crashed, kept
  // by machd; it is parked for good and lives as long as its task. Its
  // procfs facts then (times, name) stand for procfs's.
  std::unique_ptr<machd_thread_slot> frozen;
  ThreadProc frozen_facts;
};

class Threads final : public TaskObserver {
 public:
  Threads();
  ~Threads() override;

  // The thread `tid` of `task` (registered on first use); nullptr if it is
  // not a live Mach thread of the task (no such tid, or the agent).
  Thread* of_tid(ipc::TaskId task, pid_t tid);
  // The thread a port's object id denotes, nullptr if gone.
  Thread* of_id(uint64_t id);
  // Every live thread of the task, in tid order (dead ones dropped). A
  // corpse's: its frozen threads.
  std::vector<Thread*> of_task(ipc::TaskId task);

  // A thread of a corpse task (kern/corpse.h): `tid` as the crashed task
  // knew it, `state` its context then, `facts` what procfs said of it. It
  // is parked with no slot and no agent: holds, get/set state, thread_info
  // and exceptions work on the copies machd keeps. Once a task has one, it
  // has no other threads. nullptr: no port.
  Thread* add_frozen(ipc::TaskId task, pid_t tid, const machd_thread_slot& state, const ThreadProc& facts);

  // Adds a hold; `done` is called when the thread is parked (KERN_SUCCESS),
  // or with the error that prevented it. May call `done` before returning.
  void hold(Thread& t, ParkDone done);
  // The thread is parked by a call of its own that waits for machd's
  // answer (MACHD_OP_EXCEPTION_RAISE): its context, sent with the call, is
  // copied into a slot and the thread is parked at once with one hold. When
  // it is let go (the last unhold) or ends, `release` gets the slot (flags
  // and context as machd left them) and must answer the call. Returns false
  // (nothing changed) when no slot is free or a stop is already in flight.
  bool park_from_call(Thread& t, const machd_thread_slot& context, size_t context_size,
                      std::function<void(const machd_thread_slot&)> release);
  // Drops a hold; the last one lets the thread run.
  void unhold(Thread& t);
  // The parked thread's slot (nullptr unless parked).
  machd_thread_slot* parked_slot(Thread& t);
  // Ends the thread (it must be parked): it exits when let go.
  void end(Thread& t);

  // The exception interest of the task's threads' own exception ports.
  uint64_t exception_interest(ipc::TaskId task) const;

  // Task suspension (XNU's task_hold + task_wait): one more suspension of
  // `task`; the first holds every thread of the task. `done` (always
  // KERN_SUCCESS) is called once they are all parked, maybe before this
  // returns.
  void suspend_task(ipc::TaskId task, std::function<void(kern_return_t)> done);
  // One suspension less (XNU's task_release); the last lets the threads the
  // suspension held run. KERN_FAILURE if the task is not suspended (or gone).
  kern_return_t resume_task(ipc::TaskId task);
  // How many suspensions the task has (task_basic_info's suspend_count).
  uint32_t task_suspensions(ipc::TaskId task) const;

  // A new thread in `task` made by its agent; done(kr, thread parked) .
  void create(ipc::TaskId task, std::function<void(kern_return_t, Thread*)> done);

  void task_terminating(ipc::TaskId task) override;

  // A send right to the thread's port held by the kernel task for one
  // reply (COPY_SEND); dropped after the reply went (Runtime::after_reply)
  // or by release_reply_send() for a deferred reply.
  mach_port_name_t reply_send(Thread& t);
  // A send right copied out to `task` (mach_thread_self).
  mach_port_name_t send_to(ipc::TaskId task, Thread& t);
  void release_reply_send(mach_port_name_t port) { runtime().release_send(port); }
  // A send right in the kernel task to the thread's port of `type`
  // (kThread, kThreadRead, kThreadInspect), for one reply to copy (released
  // after the reply); MACH_PORT_NULL on failure.
  mach_port_name_t flavor_reply_send(Thread& t, KType type);
  // The last send right of a read or inspect port went.
  void on_flavor_no_senders(ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount);
  // The port's last send right went: an idle thread's port is destroyed
  // (a later mach_thread_self/task_threads makes a new one); a suspended
  // or held thread keeps it.
  void on_no_senders(uint64_t id, mach_port_mscount_t mscount);

 private:
  Thread* add(ipc::TaskId task, pid_t tid);
  void forget(Thread& t);
  int take_slot(ipc::TaskId task);
  void stopped(uint64_t id, kern_return_t kr);
  // A thread parked by its own call (park_from_call) is let go by answering
  // the call: true if it was one (then answered), false otherwise.
  bool answer_call(Thread& t);
  // Whether the task's threads are frozen ones (a corpse's).
  bool is_frozen_task(ipc::TaskId task) const;

  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Thread>> by_id_;
  std::map<std::pair<ipc::TaskId, pid_t>, uint64_t> by_tid_;
  std::unordered_map<ipc::TaskId, std::bitset<MACHD_THREAD_SLOTS>> slots_;
  std::unordered_map<ipc::TaskId, uint32_t> task_suspends_;
  std::set<std::pair<ipc::TaskId, pid_t>> ended_;  // terminated, maybe still in procfs
};

Threads& threads();

// mach_thread_self for thread `tid` of `task`: a send right in the task (a
// user reference more per call); MACH_PORT_NULL if tid is not its thread.
mach_port_name_t thread_self(ipc::TaskId task, pid_t tid);

// The tids of a process (/proc/PID/task).
std::vector<pid_t> tids_of(pid_t pid);

}  // namespace machd::kern
