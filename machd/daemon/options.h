// machd/daemon/options.h — machd's command line.
#pragma once

#include <spdlog/common.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "admission.h"
#include "vm/eager_copy_bound.h"

namespace machd {

struct Options {
  bool foreground = false;
  std::string socket_path;      // empty: the default (see machd_socket_path.h)
  int idle_exit_seconds = 0;    // > 0: exit after this long with no tasks connected
  spdlog::level::level_enum log_level = spdlog::level::info;
  std::string log_file;         // non-empty: log there (appending) instead of stderr
  bool systemd = false;         // use the socket passed by systemd (LISTEN_FDS)
  uint64_t pager_timeout_ns = 30'000'000'000ull;  // a pager's time to answer a fault
  std::vector<uid_t> allowed_uids;  // besides machd's own uid (--allow-uid)
  bool shared_bootstrap = false;    // one bootstrap namespace for every uid
  AdmissionLimits admission;    // per-user bounds on connections and tasks
  uint64_t queued_mib_per_user = 1024;  // heap held by one user's messages in flight
  uint64_t memory_limit = 0;    // bytes of vm_allocate memory kept in RAM (0: no budget)
  bool syscall_filter = true;   // serve under machd's seccomp filter (syscall_filter.h)
  // Lend /dev/userfaultfd to tasks that cannot make a full userfaultfd
  // themselves (machd_abi.h, MACHD_SOCK_UFFD_DEVICE).
  bool lend_userfaultfd = false;
  uint64_t queued_messages_per_user = uint64_t(1) << 20;  // one user's messages in flight
  uint64_t ports_per_user = uint64_t(1) << 22;             // live ports one user's tasks created
  // Bytes of eager copies (snapshots) one user's tasks may have in flight.
  uint64_t eager_copy_bytes_per_user = vm::kDefaultEagerCopyBytesPerUser;
};

// Parses argv. Returns nullopt when machd must exit at once: after --help or
// --version (printed on stdout, exit_code 0), or after a usage error (a
// message naming the bad option or value on stderr, exit_code 2).
// Values are checked here: --log-level must name a level, --idle-exit must
// be a whole number of seconds in [0, INT32_MAX], --pager-timeout a number of seconds in
// (0, 86400], --allow-uid a uid; --hello-timeout as --pager-timeout,
// --max-tasks-per-user and --max-hellos-per-user a count in [1, 1000000],
// --memory-limit a size in [1 MiB, 1 TiB] (K, M, G suffixes),
// --max-queued-messages-per-user and --max-ports-per-user in [1, 1<<30],
// --max-eager-copy-per-user a size in [1 MiB, 1 TiB] (K, M, G suffixes).
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

}  // namespace machd
