// pagers/compress-pager/main.cc — compress-pager: an in-memory memory
// object whose pages are kept compressed (zstd) while the kernel does not
// hold them, published under a bootstrap name (README.md).
//
//   compress-pager [--name NAME] [--level N]
//   compress-pager --help | --version
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include <signal.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../common/publish.h"
#include "../common/program_options.h"
#include "../common/sandbox.h"
#include "../common/signal_inbox.h"
#include "compress_pager.h"

namespace {

constexpr int kKernelWaitMs = 10000;

void usage(FILE* out) {
  fprintf(out,
          "usage: compress-pager [--name NAME] [--level N]\n"
          "       compress-pager --help | --version\n"
          "Serves an in-memory Mach memory object under the bootstrap name NAME\n"
          "(default: compress-pager.<pid>); pages the kernel returns are kept\n"
          "compressed with zstd at level N.\n"
          "\n"
          "  --name NAME  the bootstrap name to publish the object under\n"
          "  --level N    zstd's compression level, from %d to %d (default 1)\n"
          "  --help       this text\n"
          "  --version    print the version and exit\n"
          "\n"
          "SIGUSR1: print the statistics; SIGUSR2: evict every page from the kernel's\n"
          "cache into the compressed store; SIGTERM, SIGINT: print them and exit.\n"
          "Exit status: 0; 1 if the pager could not start or an eviction failed; 2 for\n"
          "a usage error.\n",
          ZSTD_minCLevel(), ZSTD_maxCLevel());
}

void print_stats(const compresspager::CompressedStore& store, const char* when) {
  const compresspager::CompressedStore::Stats s = store.stats();
  const double pct = s.bytes_before ? 100.0 * double(s.bytes_after) / double(s.bytes_before) : 0.0;
  printf("compress-pager: %s: %llu pages stored, %llu bytes before compression, %llu after (%.1f%%); "
         "%llu pages written back (%llu of zeroes), %llu read, %llu zero-filled\n",
         when, static_cast<unsigned long long>(s.pages_stored), static_cast<unsigned long long>(s.bytes_before),
         static_cast<unsigned long long>(s.bytes_after), pct, static_cast<unsigned long long>(s.pages_written),
         static_cast<unsigned long long>(s.zero_pages), static_cast<unsigned long long>(s.pages_read),
         static_cast<unsigned long long>(s.pages_zero_filled));
  fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string name;
  int level = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const int code = pagerprog::standard_option("compress-pager", usage, argc, argv, i, {"--name", "--level"});
    if (code >= 0) {
      return code;
    } else if (a == "--name") {
      name = argv[++i];
    } else if (a == "--level") {
      char* end = nullptr;
      const long l = strtol(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0' || l < ZSTD_minCLevel() || l > ZSTD_maxCLevel()) {
        fprintf(stderr, "compress-pager: --level wants a whole number from %d to %d, not '%s'\n", ZSTD_minCLevel(),
                ZSTD_maxCLevel(), argv[i]);
        return 2;
      }
      level = int(l);
    } else {
      fprintf(stderr, "compress-pager: unexpected argument '%s' (see compress-pager --help)\n", a.c_str());
      return 2;
    }
  }
  if (name.empty()) name = "compress-pager." + std::to_string(getpid());
  if (!pagerprog::catch_signals({SIGTERM, SIGINT, SIGUSR1, SIGUSR2})) {
    perror("compress-pager: signals");
    return 1;
  }

  compresspager::CompressedStore store(level);
  compresspager::CompressPager pager(store);
  if (!pagerprog::start_and_publish(pager, name, "compress-pager")) return 1;
  pagerprog::watch_machd("compress-pager");
  pagerprog::restrict_system_calls("compress-pager");  // serving: no exec, fork, ptrace, ... from here
  printf("compress-pager: serving as %s (zstd level %d)\n", name.c_str(), level);
  fflush(stdout);

  bool failed = false;
  for (;;) {
    const int sig = pagerprog::next_signal(-1);
    if (sig == pagerprog::kMachdGone) {
      fprintf(stderr, "compress-pager: machd is gone: no kernel left to serve\n");
      failed = true;
      break;
    }
    if (sig == SIGTERM || sig == SIGINT || sig < 0) break;
    if (sig == SIGUSR2) {
      const kern_return_t kr = pager.evict(kKernelWaitMs);
      if (kr != KERN_SUCCESS) {
        fprintf(stderr, "compress-pager: evict: %s\n", mach_error_string(kr));
        failed = true;
      }
      print_stats(store, "evicted");
    } else {
      print_stats(store, "stats");
    }
  }
  pager.close();
  print_stats(store, "exit");
  return failed ? 1 : 0;
}
