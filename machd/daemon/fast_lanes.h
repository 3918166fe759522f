// machd/daemon/fast_lanes.h — machd's side of the fast lanes (machd_abi.h):
// send credits with the send ring, and receive lanes.
//
// The IPC core decides what is allowed (which ports, which messages) and
// keeps the accounting (reserved slots, lent messages); this class moves the
// bytes between the core and each task's region and answers the core's
// questions about what a task has taken (ipc::LaneHooks). Everything it reads
// from a region is untrusted: counts are clamped to what machd handed out, and
// a task that breaks the protocol is reported for disconnection.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "ipc/kernel.h"
#include "machd_abi.h"

namespace machd {

class Session;

class FastLanes final : public ipc::LaneHooks {
 public:
  explicit FastLanes(ipc::Kernel& kernel);
  // Told of every message posted through a credit while a tracer is
  // attached (kern/trace.h): the sending task, a copy of the message as its
  // slot held it, and the post's result.
  using PostObserver = std::function<void(ipc::TaskId, const uint8_t*, size_t, mach_msg_return_t)>;
  void set_post_observer(PostObserver f) { post_observer_ = std::move(f); }
  ~FastLanes() override;
  FastLanes(const FastLanes&) = delete;
  FastLanes& operator=(const FastLanes&) = delete;

  // A new task: its region's fast-lane header is ready for use.
  void attach(Session& s);
  // The task is going (call before Kernel::task_terminate): posts what its
  // send ring still holds. A send that returned MACH_MSG_SUCCESS is sent,
  // even if the process exits right after it.
  void retire(uint64_t session_id);
  // The task is gone (call after Kernel::task_terminate): forget its state.
  void detach(uint64_t session_id);

  // Takes everything tasks posted on their fast lanes (send ring entries,
  // settle requests), for every task that has some, in one pass. Must run
  // before any other request is handled, so that a call sees every message
  // its own task (or any task) sent before it. Appends to `violators` the
  // sessions that broke the protocol.
  void service(std::vector<uint64_t>& violators);

  // After a mach_msg of session `s` finished synchronously with `result`:
  // grant send credits for the destination of an eligible send-only message
  // (`msg` = the request's message bytes), and lend what is queued on the
  // port the call received from.
  void after_msg(Session& s, mach_msg_option_t options, const uint8_t* msg, size_t size,
                 mach_port_name_t rcv_name, mach_msg_return_t result);

  // ipc::LaneHooks
  uint32_t credit_revoke(ipc::CreditId id) override;
  void credit_closed(ipc::CreditId id) override;
  uint32_t lane_reclaim(ipc::LaneId lane, bool close) override;

 private:
  struct CreditSlot {
    ipc::CreditId id = 0;  // the credit published in this slot (0: none)
    uint32_t name = 0;
    uint16_t epoch = 0;
  };
  struct LaneState {
    bool open = false;
    uint32_t name = 0;
    uint32_t base = 0;  // index of the first lent message not known to be taken
    uint32_t tail = 0;  // index one past the last lent message
  };
  struct Task {
    uint64_t sid = 0;
    ipc::TaskId task = ipc::kNoTask;
    uint8_t* region = nullptr;
    machd_fast_header* fast = nullptr;
    uint64_t send_head = 0;   // oldest send ring position not consumed yet
    std::bitset<MACHD_SEND_SLOTS> consumed;  // positions consumed ahead of send_head (by slot)
    std::array<CreditSlot, MACHD_CREDITS> slots{};
    std::unordered_map<uint32_t, ipc::CreditId> by_key;  // slot | epoch << 16 -> credit
    std::array<LaneState, MACHD_LANES> lanes{};
    bool used = false;  // ever granted a credit or lent a message
  };
  struct CreditInfo {
    uint64_t sid = 0;
    uint32_t key = 0;
    uint32_t remaining = 0;  // granted - posted - returned
  };

  struct PostCache {  // the credit the previous ring entry used
    uint32_t key = ~0u;
    ipc::CreditId id = 0;
    CreditInfo* info = nullptr;
  };

  static ipc::LaneId lane_id(uint64_t sid, uint32_t i) { return (sid << 8) | (i + 1); }
  static bool slot_written(Task& t, uint64_t pos);
  bool post_slot(Task& t, uint64_t pos, PostCache& cache);
  Task* find(uint64_t sid);
  bool drain_send_ring(Task& t);
  void settle_lanes(Task& t);
  void grant(Task& t, mach_port_name_t name);
  void lend(Task& t, mach_port_name_t name);
  uint32_t reclaim(Task& t, uint32_t i, bool close);

  ipc::Kernel& kernel_;
  std::unordered_map<uint64_t, Task> tasks_;
  std::vector<Task*> used_;  // tasks with fast-lane state to service (Task::used)
  std::unordered_map<ipc::CreditId, CreditInfo> credits_;
  std::vector<std::vector<uint8_t>> images_;  // scratch for lane_lend
  uint64_t closes_ = 0;                       // credit_closed() calls so far
  std::vector<uint64_t> holes_;               // scratch for drain_send_ring
  PostObserver post_observer_;
};

}  // namespace machd
