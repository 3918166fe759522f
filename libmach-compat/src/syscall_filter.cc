// libmach-compat/src/syscall_filter.cc — see syscall_filter.h.
#include "syscall_filter.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <vector>

#include "native_syscall.h"

namespace machcompat {

int install_trap_filter(const SyscallSet& numbers) {
  const uint64_t gate = native_gate_address();
  constexpr uint32_t kArch = offsetof(seccomp_data, arch), kNr = offsetof(seccomp_data, nr),
                     kIpLo = offsetof(seccomp_data, instruction_pointer), kIpHi = kIpLo + 4;
  std::vector<sock_filter> f;
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArch));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNr));
  // Per number: equal → jump to the gate check (JA reaches any distance).
  std::vector<size_t> jumps;
  for (int nr = 0; nr < kSyscallNumbers; nr++) {
    if (!numbers.test(size_t(nr))) continue;
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, uint32_t(nr), 0, 1));
    jumps.push_back(f.size());
    f.push_back(BPF_STMT(BPF_JMP | BPF_JA, 0));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  const size_t check = f.size();
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpHi));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, uint32_t(gate >> 32), 0, 2));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLo));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, uint32_t(gate), 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  for (size_t j : jumps) f[j].k = uint32_t(check - j - 1);

  sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  int64_t r = mach_emulation_native(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
  if (r < 0) return int(-r);
  r = mach_emulation_native(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                            reinterpret_cast<long>(&prog), 0, 0, 0);
  // TSYNC: a positive result is the tid of a thread that could not follow.
  if (r > 0) return EBUSY;
  return r < 0 ? int(-r) : 0;
}

}  // namespace machcompat
