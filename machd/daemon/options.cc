// machd/daemon/options.cc — see options.h.
#include "options.h"

#include <getopt.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace machd {

namespace {
// A number of seconds in (0, 86400], fractions allowed; false after saying why.
bool parse_seconds(const char* option, const char* text, uint64_t* ns) {
  char* end = nullptr;
  const double secs = strtod(text, &end);
  if (end == text || *end != '\0' || !(secs > 0) || secs > 86400) {
    fprintf(stderr, "machd: %s wants a number of seconds in (0, 86400], not '%s'\n", option, text);
    return false;
  }
  *ns = uint64_t(secs * 1e9);
  return true;
}

// A count in [1, 1000000]; false after saying why.
bool parse_count(const char* option, const char* text, uint32_t* n) {
  char* end = nullptr;
  errno = 0;
  const long v = strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || v < 1 || v > 1000000) {
    fprintf(stderr, "machd: %s wants a whole number in [1, 1000000], not '%s'\n", option, text);
    return false;
  }
  *n = uint32_t(v);
  return true;
}

void usage(FILE* out) {
  fprintf(out,
          "usage: machd [--foreground] [--socket PATH] [--idle-exit SECONDS]\n"
          "             [--log-level trace|debug|info|warn|error] [--systemd]\n"
          "             [--pager-timeout SECONDS] [--hello-timeout SECONDS]\n"
          "             [--max-tasks-per-user N] [--max-hellos-per-user N]\n"
          "\n"
          "Mach IPC for Linux processes: owns every port and message queue; tasks\n"
          "(processes running with libmach-compat) connect over a Unix socket.\n"
          "\n"
          "  --foreground      stay in the foreground (log to stderr)\n"
          "  --socket PATH     listen here (default: $MACHD_SOCKET, else\n"
          "                    $XDG_RUNTIME_DIR/machd.sock, else /tmp/machd-$UID/machd.sock)\n"
          "  --idle-exit SECS  exit once no task has been connected for SECS seconds\n"
          "  --systemd         take the listening socket from systemd (socket activation)\n"
          "  --pager-timeout SECS  a page fault whose pager has not answered in SECS\n"
          "                    seconds fails with SIGBUS (default 30; may be fractional)\n"
          "  --hello-timeout SECS  close a connection that has not said hello in SECS\n"
          "                    seconds (default 10; may be fractional)\n"
          "  --max-tasks-per-user N  refuse a user's tasks beyond N connected ones\n"
          "                    (KERN_RESOURCE_SHORTAGE; default 16384)\n"
          "  --max-hellos-per-user N  close a user's connections beyond N that have not\n"
          "                    said hello yet (default 256)\n");
}
}  // namespace

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  static const option longopts[] = {
      {"foreground", no_argument, nullptr, 'f'}, {"socket", required_argument, nullptr, 's'},
      {"idle-exit", required_argument, nullptr, 'i'}, {"log-level", required_argument, nullptr, 'l'},
      {"systemd", no_argument, nullptr, 'S'},     {"help", no_argument, nullptr, 'h'},
      {"pager-timeout", required_argument, nullptr, 'P'}, {"hello-timeout", required_argument, nullptr, 'H'},
      {"max-tasks-per-user", required_argument, nullptr, 'T'},
      {"max-hellos-per-user", required_argument, nullptr, 'E'},
      {nullptr, 0, nullptr, 0}};
  Options o;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "fs:i:l:ShP:", longopts, nullptr)) != -1) {
    switch (c) {
      case 'f': o.foreground = true; break;
      case 's': o.socket_path = optarg; break;
      case 'i': o.idle_exit_seconds = atoi(optarg); break;
      case 'l': o.log_level = optarg; break;
      case 'S': o.systemd = true; break;
      case 'P':
      case 'H':
        if (!parse_seconds(c == 'P' ? "--pager-timeout" : "--hello-timeout", optarg,
                           c == 'P' ? &o.pager_timeout_ns : &o.admission.hello_timeout_ns)) {
          exit_code = 2;
          return std::nullopt;
        }
        break;
      case 'T':
      case 'E':
        if (!parse_count(c == 'T' ? "--max-tasks-per-user" : "--max-hellos-per-user", optarg,
                         c == 'T' ? &o.admission.tasks_per_uid : &o.admission.hellos_per_uid)) {
          exit_code = 2;
          return std::nullopt;
        }
        break;
      case 'h': usage(stdout); exit_code = 0; return std::nullopt;
      default: usage(stderr); exit_code = 2; return std::nullopt;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "machd: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    exit_code = 2;
    return std::nullopt;
  }
  return o;
}

}  // namespace machd
