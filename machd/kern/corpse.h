// machd/kern/corpse.h — corpses: what is left of a task that died of a
// crash, kept for a crash reporter to read (XNU's osfmk/corpses).
//
//   crashing thread (library)               machd
//   -------------------------               -----
//   EXC_CRASH raised (exception_delivery.h)  nobody handles it and a level
//                                            takes EXC_CORPSE_NOTIFY: offer()
//                                            keeps the thread's context and
//                                            parks the task's other threads;
//                                        <-  the answer has MACHD_TSF_CORPSE_WANTED
//   fork(): the child closes every fd
//   and only waits; its memory is the
//   process's at the crash
//   MACHD_OP_CORPSE_FORKED {tid, child}  ->  adopt(): the child (checked: a
//                                            child of the crashed process) is
//                                            the corpse task's process
//   the process dies of its signal       ->  once the crashed task has ended:
//                                            EXC_CORPSE_NOTIFY to the crashed
//                                            thread's, the task's or the host's
//                                            port (the first that takes it)
//
// The corpse is a task of its own:
//   - the read, inspect and name routines work on it (task_info,
//     task_threads, mach_vm_read, mach_vm_region...: they read the child);
//     those that need the control flavor refuse it (KERN_INVALID_ARGUMENT,
//     as XNU's port conversions refuse corpses), so nothing changes it;
//   - the task's threads (their tids as the crashed task knew them), the
//     crashed one first, each frozen with its context at the crash
//     (thread_get_state): before the crashing thread is told to fork,
//     machd parks the others (one that has not parked after kOthersParkNs,
//     as a thread blocking every signal, is left out) and they stay parked
//     until the process dies;
//   - its IPC space holds no rights of its own (XNU terminates a corpse's
//     space), and it has the crashed task's exception ports (thread and
//     task level);
//   - pid_for_task and the audit token name the crashed process.
// EXC_CORPSE_NOTIFY carries codes {EXC_CRASH, (OS_REASON_SIGNAL << 32) |
// signal} as XNU's task_deliver_crash_notification, and the corpse's thread
// and task ports (identity behaviors). The corpse lives while anyone holds a
// send right to its task port: when the last one goes (the handler
// deallocates it, or nobody took the notification) machd kills the child
// and the task ends. At most kMaxPerUser corpses exist per user at a time
// (XNU: total_corpses_allowed); past that a crash makes none.
//
// task_generate_corpse(task) makes one of a live task: machd parks every
// thread of it (as task_suspend does; one that has not parked after
// kOthersParkNs is left out) and keeps their contexts, asks the
// task's agent to fork the corpse's process (MACHD_AGENT_FORK_CORPSE),
// lets the threads go and answers with the corpse's task port (its only
// send right: the corpse ends when the caller drops it). No notification
// is sent for such a corpse. The forked process has no exit signal, so the
// program never sees it; machd asks the agent to reap it once killed.
#pragma once

#include <mach/exception_types.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "corpse_info.h"
#include "dispatch.h"
#include "machd_abi.h"
#include "runtime.h"

namespace machd::kern {

class Corpses final : public TaskObserver {
 public:
  static constexpr uint32_t kMaxPerUser = 5;

  explicit Corpses(Dispatch& dispatch);
  ~Corpses() override;
  Corpses(const Corpses&) = delete;
  Corpses& operator=(const Corpses&) = delete;

  // Whether `task` (crashing, EXC_CRASH unhandled) may get a corpse: it is
  // no corpse, has none on offer yet, and its user has fewer than
  // kMaxPerUser (corpses, offers and task_generate_corpse in progress).
  bool may_offer(ipc::TaskId task) const;
  // A corpse is offered for the crash of thread `tid`: `context` (its slot
  // image at the crash) and the EXC_CRASH code are kept for adopt(). The
  // task's other threads are held first and their contexts kept too;
  // `ready` runs (in a later turn of machd's loop) once they are all
  // parked, or after kOthersParkNs without those that did not park (a
  // thread that cannot take the stop signal does not hold up the crash):
  // the crashing thread may then be told to fork. `ready` returns whether
  // it was (the thread may be gone: then the offer is dropped and the
  // other threads are let go). Otherwise the other threads stay held: the
  // process dies of its crash. One offer per task (another thread's crash
  // may have come first), counted against the user's corpses until the
  // task ends; false: none offered (`ready` never runs).
  bool offer(ipc::TaskId task, pid_t tid, const machd_thread_slot& context, int64_t crash_code,
             std::function<bool()> ready);
  static constexpr uint64_t kOthersParkNs = 1'000'000'000;
  // MACHD_OP_CORPSE_FORKED. KERN_SUCCESS: `child` is the corpse's process.
  // KERN_INVALID_ARGUMENT: no offer for the thread, or `child` is not a
  // child of the task's process; KERN_FAILURE: the corpse could not be made.
  kern_return_t adopt(ipc::TaskId task, pid_t tid, pid_t child);

