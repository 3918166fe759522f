// machd/daemon/message_rights.h — releasing the rights of a message that
// machd's own kernel task received (what mach_msg_destroy does in a task).
#pragma once

#include "ipc/kernel.h"

namespace machd {

// Releases, in `task`'s space, the reply (remote) right of the received
// message in `c` if `header`, and every right carried by its descriptors
// (ports and out-of-line port arrays) if `body`. The msgh_local_port field
// holds no right (the receive consumed it). Out-of-line memory is freed with
// the Completion itself.
void release_message_rights(ipc::Kernel& k, ipc::TaskId task, const ipc::Completion& c, bool header,
                            bool body);

}  // namespace machd
