// machd/daemon/options.cc — see options.h.
#include "options.h"

#include <getopt.h>

#include <cstdio>
#include <cstdlib>

namespace machd {

namespace {
void usage(FILE* out) {
  fprintf(out,
          "usage: machd [--foreground] [--socket PATH] [--idle-exit SECONDS]\n"
          "             [--log-level trace|debug|info|warn|error] [--systemd]\n"
          "             [--pager-timeout SECONDS]\n"
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
          "                    seconds fails with SIGBUS (default 30; may be fractional)\n");
}
}  // namespace

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  static const option longopts[] = {
      {"foreground", no_argument, nullptr, 'f'}, {"socket", required_argument, nullptr, 's'},
      {"idle-exit", required_argument, nullptr, 'i'}, {"log-level", required_argument, nullptr, 'l'},
      {"systemd", no_argument, nullptr, 'S'},     {"help", no_argument, nullptr, 'h'},
      {"pager-timeout", required_argument, nullptr, 'P'},
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
      case 'P': {
        char* end = nullptr;
        const double secs = strtod(optarg, &end);
        if (end == optarg || *end != '\0' || !(secs > 0) || secs > 86400) {
          fprintf(stderr, "machd: --pager-timeout wants a number of seconds in (0, 86400], not '%s'\n", optarg);
          exit_code = 2;
          return std::nullopt;
        }
        o.pager_timeout_ns = uint64_t(secs * 1e9);
        break;
      }
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
