// machd/daemon/options.cc — see options.h.
#include "options.h"

#include <getopt.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "machd_version.h"

namespace machd {

namespace {
void usage(FILE* out) {
  fprintf(out,
          "usage: machd [--foreground] [--socket PATH] [--idle-exit SECONDS]\n"
          "             [--log-level trace|debug|info|warn|error|critical|off]\n"
          "             [--log-file PATH] [--systemd] [--pager-timeout SECONDS]\n"
          "             [--allow-uid UID]... [--shared-bootstrap] [--hello-timeout SECONDS]\n"
          "             [--max-tasks-per-user N] [--max-hellos-per-user N]\n"
          "             [--max-queued-mib-per-user N] [--max-queued-messages-per-user N]\n"
          "             [--max-ports-per-user N] [--max-eager-copy-per-user SIZE]\n"
          "             [--memory-limit SIZE] [--lend-userfaultfd] [--no-syscall-filter]\n"
          "             [--help] [--version]\n"
          "\n"
          "Mach IPC for Linux processes: owns every port and message queue; tasks\n"
          "(processes running with libmach-compat) connect over a Unix socket.\n"
          "\n"
          "  --foreground      stay in the foreground (log to stderr)\n"
          "  --socket PATH     listen here (default: $MACHD_SOCKET, else\n"
          "                    $XDG_RUNTIME_DIR/machd.sock, else /tmp/machd-$UID/machd.sock\n"
          "                    with $UID as the initial user namespace sees it)\n"
          "  --idle-exit SECS  exit once no task has been connected for SECS seconds\n"
          "                    (whole seconds; 0, the default: never)\n"
          "  --log-level LEVEL log messages of LEVEL and above (default info)\n"
          "  --log-file PATH   append the log to PATH instead of writing to stderr\n"
          "  --systemd         take the listening socket from systemd (socket activation),\n"
          "                    log to the journal, report status and watchdog pings\n"
          "  --pager-timeout SECS  a page fault whose pager has not answered in SECS\n"
          "                    seconds fails with SIGBUS (default 30; may be fractional)\n"
          "  --allow-uid UID   also serve tasks of user UID (repeatable; by default only\n"
          "                    machd's own uid, not even root); each uid's bootstrap\n"
          "                    names stay its own\n"
          "  --shared-bootstrap  one bootstrap namespace for all the uids served (grants\n"
          "                    every allowed uid the names of the others)\n"
          "  --hello-timeout SECS  close a connection that has not said hello in SECS\n"
          "                    seconds (default 10; may be fractional)\n"
          "  --max-tasks-per-user N  refuse a user's tasks beyond N connected ones\n"
          "                    (KERN_RESOURCE_SHORTAGE; default 16384)\n"
          "  --max-hellos-per-user N  beyond N connections of a user that have not said\n"
          "                    hello yet, close the oldest (default 256)\n"
          "  --max-queued-mib-per-user N  a user's messages in flight may hold N MiB of\n"
          "                    machd's memory; sends beyond fail with MACH_SEND_NO_BUFFER\n"
          "                    (default 1024)\n"
          "  --memory-limit SIZE  keep the tasks' vm_allocate memory within SIZE bytes of\n"
          "                    RAM (suffix K, M or G; at least 1M): beyond it machd pages\n"
          "                    it out to the default memory manager (default-pager)\n"
          "                    (default: no limit, vm_allocate is plain mmap)\n"
          "  --max-queued-messages-per-user N  a user's messages in flight may number N\n"
          "                    (send-once messages too, which pass queue limits); sends\n"
          "                    beyond fail with MACH_SEND_NO_BUFFER (default 1048576)\n"
          "  --max-ports-per-user N  a user's tasks may have created N ports still alive;\n"
          "                    mach_port_allocate beyond fails with KERN_RESOURCE_SHORTAGE\n"
          "                    (default 4194304)\n"
          "  --max-eager-copy-per-user SIZE  a user's tasks may have SIZE bytes of eager\n"
          "                    copies in flight at once (suffix K, M or G; at least 1M):\n"
          "                    snapshots of pagers' objects for vm_map copy=TRUE and fork,\n"
          "                    each also at most 4G; a vm_map copy beyond fails with\n"
          "                    KERN_RESOURCE_SHORTAGE, a fork leaves that range out of the\n"
          "                    child (default 8G)\n"
          "  --lend-userfaultfd  hand tasks that cannot make a full userfaultfd\n"
          "                    themselves (vm.unprivileged_userfaultfd=0, no access to\n"
          "                    /dev/userfaultfd) machd's /dev/userfaultfd, so that system\n"
          "                    calls touching their memory objects (a read(2) into a\n"
          "                    mapping) reach the pager instead of failing with EFAULT,\n"
          "                    and --memory-limit covers their vm_allocate memory. This\n"
          "                    grants the users machd serves what that sysctl withholds\n"
          "                    (default: off)\n"
          "  --no-syscall-filter  serve without machd's seccomp filter (by default, once\n"
          "                    listening, machd may make only the system calls it needs;\n"
          "                    another fails with ENOSYS and is logged)\n"
          "  --help            this text\n"
          "  --version         print the version and exit\n");
}

std::optional<Options> bad_value(const char* option, const char* want, const char* value, int& exit_code) {
  fprintf(stderr, "machd: %s wants %s, not '%s' (see machd --help)\n", option, want, value);
  exit_code = 2;
  return std::nullopt;
}

// A whole number in [0, max], nothing else (no sign, no spaces, no suffix).
bool parse_count(const char* s, unsigned long max, unsigned long& out) {
  if (s[0] < '0' || s[0] > '9') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long v = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return false;
  out = v;
  return true;
}

// A size in bytes: a whole number with an optional K, M or G suffix (powers
// of 1024), at most 1 TiB.
bool parse_size(const char* s, uint64_t& out) {
  unsigned long n = 0;
  std::string digits(s);
  uint64_t unit = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'K': case 'k': unit = 1ull << 10; break;
      case 'M': case 'm': unit = 1ull << 20; break;
      case 'G': case 'g': unit = 1ull << 30; break;
      default: break;
    }
    if (unit != 1) digits.pop_back();
  }
  if (digits.empty() || !parse_count(digits.c_str(), (1ul << 40) / unit, n)) return false;
  out = uint64_t(n) * unit;
  return true;
}

