// machd/ipc/ipc.h — the state of one IPC kernel (what KernelImpl owns) and
// its deferred-work queue.
//
// Single-thread ownership: one thread (machd's event loop) owns an Ipc; there
// are no locks. The rule that replaces XNU's "never call out while holding a
// lock" is: a primary operation (one Kernel call) only mutates the objects it
// names; every secondary effect that could touch another space (delivering a
// kernel-generated notification, destroying a message or a port, letting a
// blocked sender in, resuming the receive half of a blocked send+receive) is
// pushed on `work` and run by drain() when the primary operation is done.
// drain() runs the queue in FIFO order until it is empty; each item may push
// more (destroying a port destroys its queued messages, which may hold receive
// rights, ...), so there is no recursion and no cycle can loop: every item
// consumes what it names.
#pragma once

#include <deque>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <optional>
#include <vector>

#include "credit.h"
#include "kmsg.h"
#include "port.h"
#include "port_set.h"
#include "space.h"
#include "types.h"
#include "voucher.h"
#include "waiter.h"

namespace machd::ipc {

// Task special-port slots kept by the core (TASK_HOST_PORT .. TASK_MAX).
inline constexpr int kSpecialSlots = 12;

// What one user's tasks hold of machd, counted against the per-user bounds
// (Ipc::user_*_limit). Slot 0 of Ipc::usage is nobody's: the kernel task's
// ports and messages are not counted.
struct UserUsage {
  uint64_t queued_bytes = 0;  // heap bytes of the messages it sent still in flight
  uint64_t queued_msgs = 0;   // those messages
  uint64_t ports = 0;         // live ports its tasks created (wherever the receive right went)
};

struct Task {
  Task(TaskId tid, const Credentials& c, uint32_t max_names)
      : id(tid), creds(c), space(tid, max_names) {}

  TaskId id;
  Credentials creds;
  SenderId sender;                     // trailer identity built from creds
  // A network server's relay identity (Kernel::set_relayed_sender): the
  // trailer identity of its messages to ports user tasks receive on
  // (messages to machd's own ports keep `sender`).
  std::optional<SenderId> relayed;
  Space space;
  Port* task_port = nullptr;           // receive right held by the kernel task
  mach_port_name_t self_name = MACH_PORT_NULL;
  Port* special[kSpecialSlots] = {};   // send rights held by the task object
  std::vector<Credit*> credits;        // open send credits of this task (credit.h)
  // Its user's slot in Ipc::usage (what its messages and ports are charged
  // to); 0 for the kernel task, whose are not charged.
  uint16_t user = 0;
  // Teardown after task_terminate (task.h): the round (0: receive rights,
  // 1: every other name) and the next index of the space to look at.
  uint8_t reap_round = 0;
  uint32_t reap_next = 1;
};

struct Work {
  enum class Kind : uint8_t {
    kDeliver,        // kmsg: kernel-generated message to post on kmsg->dest
    kDestroyMsg,     // kmsg: release everything it carries
    kDestroyPort,    // port: receive right being destroyed (holds the receive ref)
    kSenderGranted,  // waiter: its message got a queue slot
    kResumeReceive,  // waiter: its send finished, run the receive half
    kVoucherNoSenders,  // port: a voucher's port lost its last send right (holds a port ref)
  };
  Kind kind;
  Kmsg* kmsg = nullptr;
  Port* port = nullptr;
  WaiterId waiter = 0;
};

// Freed small kernel messages kept for reuse (Ipc::new_kmsg / free_kmsg).
struct KmsgPool {
  std::vector<Kmsg*> free;
  KmsgPool() = default;
  KmsgPool(const KmsgPool&) = delete;
  KmsgPool& operator=(const KmsgPool&) = delete;
  ~KmsgPool();
};

struct Ipc {
  Ipc();
  ~Ipc();
  Ipc(const Ipc&) = delete;
  Ipc& operator=(const Ipc&) = delete;

  KmsgPool kmsg_pool;  // first: destroyed last, after anything that frees messages

