// pagers/file-pager/main.cc — file-pager: serves a file as a Mach memory
// object, published under a bootstrap name (README.md).
//
//   file-pager [--name NAME] [--grow] [--sync-every SECS] FILE
//   file-pager --help | --version
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../common/publish.h"
#include "../common/program_options.h"
#include "../common/sandbox.h"
#include "../common/signal_inbox.h"
#include "file_pager.h"
#include "service_name.h"

namespace {

// How long a sync or the shut-down waits for the kernel.
constexpr int kKernelWaitMs = 10000;

void usage(FILE* out) {
  fprintf(out,
          "usage: file-pager [--name NAME] [--grow] [--sync-every SECS] FILE\n"
          "       file-pager --help | --version\n"
          "Serves FILE (a regular file it may read and write) as a Mach memory object\n"
          "under the bootstrap name NAME (default: file-pager:<absolute path>).\n"
          "\n"
          "  --name NAME       the bootstrap name to publish the object under\n"
          "  --grow            write-back may extend the file (else bytes past its end are dropped)\n"
          "  --sync-every SECS return modified pages to the file every SECS seconds\n"
          "  --help            this text\n"
          "  --version         print the version and exit\n"
          "\n"
          "SIGUSR1: return modified pages now; SIGTERM, SIGINT: return them, then exit.\n"
          "Exit status: 0; 1 if the file, the pager or a write-back failed; 2 for a usage error.\n");
}

struct Options {
  std::string name;
  std::string file;
  bool grow = false;
  double sync_every = 0;  // seconds; 0: only on SIGUSR1
};

// Fills *o and returns -1 (run); or returns the status to exit with at
// once: 0 after --help or --version, 2 after saying what is wrong.
int parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const int code = pagerprog::standard_option("file-pager", usage, argc, argv, i, {"--name", "--sync-every"});
    if (code >= 0) {
      return code;
    } else if (a == "--name") {
      o->name = argv[++i];
    } else if (a == "--grow") {
      o->grow = true;
    } else if (a == "--sync-every") {
      char* end = nullptr;
      o->sync_every = strtod(argv[++i], &end);
      if (end == argv[i] || *end != '\0' || !(o->sync_every > 0) || o->sync_every > 86400) {
        fprintf(stderr, "file-pager: --sync-every wants a number of seconds in (0, 86400], not '%s'\n", argv[i]);
        return 2;
      }
    } else if (a.size() > 1 && a[0] == '-') {
      fprintf(stderr, "file-pager: unknown option '%s' (see file-pager --help)\n", a.c_str());
      return 2;
    } else if (o->file.empty()) {
      o->file = a;
    } else {
      fprintf(stderr, "file-pager: one FILE only, not also '%s'\n", a.c_str());
      return 2;
    }
  }
  if (o->file.empty()) {
    usage(stderr);
    return 2;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (const int code = parse(argc, argv, &opt); code >= 0) return code;
  const int fd = open(opt.file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "file-pager: %s: %s\n", opt.file.c_str(), strerror(errno));
    return 1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    fprintf(stderr, "file-pager: %s: not a regular file\n", opt.file.c_str());
    return 1;
  }
  if (opt.name.empty()) opt.name = filepager::default_service_name(opt.file);
  if (!pagerprog::catch_signals({SIGTERM, SIGINT, SIGUSR1})) {
    perror("file-pager: signals");
    return 1;
  }

  filepager::FileStore store(fd, opt.grow);
  filepager::FilePager pager(store);
  if (!pagerprog::start_and_publish(pager, opt.name, "file-pager")) return 1;
  pagerprog::watch_machd("file-pager");
  pagerprog::restrict_system_calls("file-pager");  // serving: no exec, fork, ptrace, ... from here
  printf("file-pager: serving %s (%lld bytes) as %s\n", opt.file.c_str(), static_cast<long long>(st.st_size),
         opt.name.c_str());
  fflush(stdout);

  bool failed = false;
  bool machd_gone = false;
  kern_return_t kr;
  uint64_t reported = 0;  // pages written when the last sync was reported
  const int period_ms = opt.sync_every > 0 ? std::max(10, int(opt.sync_every * 1000)) : -1;  // 10 ms at least
  for (;;) {
    const int sig = pagerprog::next_signal(period_ms);
    if (sig == pagerprog::kMachdGone) {
      fprintf(stderr, "file-pager: machd is gone: no kernel left to serve (the dirty pages it held are lost)\n");
      machd_gone = failed = true;
      break;
    }
    if (sig == SIGTERM || sig == SIGINT || sig < 0) break;
    kr = pager.sync(kKernelWaitMs);
    if (kr != KERN_SUCCESS) {
      fprintf(stderr, "file-pager: sync: %s\n", mach_error_string(kr));
      failed = true;
    }
    const uint64_t written = store.stats().pages_written;
    if (sig == SIGUSR1 || written != reported) {
      printf("file-pager: synced, %llu pages written so far\n", static_cast<unsigned long long>(written));
      fflush(stdout);
      reported = written;
    }
  }

  kr = machd_gone ? KERN_SUCCESS : pager.shut_down(kKernelWaitMs);  // (no kernel to ask for the pages)
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "file-pager: final write-back: %s\n", mach_error_string(kr));
    failed = true;
  }
  pager.close();
  const filepager::FileStore::Stats s = store.stats();
  printf("file-pager: done: %llu pages read, %llu past the end, %llu pages written (%llu bytes; %llu bytes past "
         "the end dropped), %llu errors\n",
         static_cast<unsigned long long>(s.pages_read), static_cast<unsigned long long>(s.pages_zero),
         static_cast<unsigned long long>(s.pages_written), static_cast<unsigned long long>(s.bytes_written),
         static_cast<unsigned long long>(s.bytes_dropped), static_cast<unsigned long long>(s.errors));
  if (fsync(fd) != 0) failed = true;
  close(fd);
  return failed || s.errors != 0 ? 1 : 0;
}
