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

// The next caught signal's number; 0 once timeout_ms passed without one
// (timeout_ms < 0: wait for ever).  -1 if catch_signals was not called.
int next_signal(int timeout_ms);

}  // namespace pagerprog
