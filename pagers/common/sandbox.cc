// pagers/common/sandbox.cc — see sandbox.h.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "sandbox.h"

#include <cstdio>
#include <string>

#include "syscall_filter.h"

namespace pagerprog {

void restrict_system_calls(const char* program) {
  std::string why;
  if (!machd::install_syscall_filter(machd::FilterProfile::kPager, &why))
    fprintf(stderr, "%s: running without a system-call filter: %s\n", program, why.c_str());
}

}  // namespace pagerprog
