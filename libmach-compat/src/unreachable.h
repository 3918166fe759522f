// libmach-compat/src/unreachable.h — telling the user, once, that this
// process could not become a Mach task.
//
// When the library cannot connect to machd (nothing listens, the socket
// directory is not ours, machd refuses this uid or speaks another ABI) every
// Mach call fails with its Mach error, as before; the first failure also
// prints, on stderr, what was tried (the socket path and where it came from)
// and what to do about it: `mach-run PROG`, `systemctl --user start
// machd.socket`, or MACHD_SOCKET. Printed at most once per process (a forked
// child that also fails says nothing more); never when MACH_COMPAT_QUIET is
// set to something other than "" or "0".
#pragma once

#include <cstdint>

#include "machd_socket_path.h"

namespace machcompat {

// Why the connection failed.
enum class Unreachable {
  kNoPath,        // the path does not fit a socket address
  kDirNotOurs,    // the fallback directory failed machd_private_dir_check (`detail` says why)
  kConnect,       // connect() failed (`error` is its errno)
  kRefused,       // machd answered MACHD_SOCK_REFUSED (`error` is its kern_return_t)
  kNoWelcome,     // machd accepted but the handshake failed (`error` is an errno, or 0)
};

struct UnreachableReport {
  Unreachable why = Unreachable::kConnect;
  const char* path = "";
  machd_socket_source source = MACHD_SOCKET_FALLBACK;
  int error = 0;
  const char* detail = nullptr;
  uint32_t machd_uid = UINT32_MAX;  // kRefused: machd's uid (SO_PEERCRED), if known
};

// Prints the report (see above) unless already printed or quiet.
void report_unreachable(const UnreachableReport& r);

}  // namespace machcompat