  // task_generate_corpse: a corpse of live `task`, made asynchronously;
  // `done` gets KERN_SUCCESS and a kernel-task send right to the corpse's
  // task port (for the reply to move), or the error. Refused at once
  // (`done` not called): KERN_INVALID_ARGUMENT for a corpse or a gone
  // task, KERN_RESOURCE_SHORTAGE past kMaxPerUser.
  using Generated = std::function<void(kern_return_t, mach_port_name_t)>;
  kern_return_t generate(ipc::TaskId task, Generated done);

  // Whether `task` is a corpse.
  bool is_corpse(ipc::TaskId task) const { return by_task_.count(task) != 0; }
  // What corpse `task` knows of the process it was made of (for
  // task_map_corpse_info_64); nullptr if `task` is no corpse.
  const CorpseFacts* facts_of(ipc::TaskId task) const {
    auto it = by_task_.find(task);
    return it == by_task_.end() ? nullptr : &it->second.facts;
  }

  void task_terminating(ipc::TaskId task) override;

 private:
  // A thread's context, kept for the corpse.
  struct FrozenThread {
    pid_t tid = 0;
    std::shared_ptr<const machd_thread_slot> context;
  };
  struct Offer {
    uint32_t uid = 0;
    pid_t tid = 0;
    std::shared_ptr<const machd_thread_slot> context;
    int64_t crash_code = 0;
    std::vector<FrozenThread> others;  // the task's other threads, parked for it
  };
  struct Corpse {
    ipc::TaskId task = ipc::kNoTask;      // the corpse
    ipc::TaskId crashed = ipc::kNoTask;   // the task it is left of, until it is notified
    ipc::TaskId maker = ipc::kNoTask;     // the live task that forked it (task_generate_corpse)
    uint32_t uid = 0;
    pid_t child = 0;
    int pidfd = -1;
    uint64_t thread = 0;                  // its first frozen thread (Thread::id)
    bool notifying = false;               // EXC_CORPSE_NOTIFY sent or being sent (or never to be)
    std::shared_ptr<uint64_t> watch;      // the watch on its process's end (0: none)
    CorpseFacts facts;                    // its crash information (corpse_info.h), EXC_CORPSE_NOTIFY's codes included
  };
  struct Generation;

  // The corpse of `from` (its process forked `child`): a task with these
  // threads and `from`'s exception ports. kNoTask if `child` is not a
  // child of `from`'s process, or it could not be made.
  ipc::TaskId make(ipc::TaskId from, pid_t child, const std::vector<FrozenThread>& frozen);
  // The contexts of those of the threads `ids` that are parked.
  static std::vector<FrozenThread> contexts_of(const std::vector<uint64_t>& ids);
  // A generation's threads are parked (or left out): fork.
  void fork_generated(const std::shared_ptr<Generation>& g);
  // Lets its threads go and answers: `corpse` on KERN_SUCCESS.
  void finish_generation(const std::shared_ptr<Generation>& g, kern_return_t kr, ipc::TaskId corpse = ipc::kNoTask);
  // The crashed task ended: tell the handlers.
  void notify(ipc::TaskId corpse);
  // The corpse's task port has no sender left.
  void on_no_senders(ipc::KObject ko, mach_port_name_t port, mach_port_mscount_t mscount);
  // Kills the child and ends the corpse task.
  void end(ipc::TaskId corpse);
  // Kills a corpse's process (`pidfd`, when machd has one) and, when a
  // live task forked it, has that task's agent kill and reap it.
  void reap(ipc::TaskId maker, pid_t child, int pidfd);
  uint32_t count_of_user(uint32_t uid) const;

  std::unordered_map<ipc::TaskId, Offer> offers_;  // by crashed task
  std::unordered_map<ipc::TaskId, Corpse> by_task_;
  std::unordered_map<uint32_t, uint32_t> generating_;  // by uid: task_generate_corpse in progress
};

// The corpses of this machd (set by its constructor); nullptr when there
// is no keeper (unit tests that make only some kernel objects).
Corpses* corpses_if_any();
// Whether `task` is a corpse.
inline bool is_corpse_task(ipc::TaskId task) {
  const Corpses* c = corpses_if_any();
  return c != nullptr && c->is_corpse(task);
}

}  // namespace machd::kern
