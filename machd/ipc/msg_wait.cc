// machd/ipc/msg_wait.cc — ending blocked operations early: interruption and
// timeouts.
#include <vector>

#include "ipc.h"
#include "msg.h"

namespace machd::ipc {

namespace {

void end_wait(Ipc& ipc, Waiter* w, bool timed_out) {
  if (w->phase == Waiter::Phase::kSend) {
    if (w->granted) return;  // already accepted; finishes in drain()
    msg_send_failed(ipc, w, timed_out ? MACH_SEND_TIMED_OUT : MACH_SEND_INTERRUPTED);
  } else {
    waiter_finish(ipc, w, result_only(timed_out ? MACH_RCV_TIMED_OUT : MACH_RCV_INTERRUPTED));
  }
}

}  // namespace

void msg_abort(Ipc& ipc, WaiterId id, mach_msg_return_t /*reason*/) {
  // The phase decides the code (a thread interrupted while sending gets
  // MACH_SEND_INTERRUPTED and its message back, else MACH_RCV_INTERRUPTED).
  auto it = ipc.waiters.find(id);
  if (it == ipc.waiters.end()) return;
  end_wait(ipc, it->second.get(), false);
}

void msg_expire(Ipc& ipc, uint64_t now_ns) {
  if (now_ns > ipc.now_ns) ipc.now_ns = now_ns;
  std::vector<WaiterId> due;
  for (auto it = ipc.deadlines.begin(); it != ipc.deadlines.end() && it->first <= now_ns; ++it)
    due.push_back(it->second);
  for (WaiterId id : due) {
    auto it = ipc.waiters.find(id);
    if (it == ipc.waiters.end()) continue;
    end_wait(ipc, it->second.get(), true);
  }
}

}  // namespace machd::ipc