bool parse_level(const char* s, spdlog::level::level_enum& out) {
  static const struct {
    const char* name;
    spdlog::level::level_enum level;
  } levels[] = {{"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
                {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
                {"warning", spdlog::level::warn}, {"error", spdlog::level::err},
                {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
  for (const auto& l : levels)
    if (strcmp(s, l.name) == 0) {
      out = l.level;
      return true;
    }
  return false;
}
}  // namespace

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  static const option longopts[] = {
      {"foreground", no_argument, nullptr, 'f'},      {"socket", required_argument, nullptr, 's'},
      {"idle-exit", required_argument, nullptr, 'i'}, {"log-level", required_argument, nullptr, 'l'},
      {"systemd", no_argument, nullptr, 'S'},         {"help", no_argument, nullptr, 'h'},
      {"pager-timeout", required_argument, nullptr, 'P'}, {"log-file", required_argument, nullptr, 'L'},
      {"allow-uid", required_argument, nullptr, 'u'}, {"version", no_argument, nullptr, 'V'},
      {"shared-bootstrap", no_argument, nullptr, 'B'}, {"hello-timeout", required_argument, nullptr, 'H'},
      {"max-tasks-per-user", required_argument, nullptr, 'T'},
      {"max-hellos-per-user", required_argument, nullptr, 'E'},
      {"max-queued-mib-per-user", required_argument, nullptr, 'Q'},
      {"memory-limit", required_argument, nullptr, 'm'},
      {"no-syscall-filter", no_argument, nullptr, 'F'},
      {"max-queued-messages-per-user", required_argument, nullptr, 'M'},
      {"max-ports-per-user", required_argument, nullptr, 'N'},
      {"max-eager-copy-per-user", required_argument, nullptr, 'C'},
      {"lend-userfaultfd", no_argument, nullptr, 'D'},
      {nullptr, 0, nullptr, 0}};
  Options o;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "fs:i:l:ShP:L:u:VB", longopts, nullptr)) != -1) {
    switch (c) {
      case 'f': o.foreground = true; break;
      case 's': o.socket_path = optarg; break;
      case 'i': {
        unsigned long secs = 0;
        if (!parse_count(optarg, INT32_MAX, secs))
          return bad_value("--idle-exit", "a whole number of seconds from 0 to 2147483647", optarg, exit_code);
        o.idle_exit_seconds = int(secs);
        break;
      }
      case 'l':
        if (!parse_level(optarg, o.log_level))
          return bad_value("--log-level", "one of trace, debug, info, warn, error, critical, off", optarg,
                           exit_code);
        break;
      case 'L':
        if (optarg[0] == '\0') return bad_value("--log-file", "a file name", optarg, exit_code);
        o.log_file = optarg;
        break;
      case 'S': o.systemd = true; break;
      case 'B': o.shared_bootstrap = true; break;
      case 'F': o.syscall_filter = false; break;
      case 'D': o.lend_userfaultfd = true; break;
      case 'P':
      case 'H': {
        char* end = nullptr;
        const double secs = strtod(optarg, &end);
        const char* name = c == 'P' ? "--pager-timeout" : "--hello-timeout";
        if (end == optarg || *end != '\0' || !(secs > 0) || secs > 86400)
          return bad_value(name, "a number of seconds in (0, 86400]", optarg, exit_code);
        (c == 'P' ? o.pager_timeout_ns : o.admission.hello_timeout_ns) = uint64_t(secs * 1e9);
        break;
      }
      case 'T':
      case 'E':
      case 'Q': {
        unsigned long n = 0;
        const char* name = c == 'T' ? "--max-tasks-per-user" : c == 'E' ? "--max-hellos-per-user" : "--max-queued-mib-per-user";
        if (!parse_count(optarg, 1000000, n) || n == 0)
          return bad_value(name, "a whole number from 1 to 1000000", optarg, exit_code);
        if (c == 'Q') o.queued_mib_per_user = n;
        else (c == 'T' ? o.admission.tasks_per_uid : o.admission.hellos_per_uid) = uint32_t(n);
        break;
      }
      case 'm':
      case 'C': {
        const char* name = c == 'm' ? "--memory-limit" : "--max-eager-copy-per-user";
        uint64_t& size = c == 'm' ? o.memory_limit : o.eager_copy_bytes_per_user;
        if (!parse_size(optarg, size) || size < (1ull << 20))
          return bad_value(name, "a size from 1M to 1024G (bytes, or with K, M or G)", optarg, exit_code);
        break;
      }
      case 'M':
      case 'N': {
        unsigned long n = 0;
        const char* name = c == 'M' ? "--max-queued-messages-per-user" : "--max-ports-per-user";
        if (!parse_count(optarg, 1ul << 30, n) || n == 0)
          return bad_value(name, "a whole number from 1 to 1073741824", optarg, exit_code);
        (c == 'M' ? o.queued_messages_per_user : o.ports_per_user) = n;
        break;
      }
      case 'u': {
        unsigned long uid = 0;
        if (!parse_count(optarg, 0xfffffffeul, uid))
          return bad_value("--allow-uid", "a numeric uid", optarg, exit_code);
        o.allowed_uids.push_back(uid_t(uid));
        break;
      }
      case 'h': usage(stdout); exit_code = 0; return std::nullopt;
      case 'V': printf("machd %s\n", MACHD_VERSION); exit_code = 0; return std::nullopt;
      default:  // getopt_long printed what was wrong
        fprintf(stderr, "(see machd --help)\n");
        exit_code = 2;
        return std::nullopt;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "machd: unexpected argument '%s' (see machd --help)\n", argv[optind]);
    exit_code = 2;
    return std::nullopt;
  }
  return o;
}

}  // namespace machd
