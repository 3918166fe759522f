/* machd/abi/machd_socket_path.h — where clients and machd meet by default.
 *
 * Order: $MACHD_SOCKET; $XDG_RUNTIME_DIR/machd.sock; else the fallback
 * /tmp/machd-<uid>/machd.sock, where <uid> is the user as the parent user
 * namespace sees it (/proc/self/uid_map), not getuid(): inside `unshare -Ur`
 * every user is uid 0, and a shared /tmp already holds real root's
 * /tmp/machd-0. The fallback directory is used only if it is a directory
 * (not a symbolic link) owned by getuid() with no access for group or others
 * (machd_private_dir_check); another user's directory is refused, never
 * used, so the fallback cannot reach another user's machd or let another
 * user impersonate one (nested namespaces can still meet a directory that is
 * not ours: the check refuses it with a message).
 * Header-only so that machd, libmach-compat and mach-run agree by construction.
 */
#ifndef MACHD_SOCKET_PATH_H
#define MACHD_SOCKET_PATH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machd_abi.h"

enum machd_socket_source {
  MACHD_SOCKET_FROM_ENV = 0,      /* $MACHD_SOCKET */
  MACHD_SOCKET_FROM_RUNTIME_DIR,  /* $XDG_RUNTIME_DIR */
  MACHD_SOCKET_FALLBACK           /* /tmp/machd-<uid> */
};

/* What the source is called in messages. */
static inline const char* machd_socket_source_name(enum machd_socket_source s) {
  switch (s) {
    case MACHD_SOCKET_FROM_ENV: return "$MACHD_SOCKET";
    case MACHD_SOCKET_FROM_RUNTIME_DIR: return "$XDG_RUNTIME_DIR";
    default: return "the fallback (neither $MACHD_SOCKET nor $XDG_RUNTIME_DIR is set)";
  }
}

/* getuid() as the parent user namespace sees it: the line of
 * /proc/self/uid_map ("inside outside count") that maps it. getuid() itself
 * if the map cannot be read (no /proc) or does not map it. */
static inline unsigned machd_outer_uid(void) {
  unsigned uid = (unsigned)getuid();
  FILE* f = fopen("/proc/self/uid_map", "re");
  if (f == NULL) return uid;
  unsigned long in, out, count;
  unsigned result = uid;
  while (fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3) {
    if (uid >= in && uid - in < count) {
      result = (unsigned)(out + (uid - in));
      break;
    }
  }
  fclose(f);
  return result;
}

/* Writes the socket path into buf (size len) and, if `source` is not NULL,
 * where it came from. Returns 0, or -1 if it does not fit. Creates nothing. */
static inline int machd_socket_path_from(char* buf, size_t len, enum machd_socket_source* source) {
  const char* env = getenv("MACHD_SOCKET");
  enum machd_socket_source src;
  int n;
  if (env != NULL && env[0] != '\0') {
    src = MACHD_SOCKET_FROM_ENV;
    n = snprintf(buf, len, "%s", env);
  } else {
    const char* xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg != NULL && xdg[0] == '/') {
      src = MACHD_SOCKET_FROM_RUNTIME_DIR;
      n = snprintf(buf, len, "%s/%s", xdg, MACHD_SOCKET_BASENAME);
    } else {
      src = MACHD_SOCKET_FALLBACK;
      n = snprintf(buf, len, "/tmp/machd-%u/%s", machd_outer_uid(), MACHD_SOCKET_BASENAME);
    }
  }
  if (source != NULL) *source = src;
  return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static inline int machd_default_socket_path(char* buf, size_t len) {
  return machd_socket_path_from(buf, len, NULL);
}

/* The directory part of the socket path `path` into dir (size len): 0, or -1
 * if `path` has no '/' beyond the first character or it does not fit. */
static inline int machd_socket_dir(const char* path, char* dir, size_t len) {
  const char* slash = strrchr(path, '/');
  if (slash == NULL || slash == path || (size_t)(slash - path) >= len) return -1;
  memcpy(dir, path, (size_t)(slash - path));
  dir[slash - path] = '\0';
  return 0;
}

/* Checks that `dir` is a private directory of ours: a directory, not a
 * symbolic link, owned by getuid(), mode without group or other bits. With
 * `create`, makes it (mode 0700) first if missing. Returns 0, or -1 with a
 * sentence saying what is wrong (and what to do) in why (size whylen). */
static inline int machd_private_dir_check(const char* dir, int create, char* why, size_t whylen) {
  struct stat st;
  if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
    snprintf(why, whylen, "cannot create %s: %s", dir, strerror(errno));
    return -1;
  }
  if (lstat(dir, &st) != 0) {
    snprintf(why, whylen, "%s: %s", dir, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(why, whylen, "%s is not a directory; remove it, or set MACHD_SOCKET or XDG_RUNTIME_DIR", dir);
    return -1;
  }
  if (st.st_uid != getuid()) {
    snprintf(why, whylen,
             "%s belongs to uid %u, not to this user (uid %u): not used; set MACHD_SOCKET or XDG_RUNTIME_DIR "
             "to a directory of your own",
             dir, (unsigned)st.st_uid, (unsigned)getuid());
    return -1;
  }
  if ((st.st_mode & 077) != 0) {
    snprintf(why, whylen, "%s has mode %03o, not 0700: not used; chmod 700 %s", dir, (unsigned)(st.st_mode & 0777),
             dir);
    return -1;
  }
  return 0;
}

#endif /* MACHD_SOCKET_PATH_H */
