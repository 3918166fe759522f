// libmach-compat/tools/machctl/trace.cc — see trace.h.
#include "trace.h"

#include <cstdio>
#include <string>

#include "json.h"
#include "machd_introspect.h"
#include "routine_names.h"

extern "C" {
#include "machd_introspectUser.h"
}

namespace {

// The MIG routine a message to machd is, when machd serves it: bootstrap
// requests go to an ordinary port (no kernel object), the rest to kernel
// objects. Null for anything else (a user subsystem: the number is shown).
const char* routine_of(const machd_trace_record_t& r) {
  if (r.receiver_pid != 0) return nullptr;
  if (r.kobject_type == 0) {
    for (const RoutineName& n : kBootstrapNames)
      if (n.id == r.msgh_id) return n.name;
    return nullptr;
  }
  for (const RoutineName& n : kKernelNames)
    if (n.id == r.msgh_id) return n.name;
  return nullptr;
}

std::string result_of(int32_t result) {
  if (result == MACHD_TRACE_BLOCKED) return "blocked";
  if (result == MACH_MSG_SUCCESS) return "ok";
  char buf[16];
  snprintf(buf, sizeof buf, "%#x", uint32_t(result));
  return buf;
}

void print_record(const machd_trace_record_t& r, uint64_t t0, bool json) {
  const char* routine = routine_of(r);
  if (r.dropped) {
    if (json) printf("{\"dropped\":%u}\n", r.dropped);
    else printf("(%u records dropped: machctl too slow)\n", r.dropped);
  }
  const double t = double(r.time_ns - t0) / 1e9;
  if (json) {
    Json j;
    char obj[16];
    snprintf(obj, sizeof obj, "0x%08x", r.object);
    j.begin_object().unum("time_ns", r.time_ns).num("sender_pid", r.sender_pid).num("receiver_pid", r.receiver_pid)
        .str("port", obj).num("msgh_id", r.msgh_id);
    if (routine) j.str("routine", routine); else j.null("routine");
    j.unum("size", r.size).unum("port_rights", r.port_rights).unum("ool_bytes", r.ool_bytes)
        .str("result", result_of(r.result)).end_object();
    fputs(j.text().c_str(), stdout);
  } else {
    printf("%12.6f %7d -> %-7d port 0x%08x id %-6d %-28s size %-5u rights %-3u ool %-8llu %s\n", t, r.sender_pid,
           r.receiver_pid, r.object, r.msgh_id, routine ? routine : "-", r.size, r.port_rights,
           (unsigned long long)r.ool_bytes, result_of(r.result).c_str());
  }
  fflush(stdout);
}

}  // namespace

int run_trace(mach_port_t host, const TraceOptions& o) {
  mach_port_t port = MACH_PORT_NULL;
  kern_return_t kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "machctl: mach_port_allocate: %s\n", mach_error_string(kr));
    return 1;
  }
  mach_port_limits_t limits = {o.queue};
  mach_port_set_attributes(mach_task_self(), port, MACH_PORT_LIMITS_INFO, (mach_port_info_t)&limits,
                           MACH_PORT_LIMITS_INFO_COUNT);
  kr = machd_introspect_trace(host, port, o.filters, o.pid, o.object, o.msgh_id);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "machctl: machd_introspect_trace: %s (%#x)\n", mach_error_string(kr), kr);
    return 1;
  }
  if (!o.json) {
    printf("%12s %7s    %-7s %-15s %-9s %-28s\n", "TIME(s)", "SENDER", "RECEIVER", "PORT", "ID", "ROUTINE");
    fflush(stdout);
  }
  struct {
    mach_msg_header_t head;
    machd_trace_record_t rec;
    mach_msg_max_trailer_t trailer;
  } m;
  uint64_t t0 = 0;
  for (uint64_t n = 0; o.count == 0 || n < o.count;) {
    kr = mach_msg(&m.head, MACH_RCV_MSG, 0, sizeof m, port, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
    if (kr != MACH_MSG_SUCCESS) {
      fprintf(stderr, "machctl: mach_msg receive: %s (%#x)\n", mach_error_string(kr), kr);
      return 1;
    }
    if (m.head.msgh_id != MACHD_TRACE_RECORD_ID || m.head.msgh_size < sizeof m.head + sizeof m.rec) continue;
    if (t0 == 0) t0 = m.rec.time_ns;
    print_record(m.rec, t0, o.json);
    ++n;
  }
  return 0;
}
