// tests/daemon/codec_test.cc — the channel decoder takes anything a hostile
// client can write and never crashes, leaks an fd, or accepts an
// out-of-bounds record.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "msg_codec.h"
#include "ool_payload.h"

using namespace machd;

namespace {

void put(std::vector<uint8_t>& d, size_t off, const void* p, size_t n) {
  if (d.size() < off + n) d.resize(off + n);
  memcpy(d.data() + off, p, n);
}

int open_fd_count() {
  int n = 0;
  for (int fd = 0; fd < 1024; ++fd)
    if (fcntl(fd, F_GETFD) != -1) ++n;
  return n;
}

}  // namespace

TEST(MsgCodec, RandomRequestsNeverCrashOrLeakFds) {
  std::mt19937_64 rng(20261121);
  int fds_before = open_fd_count();
  for (int iter = 0; iter < 20000; ++iter) {
    Request req;
    req.op = MACHD_OP_MSG;
    for (auto& a : req.args) a = (rng() % 4 == 0) ? rng() : rng() % 512;
    req.args[0] |= MACH_SEND_MSG;
    req.data.resize(rng() % 2048);
    for (auto& b : req.data) b = uint8_t(rng());
    if (rng() % 8 == 0) {  // sometimes a real fd, sometimes a wrong kind of fd
      int fd = (rng() % 2) ? memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING) : open("/dev/null", O_RDONLY);
      if (fd >= 0 && rng() % 2) (void)!ftruncate(fd, 8192);
      req.fds.push_back(fd);
    }
    ipc::MsgArgs out;
    (void)decode_msg_request(req, out);
  }
  EXPECT_EQ(open_fd_count(), fds_before);
  EXPECT_EQ(MemfdPayload::live_count(), 0u);
}

TEST(MsgCodec, InlineOolRecordPastTheDataIsInvalidMemory) {
  Request req;
  req.args[0] = MACH_SEND_MSG;
  req.args[1] = 24;
  req.args[6] = 1;
  req.data.assign(24, 0);
  machd_ool_in in{MACHD_OOL_INLINE, 0, 100, 4096};  // offset far past the data
  put(req.data, 24, &in, sizeof in);
  ipc::MsgArgs out;
  EXPECT_EQ(decode_msg_request(req, out), MACH_SEND_INVALID_MEMORY);
}

TEST(MsgCodec, SendSizeBeyondXnusLimitIsTooLarge) {
  Request req;
  req.args[0] = MACH_SEND_MSG;
  req.args[1] = uint64_t(MACHD_MSG_SIZE_LIMIT) + 4;
  ipc::MsgArgs out;
  EXPECT_EQ(decode_msg_request(req, out), MACH_SEND_TOO_LARGE);
}

// A send whose message is larger than a channel (it travels in the last fd).
Request large_send(uint32_t size) {
  Request req;
  req.args[0] = MACH_SEND_MSG;
  req.args[1] = size;
  return req;
}

TEST(MsgCodec, LargeMessageWithoutItsFdIsInvalidData) {
  Request req = large_send(MACHD_MSG_MAX + 4);
  ipc::MsgArgs out;
  EXPECT_EQ(decode_msg_request(req, out), MACH_SEND_INVALID_DATA);
}

TEST(MsgCodec, LargeMessageShorterThanItsSizeIsInvalidData) {
  Request req = large_send(MACHD_MSG_MAX + 4);
  int fd = memfd_create("short", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  req.fds.push_back(fd);  // closed by ~Request
  ipc::MsgArgs out;
  EXPECT_EQ(decode_msg_request(req, out), MACH_SEND_INVALID_DATA);
}

TEST(MsgCodec, LargeMessageIsReadFromTheLastFd) {
  const uint32_t size = MACHD_MSG_MAX + 1024;
  Request req = large_send(size);
  std::vector<uint8_t> msg(size, 0x5a);
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  h.msgh_size = size;
  memcpy(msg.data(), &h, sizeof h);
  int fd = memfd_create("big", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, msg.data(), msg.size(), 0), ssize_t(msg.size()));
  req.fds.push_back(fd);
  ipc::MsgArgs out;
  ASSERT_EQ(decode_msg_request(req, out), MACH_MSG_SUCCESS);
  ASSERT_TRUE(out.send);
  EXPECT_EQ(out.send->msg, msg);
}

