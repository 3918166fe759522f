// libmach-compat/src/agent.h — the in-task agent (machd_abi.h, "the in-task
// agent"): a thread that serves machd's requests over the task region, and
// the signal handler that parks a thread with its context in a thread slot.
#pragma once

#include <ucontext.h>

#include <cstddef>
#include <cstdint>

#include "machd_abi.h"

namespace machcompat {

// Starts the agent for the current connection (called once connected, and
// in a fork child after it reconnected). Installs the parking handler once.
// The agent also watches for machd's end: when machd dies (or its socket
// hangs up) it calls note_machd_gone (connection.h) and ends. A parked
// thread whose machd dies resumes as it was.
void start_agent();

// The agent thread's tid (0 if none): never a Mach thread of the task.
uint32_t agent_tid();

// A signal handler's context as a thread slot image (machd_abi.h): the
// general registers, fs/gs bases and the frame's FP/xstate. Returns the
// bytes of the image in use (up to the end of its fp state).
size_t save_context(machd_thread_slot& ts, const ucontext_t* uc);
// Loads an image machd rewrote into the handler's context (its sigreturn
// applies it); the fp state only if it has the frame's own size.
void load_context(const machd_thread_slot& ts, ucontext_t* uc);

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
