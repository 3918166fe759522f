/* machd/abi/machd_fds.h — one control-socket message with file descriptors
 * attached (SCM_RIGHTS), sent or received. Header-only so that machd and
 * libmach-compat build and parse these messages the same way. */
#ifndef MACHD_FDS_H
#define MACHD_FDS_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "machd_abi.h"

/* Sends `len` bytes of `data` with `nfds` fds attached (at most
 * MACHD_MAX_FDS_PER_MSG; none if 0), retrying on EINTR. `flags` as for
 * sendmsg (MSG_NOSIGNAL is always added). Returns sendmsg's result, or -1
 * with errno EINVAL for too many fds. The fds stay open in the caller. */
static inline ssize_t machd_send_fds(int sock, const void* data, size_t len, const int* fds, size_t nfds,
                                     int flags) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * MACHD_MAX_FDS_PER_MSG)];
  } control;
  struct iovec iov;
  struct msghdr msg;
  ssize_t r;
  if (nfds > MACHD_MAX_FDS_PER_MSG) {
    errno = EINVAL;
    return -1;
  }
  iov.iov_base = (void*)data;
  iov.iov_len = len;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    struct cmsghdr* cm;
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
  }
  do r = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r;
}

/* Receives one message into `data` (`len` bytes) and the fds attached to it
 * (close-on-exec) into `fds` (room for MACHD_MAX_FDS_PER_MSG), retrying on
 * EINTR. *nfds gets how many arrived; *msg_flags the message's flags
 * (MSG_TRUNC, MSG_CTRUNC: the message or its fds did not fit). The caller
 * owns the fds, even when it rejects the message. Returns recvmsg's result. */
static inline ssize_t machd_recv_fds(int sock, void* data, size_t len, int* fds, size_t* nfds, int flags,
                                     int* msg_flags) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * MACHD_MAX_FDS_PER_MSG)];
  } control;
  struct iovec iov;
  struct msghdr msg;
  struct cmsghdr* cm;
  ssize_t r;
  iov.iov_base = data;
  iov.iov_len = len;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  *nfds = 0;
  do r = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (msg_flags) *msg_flags = r < 0 ? 0 : msg.msg_flags;
  if (r < 0) return r;
  for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const unsigned char* p = CMSG_DATA(cm);
      size_t i;
      for (i = 0; i < k; ++i) {
        int fd;
        memcpy(&fd, p + i * sizeof(int), sizeof fd);
        if (*nfds < MACHD_MAX_FDS_PER_MSG) fds[(*nfds)++] = fd;
        else close(fd);
      }
    }
  }
  return r;
}

#endif /* MACHD_FDS_H */