  // ---- objects ----
  PortPool ports;
  VoucherTable vouchers;  // after `ports`: freed before them (voucher.h)
  uint64_t port_sets = 0;
  std::unordered_map<TaskId, std::unique_ptr<Task>> tasks;
  // Terminated tasks whose spaces are still being torn down (task_reap),
  // oldest first. They are no longer in `tasks`: no call can name them.
  std::deque<std::unique_ptr<Task>> dying;
  TaskId next_task = 1;
  TaskId kernel = kNoTask;
  Port* bootstrap = nullptr;  // send right given to new tasks (owned)

  // ---- fast lanes (credit.h, lane.h) ----
  LaneHooks* hooks = nullptr;
  std::unordered_map<CreditId, std::unique_ptr<Credit>> credits;
  CreditId next_credit = 1;
  std::unordered_map<LaneId, Port*> lanes;  // lane -> the port lending to it

  // ---- blocked threads ----
  std::unordered_map<WaiterId, std::unique_ptr<Waiter>> waiters;
  std::set<std::pair<uint64_t, WaiterId>> deadlines;
  std::vector<Completion> completions;
  uint64_t now_ns = 0;  // latest time passed in (msg / expire)

  // ---- accounting ----
  uint64_t live_kmsgs = 0;
  uint64_t live_payloads = 0;
  // What each user holds (UserUsage), by slot; slots are never reused:
  // tasks, messages and ports name them (Port::user is 16 bits, so users
  // beyond 65,535 share the last slot).
  std::deque<UserUsage> usage{UserUsage{}};
  std::unordered_map<uint32_t, uint16_t> user_slot;  // uid -> slot

  // ---- limits ----
  uint32_t space_limit = 1u << 22;
  uint64_t user_bytes_limit = uint64_t(1) << 30;  // Kernel::set_user_queued_bytes_limit
  uint64_t user_msgs_limit = uint64_t(1) << 20;   // Kernel::set_user_queued_messages_limit
  uint64_t user_ports_limit = uint64_t(1) << 22;  // Kernel::set_user_ports_limit
  uint32_t max_msg_size = (64u << 20) * 3 / 4 - MAX_TRAILER_SIZE;  // XNU's ipc_kmsg_max_body_space

  // ---- deferred work ----
  std::deque<Work> work;
  bool draining = false;

  Task* task(TaskId id) {
    auto it = tasks.find(id);
    return it == tasks.end() ? nullptr : it->second.get();
  }
  const Task* task(TaskId id) const {
    auto it = tasks.find(id);
    return it == tasks.end() ? nullptr : it->second.get();
  }
  void defer(Work w) { work.push_back(w); }
  void defer_destroy(Kmsg* k) { work.push_back(Work{Work::Kind::kDestroyMsg, k, nullptr, 0}); }
  void defer_deliver(Kmsg* k) { work.push_back(Work{Work::Kind::kDeliver, k, nullptr, 0}); }
  void defer_destroy_port(Port* p) { work.push_back(Work{Work::Kind::kDestroyPort, nullptr, p, 0}); }

  Kmsg* new_kmsg();
  void free_kmsg(Kmsg* k);  // k must carry no rights or payloads any more
  // The usage slot of `uid` (made on first use).
  uint16_t slot_of_user(uint32_t uid);
  // Whether user slot `user` may have one more message of `bytes` in
  // flight (within user_bytes_limit and user_msgs_limit). Slot 0 always may.
  bool msg_fits(uint16_t user, uint64_t bytes) const {
    if (user == 0) return true;
    const UserUsage& u = usage[user];
    return bytes <= user_bytes_limit && u.queued_bytes <= user_bytes_limit - bytes &&
           u.queued_msgs < user_msgs_limit;
  }
  // Charges k (`bytes`) to user slot `user`; free_kmsg() gives it back.
  void charge(Kmsg* k, uint16_t user, uint64_t bytes) {
    if (user == 0) return;
    usage[user].queued_bytes += bytes;
    usage[user].queued_msgs++;
    k->charged_to = user;
    k->charged_bytes = bytes;
  }
  // Whether user slot `user` may create one more port (user_ports_limit).
  bool port_fits(uint16_t user) const { return user == 0 || usage[user].ports < user_ports_limit; }
};

// Runs deferred work until the queue is empty (see the header comment).
void drain(Ipc& ipc);

// Drops one reference on `port`; frees it when none remain.
void port_release(Ipc& ipc, Port* port);

}  // namespace machd::ipc
