// tests/ipc/memory_test.cc — bytes per port with 1,000,000 receive rights in
// one task (the daemon's memory budget), measured from the heap (mallinfo2)
// and the resident set.
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "harness.h"

namespace machd::ipc::test {
namespace {

using MemoryTest = IpcTest;

size_t heap_bytes() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

TEST_F(MemoryTest, MillionReceiveRightsCostUnder200BytesEach) {
  constexpr int kPorts = 1'000'000;
  TaskId t = task();
  const size_t heap0 = heap_bytes(), rss0 = rss_bytes();
  mach_port_name_t n = MACH_PORT_NULL;
  for (int i = 0; i < kPorts; i++) ASSERT_EQ(k.port_allocate(t, MACH_PORT_RIGHT_RECEIVE, &n), KERN_SUCCESS);
  const double heap = static_cast<double>(heap_bytes() - heap0) / kPorts;
  const double rss = static_cast<double>(rss_bytes() - rss0) / kPorts;
  std::printf("ipc memory: %d receive rights: %.1f heap bytes/port, %.1f RSS bytes/port\n", kPorts, heap, rss);
  RecordProperty("heap_bytes_per_port", std::to_string(heap));
  RecordProperty("rss_bytes_per_port", std::to_string(rss));
  EXPECT_LT(heap, 200.0);
  EXPECT_EQ(k.stats().ports, static_cast<uint64_t>(kPorts) + 1);  // + the task port
  kill(t);
}

}  // namespace
}  // namespace machd::ipc::test

namespace machd::ipc::test {
namespace {

// Not a benchmark harness (the project has one): a rough number of core-only
// send+receive pairs per second, printed for the record.
TEST_F(MemoryTest, CoreSendReceiveThroughputIsPrinted) {
  TaskId a = task(), b = task();
  mach_port_name_t p = recv_port(b);
  mach_port_name_t s = give_send(b, p, a);
  Msg m = simple(s, 1);
  m.data.assign(40, 0);  // a 64-byte message
  const SendArgs proto = m.encode();
  constexpr int kIters = 200000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kIters; i++) {
    MsgArgs sa;
    sa.options = MACH_SEND_MSG;
    sa.send = SendArgs{};
    sa.send->msg = proto.msg;
    MsgOutcome so = k.msg(a, 1, std::move(sa), now_);
    ASSERT_EQ(so.done.result, MACH_MSG_SUCCESS);
    MsgArgs ra;
    ra.options = MACH_RCV_MSG | MACH_RCV_TIMEOUT;
    ra.rcv_name = p;
    ra.rcv_size = 1024;
    MsgOutcome ro = k.msg(b, 2, std::move(ra), now_);
    ASSERT_EQ(ro.done.result, MACH_MSG_SUCCESS);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("ipc core: %.2f M send+receive pairs/s (64-byte messages)\n", kIters / secs / 1e6);
}

}  // namespace
}  // namespace machd::ipc::test
