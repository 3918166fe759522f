// machd/daemon/reply_arrays.h — returning arrays of any length from a trap.
//
// XNU returns variable-length results of mach_port_names and
// mach_port_get_set_status as out-of-line memory. A trap's reply travels in
// the thread's channel (MACHD_CHANNEL_DATA_SIZE bytes), so large arrays go
// the way large out-of-line message memory goes: in a sealed memfd passed on
// the session's socket. The wire form (MACHD_ABI: see the op comments):
//
//   rets[0]      element count n (the same for every array);
//   rets[1] == 0 the arrays follow one another in the reply data;
//   rets[1] != 0 the tag of the machd_sock_fds carrying a memfd in which
//                array i starts at offset sum_{j<i} round_page(n * size_j).
//
// Contract: put_reply_arrays fills rets[0], rets[1] and data (inline when
// everything fits in the channel, else the memfd). KERN_RESOURCE_SHORTAGE
// when the memfd cannot be made or sent (the reply then carries nothing).
#pragma once

#include <cstdint>
#include <span>

#include <mach/mach_types.h>

#include "session.h"

namespace machd {

// One array of the reply: its bytes (n elements of elem_size bytes).
struct ReplyArray {
  const void* data;
  size_t elem_size;
};

// The page size the memfd layout rounds each array to (the host's).
uint64_t reply_array_page();

kern_return_t put_reply_arrays(Session& s, Reply& rep, size_t n, std::span<const ReplyArray> arrays);

}  // namespace machd
