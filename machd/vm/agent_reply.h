// machd/vm/agent_reply.h — answering a VM routine on another task from its
// in-task agent's completion (vm/remote_map.cc).
#pragma once

#include <mach/kern_return.h>

#include "ipc/kernel.h"
#include "kern/agent.h"

namespace machd::vm {

// Posts `call` to the task's agent and defers the reply: when the agent
// answers, a RetCode-only reply (or RetCode + the address in rets[0] when
// `with_address`) is sent; a task gone or an agent timing out answers
// KERN_INVALID_TASK. Returns MIG_NO_REPLY for the routine to return.
kern_return_t ask_agent(ipc::TaskId t, const kern::AgentCall& call, bool with_address);

// Sends the deferred reply of a vm_map-like routine: RetCode KERN_SUCCESS
// and the address.
void send_address_reply(const kern::DeferredReply& d, uint64_t address);

}  // namespace machd::vm
