/* machd/abi/machd_semaphore.h — the signalling side of the semaphore word
 * (struct machd_semaphore_word, machd_abi.h), shared by the library's traps
 * and machd (its MIG semaphore_signal* routines and destroy). Waiting is the
 * library's alone (libmach-compat/src/semaphore.cc).
 *
 * count = units available - threads waiting. A signal that finds count < 0
 * posts one token and wakes one sleeper on `tokens` (shared futex). Every
 * loop is bounded by `tries`: machd passes a small bound so that a task
 * rewriting the word in a loop cannot keep it spinning (that task only
 * breaks its own semaphore); the library passes UINT32_MAX. */
#ifndef MACHD_SEMAPHORE_H
#define MACHD_SEMAPHORE_H

#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "machd_abi.h"

static inline void machd_sem_post(struct machd_semaphore_word* w, uint32_t n) {
  __atomic_fetch_add(&w->tokens, n, __ATOMIC_RELEASE);
  syscall(SYS_futex, &w->tokens, FUTEX_WAKE, n > INT_MAX ? INT_MAX : (int)n, 0, 0, 0);
}

/* semaphore_signal. */
static inline void machd_sem_signal(struct machd_semaphore_word* w) {
  if (__atomic_fetch_add(&w->count, 1, __ATOMIC_ACQ_REL) < 0) machd_sem_post(w, 1);
}

/* semaphore_signal_all: wakes the threads waiting now (the count of a
 * semaphore nobody waits on is unchanged). */
static inline void machd_sem_signal_all(struct machd_semaphore_word* w, uint32_t tries) {
  int32_t c = __atomic_load_n(&w->count, __ATOMIC_ACQUIRE);
  while (c < 0 && tries-- > 0) {
    if (__atomic_compare_exchange_n(&w->count, &c, 0, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      machd_sem_post(w, (uint32_t)(-(int64_t)c));
      return;
    }
  }
}

/* semaphore_signal_thread with no thread: wakes one waiter; 0 if none
 * waits (KERN_NOT_WAITING). */
static inline int machd_sem_signal_waiter(struct machd_semaphore_word* w, uint32_t tries) {
  int32_t c = __atomic_load_n(&w->count, __ATOMIC_ACQUIRE);
  while (c < 0 && tries-- > 0) {
    if (__atomic_compare_exchange_n(&w->count, &c, c + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      machd_sem_post(w, 1);
      return 1;
    }
  }
  return 0;
}

/* Destroyed (machd): every waiter, now and later, finds a token and the bit. */
static inline void machd_sem_destroy(struct machd_semaphore_word* w) {
  __atomic_store_n(&w->destroyed, 1u, __ATOMIC_RELEASE);
  machd_sem_post(w, (uint32_t)(INT32_MAX / 2));
}

#endif /* MACHD_SEMAPHORE_H */
