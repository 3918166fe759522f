/*
 * pthread/mach_np.h - the Mach side of a pthread, as macOS's <pthread.h>
 * declares it.  glibc owns <pthread.h> here, so these two live in this
 * header, which <mach/mach.h> includes: a Mach program that includes both
 * <pthread.h> and <mach/mach.h>, as it does on macOS, finds them.
 * Not an Apple header.
 * SPDX-License-Identifier: MIT
 */
#ifndef _PTHREAD_MACH_NP_H_
#define _PTHREAD_MACH_NP_H_

#include <pthread.h>
#include <mach/_cdefs.h>
#include <mach/port.h>

__BEGIN_DECLS

/* The thread's port; MACH_PORT_NULL if unknown.  Unlike macOS, a send
 * right with one more user reference per call (as mach_thread_self()). */
extern mach_port_t pthread_mach_thread_np(pthread_t thread);

/* The pthread of a thread port of this task; 0 if none. */
extern pthread_t pthread_from_mach_thread_np(mach_port_t thread);

__END_DECLS

#endif /* _PTHREAD_MACH_NP_H_ */
