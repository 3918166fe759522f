/* <machd/machd_debug.h> — machd-specific introspection (not part of the Mach
 * API): what machd holds right now, for tests and monitoring. */
#ifndef MACHD_DEBUG_H
#define MACHD_DEBUG_H

#include <mach/kern_return.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct machd_debug_stats {
  uint64_t tasks;          /* tasks, machd's own kernel task included */
  uint64_t ports;          /* live ports, machd's own included */
  uint64_t port_sets;
  uint64_t entries;        /* names in use over all spaces */
  uint64_t messages;       /* queued, or held by blocked senders */
  uint64_t ool_payloads;   /* out-of-line regions in flight */
  uint64_t waiters;        /* blocked mach_msg calls */
  uint64_t memfd_payloads; /* memfd-backed regions alive in machd */
  uint64_t rss_bytes;      /* machd's resident set size */
  uint64_t vouchers;       /* live vouchers */
  uint64_t voucher_values; /* attribute values the voucher managers keep */
  uint64_t reserved[1];
} machd_debug_stats_t;

/* Fills *out. KERN_SUCCESS, or MACH_SEND_INVALID_DEST if machd is unreachable. */
kern_return_t machd_debug_get_stats(machd_debug_stats_t* out);

/* A trap that does nothing: one round trip to machd (benchmarks). */
kern_return_t machd_debug_ping(void);

#ifdef __cplusplus
}
#endif

#endif /* MACHD_DEBUG_H */
