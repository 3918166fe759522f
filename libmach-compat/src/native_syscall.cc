// libmach-compat/src/native_syscall.cc — see native_syscall.h.
#include "native_syscall.h"

// mach_emulation_native(number, a0..a5): the System V call's registers
// moved to the kernel's (rax; rdi, rsi, rdx, r10, r8, r9; a5 is on the
// stack). machcompat_native_gate_return is the instruction after `syscall`.
asm(R"(
  .text
  .p2align 4
  .globl mach_emulation_native
  .type mach_emulation_native, @function
mach_emulation_native:
  .cfi_startproc
  movq %rdi, %rax
  movq %rsi, %rdi
  movq %rdx, %rsi
  movq %rcx, %rdx
  movq %r8, %r10
  movq %r9, %r8
  movq 8(%rsp), %r9
  syscall
  .globl machcompat_native_gate_return
  .hidden machcompat_native_gate_return
machcompat_native_gate_return:
  ret
  .cfi_endproc
  .size mach_emulation_native, .-mach_emulation_native
)");

extern "C" char machcompat_native_gate_return[];

namespace machcompat {

namespace {
// initial-exec: reached from the SIGSYS handler without a TLS lookup call.
thread_local int t_depth __attribute__((tls_model("initial-exec"))) = 0;
}  // namespace

uint64_t native_gate_address() { return reinterpret_cast<uint64_t>(machcompat_native_gate_return); }

int& native_depth() { return t_depth; }

}  // namespace machcompat
