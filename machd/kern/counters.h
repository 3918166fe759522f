// machd/kern/counters.h — what machd counts about itself for the
// introspection subsystem (machd_introspect_stats): messages, kernel RPCs,
// faults, and a latency histogram per kind of trap.
//
// Cheap by design: plain integers bumped by the event loop's thread (the
// only thread that touches them), no locks, no allocation; timing a trap
// costs one clock read after it (the daemon already read the clock before).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "machd_abi.h"
#include "machd_introspect.h"

namespace machd::kern {

class Counters {
 public:
  // A trap `op` answered without blocking took `ns` nanoseconds in machd.
  // Ops outside [1, MACHD_OP_MAX) are ignored.
  void op_done(uint32_t op, uint64_t ns);
  // A mach_msg trap sent a message / handed one to a receiver.
  void message_sent() { stats_.messages_sent++; }
  void message_received() { stats_.messages_received++; }
  // machd served a request on one of its own ports (kernel objects, bootstrap).
  void kernel_rpc() { stats_.kernel_rpcs++; }
  // A page fault on a memory object's mapping reached machd.
  void fault() { stats_.faults++; }
  void exception() { stats_.exceptions++; }
  void trace_dropped(uint64_t n) { stats_.traced_dropped += n; }

  // The counters (tasks and ports are filled by the caller).
  machd_counters_t stats() const { return stats_; }
  // One record per op timed at least once, in op order.
  std::vector<machd_op_stat_t> op_stats() const;

  // The bucket of a duration: floor(log2(µs)), clamped to the histogram.
  static uint32_t bucket_of(uint64_t ns);

 private:
  machd_counters_t stats_{};
  std::array<machd_op_stat_t, MACHD_OP_MAX> ops_{};
};

// machd's counters (one per process).
Counters& counters();

}  // namespace machd::kern
