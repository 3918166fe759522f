/* machd/abi/machd_socket_path.h — where clients and machd meet by default.
 *
 * Order: $MACHD_SOCKET; $XDG_RUNTIME_DIR/machd.sock; /tmp/machd-<uid>/machd.sock.
 * Header-only so that machd, libmach-compat and mach-run agree by construction.
 */
#ifndef MACHD_SOCKET_PATH_H
#define MACHD_SOCKET_PATH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "machd_abi.h"

/* Writes the socket path into buf (size len). Returns 0, or -1 if it does not
 * fit. Does not create anything. */
static inline int machd_default_socket_path(char* buf, size_t len) {
  const char* env = getenv("MACHD_SOCKET");
  int n;
  if (env != NULL && env[0] != '\0') {
    n = snprintf(buf, len, "%s", env);
  } else {
    const char* xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg != NULL && xdg[0] == '/') {
      n = snprintf(buf, len, "%s/%s", xdg, MACHD_SOCKET_BASENAME);
    } else {
      n = snprintf(buf, len, "/tmp/machd-%u/%s", (unsigned)getuid(), MACHD_SOCKET_BASENAME);
    }
  }
  return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

#endif /* MACHD_SOCKET_PATH_H */
