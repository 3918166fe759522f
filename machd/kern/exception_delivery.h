// machd/kern/exception_delivery.h — raising a thread's hardware exception
// to its exception ports, as XNU's exception_triage_thread and
// exception_deliver do.
//
//   faulting thread (library handler)        machd
//   --------------------------------        -----
//   MACHD_OP_EXCEPTION_RAISE {tid, exc,  ->  raise(): the context is copied into a
//     code, subcode}, its context as the     thread slot and the thread counts as
//     data; waits for the answer             parked (Threads::park_from_call); the
//                                            call's answer is held back. Triage: the
//                                            thread's action
//                                            for `exc`, then the task's, then the
//                                            host's: the first with a live port
//                                            gets exception_raise{,_state,
//                                            _state_identity}[_protected] (exc or
//                                            mach_exc, by the action's behavior),
//                                            with a send-once reply right to a
//                                            reply port of machd's.
//                                        <-  reply KERN_SUCCESS: the new state (state
//                                            behaviors) is written to the slot, the
//                                            call is answered with MACHD_TSF_EXC_HANDLED
//                                            (and the context, if DIRTY) once the
//                                            thread is let go;
//                                            any other answer (an error code, a
//                                            malformed reply that the MIG user stub
//                                            rejects, the handler's send-once right
//                                            destroyed: MIG_SERVER_DIED) or a send
//                                            that fails: the next level. After the
//                                            host: resumes without the flag (the
//                                            library then hands the signal to the
//                                            program).
//
// The messages are built and the replies checked by the MIG user stubs our
// mig generates from mig/defs/mach/exc.defs and mach_exc.defs (KernelUser),
// as XNU's kernel does; their mach_msg is machd's (never blocking): the
// stub is run once to send, and again with the reply when it arrives.
//
// While it waits the thread is parked: thread_get_state / thread_set_state
// from the handler read and write the slot; thread_suspend keeps it
// stopped after the reply; thread_terminate ends it. A handler that never
// answers leaves the thread waiting, as in XNU; one that dies with the
// message (or its reply right) releases it within the send-once
// notification's round trip.
//
// Ports in the messages: the thread's and the task's control ports (as
// XNU with developer mode on: a debugger or crash reporter can act on
// them), a task identity token for the *_PROTECTED behaviors, the thread's
// id (its tid, as thread_info's THREAD_IDENTIFIER_INFO reports).
// EXC_CRASH skips a level whose port the crashing task itself receives on
// (XNU's check_exc_receiver_dependency).
#pragma once

#include <mach/exception_types.h>

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "dispatch.h"
#include "exception_ports.h"
#include "runtime.h"

namespace machd::kern {

struct Thread;

class ExceptionDelivery final : public TaskObserver {
 public:
  explicit ExceptionDelivery(Dispatch& dispatch);
  ~ExceptionDelivery() override;
  ExceptionDelivery(const ExceptionDelivery&) = delete;
  ExceptionDelivery& operator=(const ExceptionDelivery&) = delete;

  // MACHD_OP_EXCEPTION_RAISE from thread `tid` of `task` on `channel`
  // (machd_abi.h), `context` the thread's (a machd_thread_slot image of
  // `size` bytes). KERN_SUCCESS: the call is answered later (finish_call on
  // the channel: KERN_SUCCESS, rets[0] the slot flags, the context as data
  // when DIRTY). Answered now: KERN_FAILURE, no level has a port for
  // `exception`; KERN_ABORTED, a stop is in flight (ask again);
  // KERN_INVALID_ARGUMENT, not a thread of the task, not an exception type,
  // or a short context.
  // EXC_CRASH: a level that takes EXC_CORPSE_NOTIFY makes it wanted too;
  // when no handler answers KERN_SUCCESS, the answer's flags have
  // MACHD_TSF_CORPSE_WANTED and the context is kept for the corpse
  // (corpse.h).
  kern_return_t raise(ipc::TaskId task, pid_t tid, uint32_t channel, exception_type_t exception, int64_t code,
                      int64_t subcode, const uint8_t* context, size_t size);
  // An exception machd raises itself on a thread that is parked for good (a
  // corpse's frozen thread: EXC_CORPSE_NOTIFY), with the same triage and
  // messages; nothing is answered to the thread. `done` is called once the
  // delivery ended (a handler answered, or no level took it), not if the
  // task ends first.
  void raise_from_kernel(ipc::TaskId task, Thread& t, exception_type_t exception, int64_t code, int64_t subcode,
                         std::function<void()> done);

  void task_terminating(ipc::TaskId task) override;

 private:
  struct Pending {
    uint64_t id = 0;
    uint64_t thread = 0;  // Thread::id
    ipc::TaskId task = ipc::kNoTask;
    exception_type_t exception = 0;
    int64_t codes[2] = {};
    int next_level = 0;   // 0 thread, 1 task, 2 host, 3: none left
    mach_port_name_t reply_port = MACH_PORT_NULL;  // of the attempt in flight
    // Runs the attempt's MIG user stub again on the reply and applies it;
    // returns the stub's result (KERN_SUCCESS: handled).
    std::function<kern_return_t()> on_reply;
    bool corpse_offer = false;          // EXC_CRASH: offer a corpse if nobody handles it
    std::function<void()> on_finish;    // raise_from_kernel's `done`
  };

  // Tries the levels from p.next_level on; finishes when none takes it.
  void deliver_next(Pending& p);
  // Sends the exception to `action`'s port; true if it went (a reply will come).
  bool attempt(Pending& p, const ExceptionAction& action);
  void on_message(const std::vector<uint8_t>& msg, ipc::KObject ko);
  void end_attempt(Pending& p);
  void finish(uint64_t id, bool handled);

  std::unordered_map<uint64_t, Pending> pending_;
  uint64_t next_id_ = 1;
};

ExceptionDelivery& exception_delivery();

}  // namespace machd::kern
