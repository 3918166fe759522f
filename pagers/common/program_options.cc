// pagers/common/program_options.cc — see program_options.h.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "program_options.h"

#include <cstring>

#include "machd_version.h"

namespace pagerprog {

int standard_option(const char* program, void (*usage)(FILE*), int argc, char** argv, int i,
                    std::initializer_list<const char*> with_value) {
  const char* a = argv[i];
  if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
    printf("%s (machd) %s\n", program, MACHD_VERSION);
    return 0;
  }
  for (const char* o : with_value)
    if (strcmp(a, o) == 0 && i + 1 >= argc) {
      fprintf(stderr, "%s: %s needs a value (see %s --help)\n", program, a, program);
      return 2;
    }
  return -1;
}

}  // namespace pagerprog
