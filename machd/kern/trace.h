// machd/kern/trace.h — live message tracing (machd_introspect_trace,
// machctl trace): one record per mach_msg send through a trap, sent to
// every attached tracer whose filter matches.
//
// Cost when nobody traces: the daemon tests tracer_count() once per trap,
// a load and a branch that is always not-taken (nothing else runs). With a
// tracer attached, each send is described (destination looked up, its
// descriptors counted) before it runs, and a record is sent after.
//
// Delivery never blocks machd: records go out with Runtime::send (a zero
// timeout), so the tracer's port queue is the bounded buffer; a record that
// finds it full is dropped and counted (Counters::trace_dropped too), and
// the next record that gets through says how many were lost. A tracer whose
// port died is detached at the next traced send (matched or not).
#pragma once

#include <mach/message.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "machd_introspect.h"

namespace machd::kern {

// How many tracers are attached (the daemon's one test per trap).
inline uint32_t g_tracer_count = 0;
inline uint32_t tracer_count() { return g_tracer_count; }

struct TraceFilter {
  uint32_t filters = 0;  // MACHD_TRACE_PID | _PORT | _ID
  int32_t pid = 0;
  uint32_t object = 0;
  int32_t msgh_id = 0;
  bool matches(const machd_trace_record_t& r) const;
};

class Tracing {
 public:
  // Attaches the tracer whose port the kernel task's send right `port`
  // names (the right is the tracer's from now on, released when it goes).
  void attach(mach_port_name_t port, const TraceFilter& filter);
  // Sends `r` to every matching tracer (r.dropped is filled per tracer).
  void emit(machd_trace_record_t r);
  size_t attached() const { return tracers_.size(); }

 private:
  struct Tracer {
    mach_port_name_t port = MACH_PORT_NULL;
    TraceFilter filter;
    uint32_t dropped = 0;  // since the last record that got through
  };
  void detach(size_t i);
  std::vector<Tracer> tracers_;
};

// machd's tracers (one per process).
Tracing& tracing();

// What the sender's message says about itself, for a record: msgh_size,
// msgh_id, the remote name, rights in descriptors and out-of-line bytes.
// `msg` is the user message as copied from the channel (possibly short or
// malformed: what cannot be read counts as absent).
struct MessageSummary {
  mach_port_name_t remote = MACH_PORT_NULL;
  uint32_t size = 0;
  int32_t msgh_id = 0;
  uint32_t port_rights = 0;
  uint64_t ool_bytes = 0;
};
MessageSummary summarize(const uint8_t* msg, size_t len);

}  // namespace machd::kern
