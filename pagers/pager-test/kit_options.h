// pagers/pager-test/kit_options.h — mach-pager-test's command line.
//
//   mach-pager-test [options] -- PAGER [ARGS...]
//
// parse_options(): fills *out and returns 0; or prints why on stderr and
// returns 2 (a usage error), or 1 after printing the help, the version or
// the list of workloads (--help, --version, --list: the caller exits 0).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "content_model.h"

namespace pagerkit {

struct Options {
  std::string socket;                 // --socket: a machd already listening; empty: start one
  std::string machd;                  // --machd: the machd to start
  double timeout_s = 5;               // --timeout: a pager's time to answer
  double start_timeout_s = 10;        // --start-timeout: the pager's time to publish its port
  ContentMode content = ContentMode::kPattern;  // --content pattern|any
  uint64_t seed = 0;                  // --seed (0: chosen from the clock)
  uint64_t window_pages = 512;        // --window-pages: the pages each workload maps
  unsigned tasks = 3;                 // --tasks: the tasks of the shared workload
  std::vector<std::string> workloads; // --workloads a,b,c (empty: all)
  bool verbose = false;               // -v: each workload as it starts, on stderr
  bool trace = false;                 // --trace: every message carried, on stderr
  std::vector<std::string> pager;     // PAGER [ARGS...]
};

// 0: run; 1: done (help, version or list printed); 2: usage error.
int parse_options(int argc, char** argv, Options* out);

}  // namespace pagerkit
