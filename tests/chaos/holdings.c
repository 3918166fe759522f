/* tests/chaos/holdings.c — prints what machd holds right now, as one JSON
 * object on one line, for chaos.py's leak check.
 *
 *   chaos_holdings
 *
 * The keys are the fields of machd_debug_stats_t (<machd/machd_debug.h>):
 * tasks, ports, port_sets, entries, messages, ool_payloads, waiters,
 * memfd_payloads, rss_bytes, vouchers, voucher_values. This program is a
 * task itself while it asks: its own task, its space's names and its ports
 * are in the counts (the same every time it runs).
 *
 * Exit status: 0; 1 if machd could not be reached (MACHD_SOCKET names it).
 */
#include <machd/machd_debug.h>
#include <stdio.h>

int main(void) {
  machd_debug_stats_t s;
  kern_return_t kr = machd_debug_get_stats(&s);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "chaos_holdings: machd_debug_get_stats: 0x%x\n", kr);
    return 1;
  }
  printf("{\"tasks\": %llu, \"ports\": %llu, \"port_sets\": %llu, \"entries\": %llu, \"messages\": %llu, "
         "\"ool_payloads\": %llu, \"waiters\": %llu, \"memfd_payloads\": %llu, \"rss_bytes\": %llu, "
         "\"vouchers\": %llu, \"voucher_values\": %llu}\n",
         (unsigned long long)s.tasks, (unsigned long long)s.ports, (unsigned long long)s.port_sets,
         (unsigned long long)s.entries, (unsigned long long)s.messages, (unsigned long long)s.ool_payloads,
         (unsigned long long)s.waiters, (unsigned long long)s.memfd_payloads, (unsigned long long)s.rss_bytes,
         (unsigned long long)s.vouchers, (unsigned long long)s.voucher_values);
  return 0;
}
