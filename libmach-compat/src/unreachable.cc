// libmach-compat/src/unreachable.cc — see unreachable.h.
#include "unreachable.h"

#include <mach/kern_return.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "native_syscall.h"

namespace machcompat {

namespace {

std::atomic<bool> g_reported{false};

bool quiet() {
  const char* q = getenv("MACH_COMPAT_QUIET");
  return q != nullptr && q[0] != '\0' && strcmp(q, "0") != 0;
}

// What went wrong, in one clause.
void describe(const UnreachableReport& r, char* out, size_t len) {
  switch (r.why) {
    case Unreachable::kNoPath:
      snprintf(out, len, "the socket path is too long for a Unix socket");
      break;
    case Unreachable::kDirNotOurs:
      snprintf(out, len, "%s", r.detail ? r.detail : "its directory is not private to this user");
      break;
    case Unreachable::kConnect:
      snprintf(out, len, "no machd answers there (%s)", strerror(r.error));
      break;
    case Unreachable::kRefused:
      if (r.error == KERN_NO_ACCESS && r.machd_uid != UINT32_MAX)
        snprintf(out, len,
                 "the machd there runs as uid %u and refuses this process's uid %u (a machd serves only its own "
                 "user unless started with --allow-uid %u)",
                 r.machd_uid, unsigned(getuid()), unsigned(getuid()));
      else if (r.error == KERN_NO_ACCESS)
        snprintf(out, len, "the machd there refuses this process's uid %u", unsigned(getuid()));
      else if (r.error == KERN_INVALID_ARGUMENT)
        snprintf(out, len, "the machd there speaks another version of the protocol (this library: %u)",
                 unsigned(MACHD_ABI_VERSION));
      else
        snprintf(out, len, "the machd there refused this process (kern_return_t %#x)", unsigned(r.error));
      break;
    case Unreachable::kNoWelcome:
      snprintf(out, len, "something accepted the connection but did not answer as machd%s%s",
               r.error ? ": " : "", r.error ? strerror(r.error) : "");
      break;
  }
}

}  // namespace

void report_unreachable(const UnreachableReport& r) {
  if (quiet() || g_reported.exchange(true)) return;
  char what[512];
  describe(r, what, sizeof what);
  char text[2048];
  int n = snprintf(text, sizeof text,
                   "libmach-compat: this process is not a Mach task: tried machd's socket %s (from %s): %s.\n"
                   "  Mach calls fail until a machd answers there. Run the program as `mach-run PROG` (it starts a\n"
                   "  machd if needed), or start the user service (`systemctl --user start machd.socket`), or set\n"
                   "  MACHD_SOCKET to a running machd's socket. MACH_COMPAT_QUIET=1 hides this message.\n",
                   r.path, machd_socket_source_name(r.source), what);
  if (n < 0) return;
  size_t len = size_t(n) < sizeof text ? size_t(n) : sizeof text - 1;
  // Through the native gate: an emulation must not see (or eat) it.
  mach_emulation_native(SYS_write, STDERR_FILENO, long(text), long(len), 0, 0, 0);
}

}  // namespace machcompat
