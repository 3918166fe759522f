// pagers/dsm-pager/main.cc — dsm-pager: one in-memory memory object served
// to any number of kernels (one per host once ports cross hosts), their
// caches kept coherent page by page (README.md).
//
//   dsm-pager [--name NAME] [--size SIZE] [--revoke-timeout MS]
//   dsm-pager --help | --version
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include <servers/bootstrap.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "../common/program_options.h"
#include "../common/publish.h"
#include "../common/sandbox.h"
#include "../common/signal_inbox.h"
#include "kernel_server.h"

namespace {

constexpr uint64_t kDefaultSize = uint64_t(1) << 20;
// The machine keeps about 80 bytes per page: 20 MiB for the largest object.
constexpr uint64_t kMaxSize = uint64_t(1) << 30;
constexpr long kDefaultRevokeMs = 5000;
constexpr long kMaxRevokeMs = 600000;

void usage(FILE* out) {
  fprintf(out,
          "usage: dsm-pager [--name NAME] [--size SIZE] [--revoke-timeout MS]\n"
          "       dsm-pager --help | --version\n"
          "Serves an in-memory Mach memory object, zeroes at first, under the bootstrap\n"
          "name NAME (default: dsm-pager.<pid>) to any number of kernels, keeping their\n"
          "caches coherent: one writer or many readers per page.\n"
          "\n"
          "  --name NAME          the bootstrap name to publish the object under\n"
          "  --size SIZE          the object's size in bytes, with an optional K, M or G\n"
          "                       suffix (default 1M, at most 1G)\n"
          "  --revoke-timeout MS  how long a kernel may take to give a page back before\n"
          "                       it is cut off (memory_object_destroy); default %ld, at\n"
          "                       most %ld; keep it below machd's --pager-timeout\n"
          "  --help               this text\n"
          "  --version            print the version and exit\n"
          "\n"
          "SIGUSR1: print the statistics; SIGTERM, SIGINT: print them and exit.\n"
          "Exit status: 0; 1 if the pager could not start or its loop failed; 2 for a\n"
          "usage error.\n",
          kDefaultRevokeMs, kMaxRevokeMs);
}

// "1048576", "64K", "1M", "2G": the bytes; 0 if malformed or out of range.
uint64_t parse_size(const char* s) {
  char* end = nullptr;
  const unsigned long long v = strtoull(s, &end, 10);
  if (end == s || s[0] == '-') return 0;
  unsigned shift = 0;
  if (*end == 'K' || *end == 'k') shift = 10, ++end;
  else if (*end == 'M' || *end == 'm') shift = 20, ++end;
  else if (*end == 'G' || *end == 'g') shift = 30, ++end;
  if (*end != '\0' || v == 0 || v > (kMaxSize >> shift)) return 0;
  return uint64_t(v) << shift;
}

void print_stats(const dsm::KernelServer& server, const char* when) {
  const dsm::KernelServer::Stats s = server.stats();
  printf("dsm-pager: %s: %llu kernels (%llu inits), %llu pages supplied, %llu unlocked, %llu revoked, "
         "%llu returned, "
         "%llu stale returns dropped, %llu kernels cut off\n",
         when, static_cast<unsigned long long>(s.kernels), static_cast<unsigned long long>(s.inits),
         static_cast<unsigned long long>(s.pages_supplied), static_cast<unsigned long long>(s.write_grants),
         static_cast<unsigned long long>(s.revocations),
         static_cast<unsigned long long>(s.pages_returned), static_cast<unsigned long long>(s.stale_returns),
         static_cast<unsigned long long>(s.kernels_removed));
  fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string name;
  uint64_t size = kDefaultSize;
  long revoke_ms = kDefaultRevokeMs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const int code =
        pagerprog::standard_option("dsm-pager", usage, argc, argv, i, {"--name", "--size", "--revoke-timeout"});
    if (code >= 0) {
      return code;
    } else if (a == "--name") {
      name = argv[++i];
    } else if (a == "--size") {
      size = parse_size(argv[++i]);
      if (size == 0) {
        fprintf(stderr, "dsm-pager: --size wants a size from 1 byte to 1G (e.g. 1M), not '%s'\n", argv[i]);
        return 2;
      }
    } else if (a == "--revoke-timeout") {
      char* end = nullptr;
      revoke_ms = strtol(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0' || revoke_ms < 1 || revoke_ms > kMaxRevokeMs) {
        fprintf(stderr, "dsm-pager: --revoke-timeout wants milliseconds from 1 to %ld, not '%s'\n", kMaxRevokeMs,
                argv[i]);
        return 2;
      }
    } else {
      fprintf(stderr, "dsm-pager: unexpected argument '%s' (see dsm-pager --help)\n", a.c_str());
      return 2;
    }
  }
  if (name.empty()) name = "dsm-pager." + std::to_string(getpid());
  if (!pagerprog::catch_signals({SIGTERM, SIGINT, SIGUSR1})) {
    perror("dsm-pager: signals");
    return 1;
  }

  dsm::KernelServer server(size, std::chrono::milliseconds(revoke_ms));
  kern_return_t kr = server.open();
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "dsm-pager: cannot make the object: %s\n", mach_error_string(kr));
    return 1;
  }
  kern_return_t served = KERN_SUCCESS;
  std::thread loop([&] {
    served = server.serve();
    if (served != KERN_SUCCESS) raise(SIGTERM);  // the main loop below ends too
  });
  kr = pagerprog::publish_port(server.object_port(), name);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "dsm-pager: cannot publish '%s': %s\n", name.c_str(), bootstrap_strerror(kr));
    server.stop();
    loop.join();
    return 1;
  }
  pagerprog::restrict_system_calls("dsm-pager");  // serving: no exec, fork, ptrace, ... from here
  printf("dsm-pager: serving as %s (%llu bytes, revocations awaited %ld ms)\n", name.c_str(),
         static_cast<unsigned long long>(server.size()), revoke_ms);
  fflush(stdout);

  for (;;) {
    const int sig = pagerprog::next_signal(-1);
    if (sig == SIGTERM || sig == SIGINT || sig < 0) break;
    print_stats(server, "stats");
  }
  server.stop();
  loop.join();
  print_stats(server, "exit");
  if (served != KERN_SUCCESS) {
    fprintf(stderr, "dsm-pager: the server stopped: %s\n", mach_error_string(served));
    return 1;
  }
  return 0;
}
