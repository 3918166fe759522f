// machd/daemon/traps.h — the trap handlers: one per machd_op.
//
// Each handler is thin: decode the copied-out request, resolve the task
// argument (one rights-checked lookup), make one call into the IPC core,
// encode the reply. Nothing here knows Mach semantics.
#pragma once

#include "ipc/kernel.h"
#include "session.h"

namespace machd {

// Runs `req` for the session's task. Returns true when `rep` holds the reply,
// false when the call blocked (a mach_msg waiting; its Completion comes later
// through Kernel::take_completions for waiter `waiter`).
bool run_trap(ipc::Kernel& k, Session& s, Request& req, ipc::WaiterId waiter, uint64_t now_ns,
              Reply& rep);

}  // namespace machd
