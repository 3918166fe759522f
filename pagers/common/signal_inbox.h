// pagers/common/signal_inbox.h — a pager program's main loop waits for its
// control signals (SIGTERM, SIGINT, SIGUSR1, ...) here.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
//
// The handlers only write the signal's number to a pipe, so whichever
// thread the kernel picks to run them (the pager's serving thread,
// libmach-compat's threads block every signal), the main thread reads it in
// order, outside of any handler, and may then call anything.
#pragma once

#include <initializer_list>

namespace pagerprog {

// Installs the handlers for `signals` (SA_RESTART).  Call once, before any
// of them may arrive.  False (errno set) if the pipe or a handler cannot be
// made.
bool catch_signals(std::initializer_list<int> signals);

// What next_signal returns once machd is gone (watch_machd).
constexpr int kMachdGone = -2;

// Makes next_signal also return, with kMachdGone, once this task finds its
// machd gone (killed, say; <machd/machd_liveness.h>): a pager must not
// outlive its kernel waiting for a signal.  Call once the task is
// connected (the pager started), before restrict_system_calls.  If machd
// cannot be watched, says so on stderr as `program` and next_signal waits
// for signals only.
void watch_machd(const char* program);

// The next caught signal's number; 0 once timeout_ms passed without one
// (timeout_ms < 0: wait for ever); kMachdGone once machd is gone (with
// watch_machd; again at every later call).  -1 if catch_signals was not
// called.
int next_signal(int timeout_ms);

}  // namespace pagerprog
