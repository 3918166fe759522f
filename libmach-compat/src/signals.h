// libmach-compat/src/signals.h — the library's hold on the signals that
// become Mach events: hardware faults (Mach exceptions) and, for system-call
// redirection, SIGSYS.
//
// As on macOS, where a Unix signal handler runs only when no Mach exception
// handler took the exception, the library's own handler stays installed for
// every signal it claims, whatever the program does: the program's
// sigaction(), signal(), bsd_signal() and sysv_signal() calls for a claimed
// signal are recorded (and reported back by sigaction's old action) but not
// installed. When the library's filter does not consume a signal, the
// recorded disposition is applied by forward_to_program() exactly as the
// kernel would have applied it.
//
// Limits: a program that calls the rt_sigaction system call directly (not
// through libc) replaces the library's handler; a claimed handler always runs
// on the alternate signal stack when one is set (SA_ONSTACK), so that stack
// overflows can be reported.
#pragma once

#include <signal.h>
#include <ucontext.h>

namespace machcompat {

// A filter sees the signal first, on the thread that got it (in the signal
// handler: async-signal-safe code only). Returns true when it consumed the
// signal (the thread resumes with *uc, which the filter may have changed);
// false passes it to the program's disposition.
using SignalFilter = bool (*)(int sig, siginfo_t* si, ucontext_t* uc);

// Installs the library's handler for `sig` with `filter` and records the
// disposition the program had (normally SIG_DFL). One filter per signal: a
// second claim of the same signal replaces the filter. Not async-signal-safe
// (call from initialisation). Returns false if the signal cannot be caught.
// `extra_flags` are added to the handler's (SA_SIGINFO | SA_ONSTACK |
// SA_RESTART) at the first claim: SA_NODEFER lets the filter's own code
// raise the same signal again (SIGSYS: a system call it makes).
bool claim_signal(int sig, SignalFilter filter, int extra_flags = 0);

// Applies the program's recorded disposition of `sig` for a signal the
// filters did not consume: calls its handler (with its sa_mask and flags:
// SA_SIGINFO, SA_RESETHAND, SA_NODEFER), ignores it (a signal a process sent;
// a fault the kernel raised cannot be ignored, as in Linux), or takes the
// default action. A fatal default action first calls the crash hook (below),
// then the process dies of the signal with the same status and core dump as
// without the library.
void forward_to_program(int sig, siginfo_t* si, ucontext_t* uc);

// Called once, on the dying thread, before a claimed signal's default action
// kills the process (macOS's EXC_CRASH moment). nullptr: none.
using CrashHook = void (*)(int sig, siginfo_t* si, ucontext_t* uc);
void set_crash_hook(CrashHook hook);

// The real sigaction (libc's), bypassing the recording.
int real_sigaction(int sig, const struct sigaction* act, struct sigaction* old);

}  // namespace machcompat
