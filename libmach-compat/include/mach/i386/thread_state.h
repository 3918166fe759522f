/*
 * mach/i386/thread_state.h - bounds of x86 thread states.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_I386_THREAD_STATE_H_
#define _MACH_I386_THREAD_STATE_H_

/* Largest x86 state, in natural_t (x86_AVX512_STATE). */
#define I386_THREAD_STATE_MAX   (614)

/*
 * What thread_state_t (MIG) holds: the largest state of any architecture,
 * 1296 as in Apple's x86_64 MIG layouts (see include/README.md).
 */
#define THREAD_STATE_MAX        (1296)

#endif /* _MACH_I386_THREAD_STATE_H_ */
