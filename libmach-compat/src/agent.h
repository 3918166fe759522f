// libmach-compat/src/agent.h — the in-task agent (machd_abi.h, "the in-task
// agent"): a thread that serves machd's requests over the task region, and
// the signal handler that parks a thread with its context in a thread slot.
#pragma once

#include <ucontext.h>

#include <cstdint>

namespace machcompat {

// Starts the agent for the current connection (called once connected, and
// in a fork child after it reconnected). Installs the parking handler once.
void start_agent();

// The agent thread's tid (0 if none): never a Mach thread of the task.
uint32_t agent_tid();

// Parks the calling thread (in a signal handler, `uc` its context) in the
// thread slot machd gave it, until machd lets it go; returns the slot's
// MACHD_TSF_* flags machd left (0 if the slot is not this thread's).
uint32_t park_in_slot(uint32_t index, ucontext_t* uc);

// The task's exception interest mask machd publishes (machd_abi.h): bit
// (1 << type) when some exception port takes that exception. 0 when not
// connected.
uint64_t exception_interest();

// Asks thread `tid` of this process who it is: its pthread_t (0 if the
// thread does not answer within a short time).
uint64_t pthread_of_tid(int tid);
// The tid of a pthread of this process (0 if it does not answer).
int tid_of_pthread(uint64_t thread);

}  // namespace machcompat
