// tests/kern/trace_test.cc — the pure parts of tracing and counting
// (kern/trace.h, kern/counters.h): which records a filter takes, what a
// message says about itself, and the latency buckets.
#include <gtest/gtest.h>
#include <mach/message.h>

#include <cstring>
#include <vector>

#include "kern/counters.h"
#include "kern/trace.h"

namespace machd::kern {
namespace {

machd_trace_record_t record(int32_t sender, int32_t receiver, uint32_t object, int32_t id) {
  machd_trace_record_t r{};
  r.sender_pid = sender;
  r.receiver_pid = receiver;
  r.object = object;
  r.msgh_id = id;
  return r;
}

TEST(TraceFilter, NoFilterTakesEverything) {
  EXPECT_TRUE(TraceFilter{}.matches(record(1, 2, 3, 4)));
}

TEST(TraceFilter, APidMatchesEitherEnd) {
  TraceFilter f{MACHD_TRACE_PID, 7, 0, 0};
  EXPECT_TRUE(f.matches(record(7, 2, 3, 4)));
  EXPECT_TRUE(f.matches(record(1, 7, 3, 4)));
  EXPECT_FALSE(f.matches(record(1, 2, 7, 7)));
}

TEST(TraceFilter, EveryGivenFilterMustMatch) {
  TraceFilter f{MACHD_TRACE_PORT | MACHD_TRACE_ID, 0, 0xabc, 42};
  EXPECT_TRUE(f.matches(record(1, 2, 0xabc, 42)));
  EXPECT_FALSE(f.matches(record(1, 2, 0xabc, 43)));
  EXPECT_FALSE(f.matches(record(1, 2, 0xabd, 42)));
}

// A complex message: one port descriptor, one OOL region of 4096 bytes, an
// OOL ports array of 3 names, in the x86_64 user layout.
std::vector<uint8_t> complex_message() {
  std::vector<uint8_t> m(sizeof(mach_msg_header_t) + sizeof(mach_msg_body_t) + 12 + 16 + 16, 0);
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS_COMPLEX | MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  h.msgh_size = uint32_t(m.size());
  h.msgh_remote_port = 0x1303;
  h.msgh_id = 5150;
  memcpy(m.data(), &h, sizeof h);
  mach_msg_body_t body{3};
  memcpy(m.data() + sizeof h, &body, sizeof body);
  size_t off = sizeof h + sizeof body;
  m[off + 11] = MACH_MSG_PORT_DESCRIPTOR;
  off += 12;
  m[off + 11] = MACH_MSG_OOL_DESCRIPTOR;
  uint32_t size = 4096;
  memcpy(&m[off + 12], &size, 4);
  off += 16;
  m[off + 11] = MACH_MSG_OOL_PORTS_DESCRIPTOR;
  uint32_t count = 3;
  memcpy(&m[off + 12], &count, 4);
  return m;
}

TEST(Summarize, CountsRightsAndOutOfLineBytesOfEveryDescriptor) {
  std::vector<uint8_t> m = complex_message();
  MessageSummary s = summarize(m.data(), m.size());
  EXPECT_EQ(s.remote, 0x1303u);
  EXPECT_EQ(s.msgh_id, 5150);
  EXPECT_EQ(s.size, m.size());
  EXPECT_EQ(s.port_rights, 4u);
  EXPECT_EQ(s.ool_bytes, 4096u);
}

TEST(Summarize, AShortMessageCountsOnlyWhatCanBeRead) {
  std::vector<uint8_t> m = complex_message();
  MessageSummary s = summarize(m.data(), sizeof(mach_msg_header_t) + sizeof(mach_msg_body_t) + 12);
  EXPECT_EQ(s.port_rights, 1u);
  EXPECT_EQ(s.ool_bytes, 0u);
  EXPECT_EQ(summarize(m.data(), 10).msgh_id, 0);
}

TEST(Counters, BucketsAreLog2Microseconds) {
  EXPECT_EQ(Counters::bucket_of(0), 0u);
  EXPECT_EQ(Counters::bucket_of(999), 0u);
  EXPECT_EQ(Counters::bucket_of(1000), 0u);
  EXPECT_EQ(Counters::bucket_of(2000), 1u);
  EXPECT_EQ(Counters::bucket_of(3999), 1u);
  EXPECT_EQ(Counters::bucket_of(4000), 2u);
  EXPECT_EQ(Counters::bucket_of(uint64_t(1) << 60), uint32_t(MACHD_LATENCY_BUCKETS - 1));
}

TEST(Counters, OnlyTimedOpsAreReported) {
  Counters c;
  c.op_done(MACHD_OP_MSG, 1500);
  c.op_done(MACHD_OP_MSG, 5000);
  c.op_done(0, 1);             // not an op
  c.op_done(MACHD_OP_MAX, 1);  // not an op
  std::vector<machd_op_stat_t> ops = c.op_stats();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].op, uint32_t(MACHD_OP_MSG));
  EXPECT_EQ(ops[0].count, 2u);
  EXPECT_EQ(ops[0].buckets[0], 1u);
  EXPECT_EQ(ops[0].buckets[2], 1u);
}

}  // namespace
}  // namespace machd::kern
