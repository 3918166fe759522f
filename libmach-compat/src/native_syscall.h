// libmach-compat/src/native_syscall.h — the one `syscall` instruction the
// system call filter of an emulated task lets through (emulation.h): the
// library's own calls, and the calls its SIGSYS handler runs for real.
#pragma once

#include <cstdint>

extern "C" {
// <mach/emulation.h>: system call `number` with six arguments; the raw
// result (>= 0, or -errno). Never redirected.
int64_t mach_emulation_native(long number, long a0, long a1, long a2, long a3, long a4, long a5);
}

namespace machcompat {

// The address right after the gate's `syscall` instruction: what
// seccomp_data.instruction_pointer holds for a call made through it.
uint64_t native_gate_address();

// Calls made by the calling thread while its depth is above zero (the
// library at work, an emulation routine or a server request running) are
// never redirected: the SIGSYS handler runs them for real.
int& native_depth();

class NativeScope {
 public:
  NativeScope() { ++native_depth(); }
  ~NativeScope() { --native_depth(); }
  NativeScope(const NativeScope&) = delete;
  NativeScope& operator=(const NativeScope&) = delete;
};

}  // namespace machcompat
