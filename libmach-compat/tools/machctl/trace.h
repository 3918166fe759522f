// libmach-compat/tools/machctl/trace.h — machctl trace: attach a tracer to
// machd (machd_introspect_trace) and print one line per record.
#pragma once

#include <mach/mach.h>

#include <cstdint>

struct TraceOptions {
  uint32_t filters = 0;  // MACHD_TRACE_* of the options given
  int32_t pid = 0;
  uint32_t object = 0;
  int32_t msgh_id = 0;
  uint64_t count = 0;    // stop after this many records (0: until killed)
  uint32_t queue = 256;  // the tracer port's queue limit: the buffer
  bool json = false;     // one JSON object per line
};

// Runs the tracer until `count` records arrived or the process is killed;
// returns machctl's exit status (1 when a call fails).
int run_trace(mach_port_t host, const TraceOptions& o);
