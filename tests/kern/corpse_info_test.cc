// tests/kern/corpse_info_test.cc — kern::corpse_info, the kcdata buffer of
// a corpse's crash information, laid out as XNU lays it out.
#include "kern/corpse_info.h"

#include <gtest/gtest.h>
#include <kern/kcdata.h>
#include <mach/exception_types.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace {

using machd::kern::CorpseFacts;
using machd::kern::corpse_info;

// The item of `type` in `buf` (an invalid iterator if none).
kcdata_iter_t find(std::vector<uint8_t>& buf, uint32_t type) {
  return kcdata_iter_find_type(kcdata_iter(buf.data(), buf.size()), type);
}

TEST(CorpseInfo, TheBufferIsXnusSizeAndBeginsAndEndsWithItsMarkers) {
  std::vector<uint8_t> buf = corpse_info(CorpseFacts{});
  ASSERT_EQ(buf.size(), 48u * 1024);
  kcdata_iter_t it = kcdata_iter(buf.data(), buf.size());
  ASSERT_TRUE(kcdata_iter_valid(it));
  EXPECT_EQ(kcdata_iter_type(it), TASK_CRASHINFO_BEGIN);
  EXPECT_EQ(it.item->size, 0u);
  EXPECT_EQ(kcdata_iter_flags(it), uint64_t(KCDATA_FLAGS_STRUCT_HAS_PADDING));  // as kcdata_get_memory_addr(size 0)
  kcdata_iter_t end = find(buf, TASK_CRASHINFO_END);
  ASSERT_TRUE(kcdata_iter_valid(end));
  EXPECT_EQ(end.item->size, 0u);
  EXPECT_EQ(kcdata_iter_flags(end), 0u);
  const size_t after = static_cast<uint8_t*>(static_cast<void*>(end.item)) - buf.data() + sizeof(kcdata_item);
  for (size_t i = after; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0) << "byte " << i << " after the end marker";
}

TEST(CorpseInfo, EveryItemIsPaddedToSixteenBytesWithItsPaddingInItsFlags) {
  std::vector<uint8_t> buf = corpse_info(CorpseFacts{});
  kcdata_iter_t pid = find(buf, TASK_CRASHINFO_PID);
  ASSERT_TRUE(kcdata_iter_valid(pid));
  EXPECT_EQ(pid.item->size, 16u);  // a 4-byte pid_t and 12 bytes of padding
  EXPECT_EQ(kcdata_iter_flags(pid), uint64_t(KCDATA_FLAGS_STRUCT_HAS_PADDING | 12));
  EXPECT_EQ(kcdata_iter_size(pid), 4u);
  kcdata_iter_t codes = find(buf, TASK_CRASHINFO_EXCEPTION_CODES);
  ASSERT_TRUE(kcdata_iter_valid(codes));
  EXPECT_EQ(codes.item->size, 16u);
  EXPECT_EQ(kcdata_iter_flags(codes), uint64_t(KCDATA_FLAGS_STRUCT_HAS_PADDING));
  kcdata_iter_t name = find(buf, TASK_CRASHINFO_PROC_NAME);
  ASSERT_TRUE(kcdata_iter_valid(name));
  EXPECT_EQ(kcdata_iter_size(name), uint32_t(MAXCOMLEN + 1));
  EXPECT_EQ(name.item->size, 32u);
  for (kcdata_iter_t it = kcdata_iter(buf.data(), buf.size()); kcdata_iter_valid(it); it = kcdata_iter_next(it)) {
    EXPECT_EQ(it.item->size % KCDATA_ALIGNMENT_SIZE, 0u) << std::hex << kcdata_iter_type(it);
    if (kcdata_iter_type(it) == TASK_CRASHINFO_END) break;
  }
}

TEST(CorpseInfo, TheFactsAreItsItemsAndLongNamesAreCutWithTheirNul) {
  CorpseFacts f;
  f.pid = 4242;
  f.ppid = 17;
  f.uid = 1000;
  f.gid = 100;
  f.name = "a-name-longer-than-sixteen";
  f.path = std::string(2000, 'p');
  f.exception_type = EXC_CRASH;
  f.codes[0] = EXC_CRASH;
  f.codes[1] = (int64_t(2) << 32) | 11;
  f.crashed_thread = 99;
  f.generated = true;
  std::vector<uint8_t> buf = corpse_info(f);
  auto payload = [&](uint32_t type) { return static_cast<const char*>(kcdata_iter_payload(find(buf, type))); };
  int32_t i32;
  memcpy(&i32, payload(TASK_CRASHINFO_PID), 4);
  EXPECT_EQ(i32, 4242);
  memcpy(&i32, payload(TASK_CRASHINFO_PPID), 4);
  EXPECT_EQ(i32, 17);
  memcpy(&i32, payload(TASK_CRASHINFO_EXCEPTION_TYPE), 4);
  EXPECT_EQ(i32, EXC_CRASH);
  memcpy(&i32, payload(TASK_CRASHINFO_TASK_IS_CORPSE_FORK), 4);
  EXPECT_EQ(i32, 1);
  int64_t codes[2];
  memcpy(codes, payload(TASK_CRASHINFO_EXCEPTION_CODES), sizeof codes);
  EXPECT_EQ(codes[0], EXC_CRASH);
  EXPECT_EQ(codes[1], (int64_t(2) << 32) | 11);
  uint64_t tid;
  memcpy(&tid, payload(TASK_CRASHINFO_CRASHED_THREADID), 8);
  EXPECT_EQ(tid, 99u);
  EXPECT_EQ(std::string(payload(TASK_CRASHINFO_PROC_NAME)), "a-name-longer-th");  // MAXCOMLEN bytes and a NUL
  EXPECT_EQ(std::string(payload(TASK_CRASHINFO_PROC_PATH)), std::string(1023, 'p'));  // MAXPATHLEN with its NUL
}

TEST(CorpseInfo, ReadCorpseFactsReadsThisProcess) {
  CorpseFacts f;
  ASSERT_TRUE(machd::kern::read_corpse_facts(getpid(), f));
  EXPECT_EQ(f.pid, getpid());
  EXPECT_EQ(f.ppid, getppid());
  EXPECT_FALSE(f.name.empty());
  EXPECT_NE(f.path.find("corpse_info_test"), std::string::npos);
  EXPECT_GE(f.argc, 1);
  EXPECT_LE(f.start_sec, time(nullptr));
  EXPECT_GT(f.start_sec, 1'600'000'000);
}

}  // namespace
