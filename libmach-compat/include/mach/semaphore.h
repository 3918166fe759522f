/*
 * mach/semaphore.h - Mach semaphores (create/destroy are in mach/task.h).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_SEMAPHORE_H_
#define _MACH_SEMAPHORE_H_

#include <mach/_cdefs.h>
#include <mach/port.h>
#include <mach/mach_types.h>
#include <mach/kern_return.h>
#include <mach/sync_policy.h>

__BEGIN_DECLS

extern kern_return_t semaphore_signal(semaphore_t semaphore);
extern kern_return_t semaphore_signal_all(semaphore_t semaphore);
/* Blocks; KERN_ABORTED if interrupted, KERN_TERMINATED if destroyed. */
extern kern_return_t semaphore_wait(semaphore_t semaphore);
/* KERN_OPERATION_TIMED_OUT when wait_time (relative) passes. */
extern kern_return_t semaphore_timedwait(semaphore_t semaphore,
    mach_timespec_t wait_time);
extern kern_return_t semaphore_timedwait_signal(semaphore_t wait_semaphore,
    semaphore_t signal_semaphore, mach_timespec_t wait_time);
/* Atomically signal one semaphore and wait on another. */
extern kern_return_t semaphore_wait_signal(semaphore_t wait_semaphore,
    semaphore_t signal_semaphore);
extern kern_return_t semaphore_signal_thread(semaphore_t semaphore,
    thread_t thread);

__END_DECLS

#endif /* _MACH_SEMAPHORE_H_ */
