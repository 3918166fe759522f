// pagers/common/program_options.h — the options every pager program answers
// the same way.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdio>
#include <initializer_list>

namespace pagerprog {

// For argv[i]: --help or -h prints usage (exit 0), --version or -V prints
// "<program> (machd) <version>" (exit 0), and an option of `with_value`
// given last, without its value, says so on stderr (exit 2). Returns that
// exit code, or -1 when argv[i] is none of these (the caller parses it;
// an option of `with_value` then has argv[i + 1]).
int standard_option(const char* program, void (*usage)(FILE*), int argc, char** argv, int i,
                    std::initializer_list<const char*> with_value);

}  // namespace pagerprog