TEST(MsgCodec, FdRecordNamingAMissingFdIsInvalidMemory) {
  Request req;
  req.args[0] = MACH_SEND_MSG;
  req.args[1] = 24;
  req.args[6] = 1;
  req.data.assign(24, 0);
  machd_ool_in in{MACHD_OOL_FD, 3, 4096, 0};
  put(req.data, 24, &in, sizeof in);
  ipc::MsgArgs out;
  EXPECT_EQ(decode_msg_request(req, out), MACH_SEND_INVALID_MEMORY);
}

TEST(MsgCodec, WellFormedRequestDecodesEveryPart) {
  Request req;
  req.args[0] = MACH_SEND_MSG | MACH_RCV_MSG;
  req.args[1] = 40;
  req.args[2] = 1024;
  req.args[3] = 0x103;
  req.args[6] = 1;
  req.args[7] = 1;
  req.data.assign(40, 0xAB);
  machd_ool_in in{MACHD_OOL_INLINE, 0, 5, 0};
  size_t rec = 40, ports = rec + sizeof in, inl = ports + 8 + 8;
  in.offset = inl;
  put(req.data, rec, &in, sizeof in);
  uint32_t count[2] = {2, 0};
  put(req.data, ports, count, 8);
  uint32_t names[2] = {0x103, 0x207};
  put(req.data, ports + 8, names, 8);
  put(req.data, inl, "hello", 5);
  ipc::MsgArgs out;
  ASSERT_EQ(decode_msg_request(req, out), MACH_MSG_SUCCESS);
  ASSERT_TRUE(out.send.has_value());
  EXPECT_EQ(out.send->msg.size(), 40u);
  ASSERT_EQ(out.send->ool.size(), 1u);
  EXPECT_EQ(out.send->ool[0]->size(), 5u);
  ASSERT_EQ(out.send->ool_ports.size(), 1u);
  EXPECT_EQ(out.send->ool_ports[0], (std::vector<mach_port_name_t>{0x103, 0x207}));
  EXPECT_EQ(out.rcv_name, 0x103u);
  EXPECT_EQ(out.rcv_size, 1024u);
}

TEST(OolPayload, AdoptedMemfdIsSealedAgainstWrites) {
  int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 8192), 0);
  int dup_fd = dup(fd);
  auto p = MemfdPayload::adopt(fd, 0, 8192);
  ASSERT_NE(p, nullptr);
  // The sender's copy of the fd can no longer change the pages.
  EXPECT_EQ(pwrite(dup_fd, "x", 1, 0), -1);
  EXPECT_EQ(mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, dup_fd, 0), MAP_FAILED);
  close(dup_fd);
}

TEST(OolPayload, MemfdStillMappedWritableIsRefused) {
  int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  auto* m = static_cast<char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(m, MAP_FAILED);
  // The sender could still change the pages after sending: not accepted.
  EXPECT_EQ(MemfdPayload::adopt(dup(fd), 0, 4096), nullptr);
  munmap(m, 4096);
  close(fd);
}

TEST(OolPayload, FileThatIsNotAMemfdIsRefused) {
  char path[] = "/tmp/machd-codec-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  ASSERT_EQ(ftruncate(fd, 8192), 0);
  EXPECT_EQ(MemfdPayload::adopt(fd, 0, 8192), nullptr);
}

TEST(MsgCodec, RecordsNamingOneMemfdShareOneDescriptor) {
  // A thousand regions of one memfd cost machd one descriptor, not a
  // thousand: a task cannot use up machd's descriptors that way.
  constexpr size_t kRecords = 1000;
  const long page = sysconf(_SC_PAGESIZE);
  int fd = memfd_create("shared", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, off_t(kRecords) * page), 0);
  Request req;
  req.args[0] = MACH_SEND_MSG;
  req.args[1] = 24;
  req.args[6] = kRecords;
  req.data.assign(24, 0);
  for (size_t i = 0; i < kRecords; ++i) {
    machd_ool_in in{MACHD_OOL_FD, 0, uint64_t(page), uint64_t(i) * uint64_t(page)};
    put(req.data, 24 + i * sizeof in, &in, sizeof in);
  }
  req.fds.push_back(fd);
  const int before = open_fd_count();
  ipc::MsgArgs out;
  ASSERT_EQ(decode_msg_request(req, out), MACH_MSG_SUCCESS);
  ASSERT_EQ(out.send->ool.size(), kRecords);
  EXPECT_EQ(open_fd_count(), before + 1);
  out.send.reset();
  EXPECT_EQ(open_fd_count(), before);
}

TEST(OolPayload, MemfdThatMayStillGrowIsRefused) {
  int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  // Sealed against writes and shrinking, and against further seals, but
  // not against growth.
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_SEAL), 0);
  EXPECT_EQ(MemfdPayload::adopt(fd, 0, 4096), nullptr);
}
