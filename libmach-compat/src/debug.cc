// libmach-compat/src/debug.cc — <machd/machd_debug.h>.
#include <machd/machd_debug.h>
#include <mach/message.h>

#include <cstring>

#include "connection.h"

static_assert(sizeof(machd_debug_stats_t) == sizeof(machd_stats), "same layout as the wire struct");

extern "C" kern_return_t machd_debug_get_stats(machd_debug_stats_t* out) {
  machcompat::CallResult r = machcompat::call(MACHD_OP_STATS, {});
  if (r.machd_gone) return MACH_SEND_INVALID_DEST;
  if (r.result != KERN_SUCCESS) return r.result;
  if (out == nullptr || r.data.size() < sizeof *out) return KERN_FAILURE;
  memcpy(out, r.data.data(), sizeof *out);
  return KERN_SUCCESS;
}

extern "C" kern_return_t machd_debug_ping(void) {
  machcompat::CallResult r = machcompat::call(MACHD_OP_PING, {});
  return r.machd_gone ? kern_return_t(MACH_SEND_INVALID_DEST) : kern_return_t(r.result);
}
