// machd/kern/counters.cc — see counters.h.
#include "counters.h"

#include <bit>

namespace machd::kern {

uint32_t Counters::bucket_of(uint64_t ns) {
  const uint64_t us = ns / 1000;
  if (us == 0) return 0;
  const uint32_t b = uint32_t(std::bit_width(us) - 1);
  return b < MACHD_LATENCY_BUCKETS ? b : MACHD_LATENCY_BUCKETS - 1;
}

void Counters::op_done(uint32_t op, uint64_t ns) {
  if (op == 0 || op >= MACHD_OP_MAX) return;
  machd_op_stat_t& s = ops_[op];
  s.op = op;
  s.count++;
  s.buckets[bucket_of(ns)]++;
}

std::vector<machd_op_stat_t> Counters::op_stats() const {
  std::vector<machd_op_stat_t> out;
  for (const machd_op_stat_t& s : ops_)
    if (s.count) out.push_back(s);
  return out;
}

Counters& counters() {
  static Counters c;
  return c;
}

}  // namespace machd::kern
