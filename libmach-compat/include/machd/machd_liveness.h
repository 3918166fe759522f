/* <machd/machd_liveness.h> — machd-specific (not part of the Mach API): a
 * descriptor a program can poll to learn that its machd is gone, as a Mach
 * server learns it from a failing mach_msg, without a thread in a Mach call.
 * (A pager's main thread, for one, waits for signals in poll.) */
#ifndef MACHD_LIVENESS_H
#define MACHD_LIVENESS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Connects to machd if this task is not connected yet. Returns a new
 * close-on-exec descriptor, the caller's to close, that poll() reports
 * readable (POLLIN, or POLLHUP; read() gives 0) once this task has found
 * its machd gone: machd's process ended, however (SIGKILL included), or
 * machd shut down. The library finds it at once where the kernel has
 * futex_waitv (Linux 5.16), within about a second otherwise. A descriptor
 * asked for after that is readable at once. In a forked child it still
 * tells of the parent's machd connection: ask again there.
 * -1 with errno: ENOTCONN if machd cannot be reached, or what pipe2 or
 * fcntl set (EMFILE, ENFILE). */
int machd_death_fd(void);

#ifdef __cplusplus
}
#endif

#endif /* MACHD_LIVENESS_H */
