// machd/kern/thread_state.cc — see thread_state.h.
#include "thread_state.h"

#include <sys/ucontext.h>

#include <cstring>

namespace machd::kern {

namespace {

constexpr size_t kFx = 512;          // FXSAVE image
constexpr size_t kYmmhOffset = 576;  // XSAVE standard format, component 2 (AVX)
constexpr uint64_t kXfeatureYmm = 1u << 2;
// RFLAGS bits a user may change (CF PF AF ZF SF TF DF OF AC ID... as XNU's EFL_USER_SET/CLEAR).
constexpr uint64_t kUserFlags = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x40000 | 0x200000;

void to_ts64(const machd_thread_slot& s, x86_thread_state64_t& t) {
  const uint64_t* g = s.gregs;
  t.__rax = g[REG_RAX]; t.__rbx = g[REG_RBX]; t.__rcx = g[REG_RCX]; t.__rdx = g[REG_RDX];
  t.__rdi = g[REG_RDI]; t.__rsi = g[REG_RSI]; t.__rbp = g[REG_RBP]; t.__rsp = g[REG_RSP];
  t.__r8 = g[REG_R8]; t.__r9 = g[REG_R9]; t.__r10 = g[REG_R10]; t.__r11 = g[REG_R11];
  t.__r12 = g[REG_R12]; t.__r13 = g[REG_R13]; t.__r14 = g[REG_R14]; t.__r15 = g[REG_R15];
  t.__rip = g[REG_RIP];
  t.__rflags = g[REG_EFL];
  t.__cs = g[REG_CSGSFS] & 0xffff;
  t.__gs = (g[REG_CSGSFS] >> 16) & 0xffff;
  t.__fs = (g[REG_CSGSFS] >> 32) & 0xffff;
}

void from_ts64(machd_thread_slot& s, const x86_thread_state64_t& t) {
  uint64_t* g = s.gregs;
  g[REG_RAX] = t.__rax; g[REG_RBX] = t.__rbx; g[REG_RCX] = t.__rcx; g[REG_RDX] = t.__rdx;
  g[REG_RDI] = t.__rdi; g[REG_RSI] = t.__rsi; g[REG_RBP] = t.__rbp; g[REG_RSP] = t.__rsp;
  g[REG_R8] = t.__r8; g[REG_R9] = t.__r9; g[REG_R10] = t.__r10; g[REG_R11] = t.__r11;
  g[REG_R12] = t.__r12; g[REG_R13] = t.__r13; g[REG_R14] = t.__r14; g[REG_R15] = t.__r15;
  g[REG_RIP] = t.__rip;
  g[REG_EFL] = (g[REG_EFL] & ~kUserFlags) | (t.__rflags & kUserFlags);
  // cs, fs, gs: user mode's, whatever was asked (XNU forces them too).
}

void to_float(const machd_thread_slot& s, x86_float_state64_t& f) {
  memset(&f, 0, sizeof f);
  if (s.fp_kind != MACHD_FP_NONE && s.fp_size >= kFx)
    memcpy(reinterpret_cast<uint8_t*>(&f) + 8, s.fpstate, kFx);
}

bool has_ymm(const machd_thread_slot& s) {
  if (s.fp_kind != MACHD_FP_XSAVE || s.fp_size < kYmmhOffset + 256) return false;
  uint64_t bv;
  memcpy(&bv, s.fpstate + kFx, sizeof bv);
  return (bv & kXfeatureYmm) != 0;
}

template <typename T>
kern_return_t put(const T& v, natural_t* out, mach_msg_type_number_t* count) {
  constexpr mach_msg_type_number_t n = sizeof(T) / sizeof(natural_t);
  if (*count < n) return KERN_INVALID_ARGUMENT;
  memcpy(out, &v, sizeof v);
  *count = n;
  return KERN_SUCCESS;
}

template <typename T>
bool take(T& v, const natural_t* in, mach_msg_type_number_t count) {
  if (count < sizeof(T) / sizeof(natural_t)) return false;
  memcpy(&v, in, sizeof v);
  return true;
}

}  // namespace

kern_return_t get_thread_state(const machd_thread_slot& s, const x86_debug_state64_t& debug, int flavor,
                               natural_t* out, mach_msg_type_number_t* count) {
  switch (flavor) {
    case x86_THREAD_STATE64: {
      x86_thread_state64_t t{};
      to_ts64(s, t);
      return put(t, out, count);
    }
    case x86_THREAD_STATE: {
      x86_thread_state_t t{};
      t.tsh.flavor = x86_THREAD_STATE64;
      t.tsh.count = x86_THREAD_STATE64_COUNT;
      to_ts64(s, t.uts.ts64);
      return put(t, out, count);
    }
    case x86_FLOAT_STATE64: {
      x86_float_state64_t f;
      to_float(s, f);
      return put(f, out, count);
    }
    case x86_FLOAT_STATE: {
      x86_float_state_t f{};
      f.fsh.flavor = x86_FLOAT_STATE64;
      f.fsh.count = x86_FLOAT_STATE64_COUNT;
      to_float(s, f.ufs.fs64);
      return put(f, out, count);
    }
    case x86_AVX_STATE64: {
      x86_avx_state64_t a{};
      to_float(s, *reinterpret_cast<x86_float_state64_t*>(&a));
      if (has_ymm(s)) memcpy(&a.__fpu_ymmh0, s.fpstate + kYmmhOffset, 256);
      return put(a, out, count);
    }
    case x86_EXCEPTION_STATE64: {
      x86_exception_state64_t e{};
      e.__trapno = uint16_t(s.gregs[REG_TRAPNO]);
      e.__err = uint32_t(s.gregs[REG_ERR]);
      e.__faultvaddr = s.gregs[REG_CR2];
      return put(e, out, count);
    }
    case x86_DEBUG_STATE64: return put(debug, out, count);
    default: return KERN_INVALID_ARGUMENT;
  }
}

kern_return_t set_thread_state(machd_thread_slot& s, x86_debug_state64_t& debug, int flavor, const natural_t* in,
                               mach_msg_type_number_t count) {
  switch (flavor) {
    case x86_THREAD_STATE64: {
      x86_thread_state64_t t;
      if (!take(t, in, count)) return KERN_INVALID_ARGUMENT;
      from_ts64(s, t);
      break;
    }
    case x86_THREAD_STATE: {
      x86_thread_state_t t;
      if (!take(t, in, count) || t.tsh.flavor != x86_THREAD_STATE64 || t.tsh.count != x86_THREAD_STATE64_COUNT)
        return KERN_INVALID_ARGUMENT;
      from_ts64(s, t.uts.ts64);
      break;
    }
    case x86_FLOAT_STATE64:
    case x86_AVX_STATE64: {
      x86_avx_state64_t a{};
      if (flavor == x86_FLOAT_STATE64 ? !take(*reinterpret_cast<x86_float_state64_t*>(&a), in, count)
                                      : !take(a, in, count))
        return KERN_INVALID_ARGUMENT;
      if (s.fp_kind == MACHD_FP_NONE || s.fp_size < kFx) return KERN_FAILURE;
      uint8_t fx[kFx];
      memcpy(fx, reinterpret_cast<uint8_t*>(&a) + 8, kFx);
      // Keep the kernel's software area (bytes 464..511 mark the XSAVE frame).
      memcpy(fx + 464, s.fpstate + 464, kFx - 464);
      uint32_t mxcsr_mask;
      memcpy(&mxcsr_mask, s.fpstate + 28, 4);
      uint32_t mxcsr;
      memcpy(&mxcsr, fx + 24, 4);
      if (mxcsr & ~(mxcsr_mask ? mxcsr_mask : 0xffbfu)) return KERN_INVALID_ARGUMENT;  // would fault in sigreturn
      memcpy(fx + 28, &mxcsr_mask, 4);
      memcpy(s.fpstate, fx, kFx);
      if (flavor == x86_AVX_STATE64 && s.fp_kind == MACHD_FP_XSAVE && s.fp_size >= kYmmhOffset + 256) {
        memcpy(s.fpstate + kYmmhOffset, &a.__fpu_ymmh0, 256);
        uint64_t bv;
        memcpy(&bv, s.fpstate + kFx, sizeof bv);
        bv |= kXfeatureYmm;
        memcpy(s.fpstate + kFx, &bv, sizeof bv);
      }
      break;
    }
    case x86_DEBUG_STATE64: {
      x86_debug_state64_t d;
      if (!take(d, in, count)) return KERN_INVALID_ARGUMENT;
      debug = d;  // kept, not applied: only ptrace reaches debug registers on Linux
      return KERN_SUCCESS;
    }
    case x86_EXCEPTION_STATE64: return KERN_SUCCESS;  // read-only in effect, as XNU ignores it
    default: return KERN_INVALID_ARGUMENT;
  }
  s.flags |= MACHD_TSF_DIRTY;
  return KERN_SUCCESS;
}

}  // namespace machd::kern
