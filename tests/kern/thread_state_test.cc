// tests/kern/thread_state_test.cc — a parked thread's slot seen through the
// x86 thread-state flavors (kern/thread_state.h).
#include <gtest/gtest.h>
#include <sys/ucontext.h>

#include <cstring>
#include <memory>

#include "kern/thread_state.h"

using namespace machd::kern;

namespace {

std::unique_ptr<machd_thread_slot> parked_slot() {
  auto s = std::make_unique<machd_thread_slot>();
  memset(s.get(), 0, sizeof *s);
  for (unsigned i = 0; i < MACHD_NGREG; ++i) s->gregs[i] = 0x1000 + i;
  s->gregs[REG_EFL] = 0x202;
  s->gregs[REG_CSGSFS] = 0x33;
  s->fp_kind = MACHD_FP_XSAVE;
  s->fp_size = 1024;
  uint32_t mxcsr = 0x1f80, mask = 0xffff;
  memcpy(s->fpstate + 24, &mxcsr, 4);
  memcpy(s->fpstate + 28, &mask, 4);
  memset(s->fpstate + 160, 0xab, 16);  // xmm0
  uint64_t bv = 0x7;                   // x87, SSE, AVX present
  memcpy(s->fpstate + 512, &bv, 8);
  memset(s->fpstate + 576, 0xcd, 16);  // ymmh0
  return s;
}

}  // namespace

TEST(ThreadState, ThreadState64MapsTheSavedGeneralRegisters) {
  auto s = parked_slot();
  x86_debug_state64_t dbg{};
  x86_thread_state64_t t{};
  mach_msg_type_number_t n = x86_THREAD_STATE64_COUNT;
  ASSERT_EQ(get_thread_state(*s, dbg, x86_THREAD_STATE64, reinterpret_cast<natural_t*>(&t), &n), KERN_SUCCESS);
  EXPECT_EQ(n, x86_THREAD_STATE64_COUNT);
  EXPECT_EQ(t.__rip, 0x1000u + REG_RIP);
  EXPECT_EQ(t.__rsp, 0x1000u + REG_RSP);
  EXPECT_EQ(t.__r12, 0x1000u + REG_R12);
  EXPECT_EQ(t.__cs, 0x33u);
}

TEST(ThreadState, TooSmallACountOrAnUnknownFlavorIsInvalidArgument) {
  auto s = parked_slot();
  x86_debug_state64_t dbg{};
  natural_t buf[256];
  mach_msg_type_number_t n = x86_THREAD_STATE64_COUNT - 1;
  EXPECT_EQ(get_thread_state(*s, dbg, x86_THREAD_STATE64, buf, &n), KERN_INVALID_ARGUMENT);
  n = 256;
  EXPECT_EQ(get_thread_state(*s, dbg, 4242, buf, &n), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(set_thread_state(*s, dbg, x86_THREAD_STATE64, buf, x86_THREAD_STATE64_COUNT - 1), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(s->flags & MACHD_TSF_DIRTY, 0u);
}

TEST(ThreadState, SetMarksTheSlotDirtyAndKeepsPrivilegedBits) {
  auto s = parked_slot();
  x86_debug_state64_t dbg{};
  x86_thread_state64_t t{};
  t.__rip = 0x401000;
  t.__rflags = ~0ull;  // IOPL, VM, ... must not get through
  t.__cs = 0x8;        // a kernel selector is ignored
  ASSERT_EQ(set_thread_state(*s, dbg, x86_THREAD_STATE64, reinterpret_cast<natural_t*>(&t), x86_THREAD_STATE64_COUNT),
            KERN_SUCCESS);
  EXPECT_TRUE(s->flags & MACHD_TSF_DIRTY);
  EXPECT_EQ(s->gregs[REG_RIP], 0x401000u);
  EXPECT_EQ(s->gregs[REG_CSGSFS], 0x33u);
  EXPECT_EQ(s->gregs[REG_EFL] & 0x3000u, 0u);   // IOPL
  EXPECT_EQ(s->gregs[REG_EFL] & 0x20000u, 0u);  // VM
  EXPECT_TRUE(s->gregs[REG_EFL] & 0x200u);      // IF stays on
}

TEST(ThreadState, UnifiedThreadStateCarriesItsHeader) {
  auto s = parked_slot();
  x86_debug_state64_t dbg{};
  x86_thread_state_t u{};
  mach_msg_type_number_t n = x86_THREAD_STATE_COUNT;
  ASSERT_EQ(get_thread_state(*s, dbg, x86_THREAD_STATE, reinterpret_cast<natural_t*>(&u), &n), KERN_SUCCESS);
  EXPECT_EQ(u.tsh.flavor, uint32_t(x86_THREAD_STATE64));
  EXPECT_EQ(u.tsh.count, uint32_t(x86_THREAD_STATE64_COUNT));
  u.tsh.flavor = x86_THREAD_STATE32;
  EXPECT_EQ(set_thread_state(*s, dbg, x86_THREAD_STATE, reinterpret_cast<natural_t*>(&u), x86_THREAD_STATE_COUNT),
            KERN_INVALID_ARGUMENT);
}

TEST(ThreadState, FloatAndAvxComeFromTheXsaveImage) {
  auto s = parked_slot();
  x86_debug_state64_t dbg{};
  x86_avx_state64_t a{};
  mach_msg_type_number_t n = x86_AVX_STATE64_COUNT;
  ASSERT_EQ(get_thread_state(*s, dbg, x86_AVX_STATE64, reinterpret_cast<natural_t*>(&a), &n), KERN_SUCCESS);
  EXPECT_EQ(a.__fpu_mxcsr, 0x1f80u);
  EXPECT_EQ(uint8_t(a.__fpu_xmm0.__xmm_reg[0]), 0xab);
  EXPECT_EQ(uint8_t(a.__fpu_ymmh0.__xmm_reg[0]), 0xcd);
  a.__fpu_ymmh0.__xmm_reg[0] = 0x11;
  ASSERT_EQ(set_thread_state(*s, dbg, x86_AVX_STATE64, reinterpret_cast<natural_t*>(&a), x86_AVX_STATE64_COUNT),
            KERN_SUCCESS);
  EXPECT_EQ(s->fpstate[576], 0x11);
  a.__fpu_mxcsr = 0xffffffff;  // reserved bits would fault in sigreturn
  a.__fpu_mxcsrmask = 0xffbf;
  memcpy(s->fpstate + 28, &a.__fpu_mxcsrmask, 4);
  EXPECT_EQ(set_thread_state(*s, dbg, x86_AVX_STATE64, reinterpret_cast<natural_t*>(&a), x86_AVX_STATE64_COUNT),
            KERN_INVALID_ARGUMENT);
}

TEST(ThreadState, DebugStateIsKeptAndReportedBack) {
  auto s = parked_slot();
  x86_debug_state64_t dbg{};
  x86_debug_state64_t d{};
  d.__dr0 = 0x1234;
  ASSERT_EQ(set_thread_state(*s, dbg, x86_DEBUG_STATE64, reinterpret_cast<natural_t*>(&d), x86_DEBUG_STATE64_COUNT),
            KERN_SUCCESS);
  x86_debug_state64_t out{};
  mach_msg_type_number_t n = x86_DEBUG_STATE64_COUNT;
  ASSERT_EQ(get_thread_state(*s, dbg, x86_DEBUG_STATE64, reinterpret_cast<natural_t*>(&out), &n), KERN_SUCCESS);
  EXPECT_EQ(out.__dr0, 0x1234u);
}
