// machd/daemon/options.h — machd's command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "admission.h"

namespace machd {

struct Options {
  bool foreground = false;
  std::string socket_path;      // empty: the default (see machd_socket_path.h)
  int idle_exit_seconds = 0;    // > 0: exit after this long with no tasks connected
  std::string log_level = "info";
  bool systemd = false;         // use the socket passed by systemd (LISTEN_FDS)
  uint64_t pager_timeout_ns = 30'000'000'000ull;  // a pager's time to answer a fault
  AdmissionLimits admission;    // per-user bounds on connections and tasks
};

// Parses argv. Returns nullopt after printing usage (help or error); `exit_code`
// tells what to exit with.
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

}  // namespace machd
