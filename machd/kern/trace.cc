// machd/kern/trace.cc — see trace.h.
#include "trace.h"

#include <cstring>

#include "counters.h"
#include "runtime.h"

namespace machd::kern {

bool TraceFilter::matches(const machd_trace_record_t& r) const {
  if ((filters & MACHD_TRACE_PID) && r.sender_pid != pid && r.receiver_pid != pid) return false;
  if ((filters & MACHD_TRACE_PORT) && r.object != object) return false;
  if ((filters & MACHD_TRACE_ID) && r.msgh_id != msgh_id) return false;
  return true;
}

void Tracing::attach(mach_port_name_t port, const TraceFilter& filter) {
  tracers_.push_back(Tracer{port, filter, 0});
  g_tracer_count = uint32_t(tracers_.size());
}

void Tracing::detach(size_t i) {
  runtime().release_send(tracers_[i].port);
  tracers_.erase(tracers_.begin() + ptrdiff_t(i));
  g_tracer_count = uint32_t(tracers_.size());
}

void Tracing::emit(machd_trace_record_t r) {
  struct Message {
    mach_msg_header_t head;
    machd_trace_record_t rec;
  };
  Runtime& rt = runtime();
  for (size_t i = 0; i < tracers_.size();) {
    Tracer& t = tracers_[i];
    // A tracer whose port died goes, even if nothing matches its filter.
    mach_port_type_t type = 0;
    if (rt.kernel().port_type(rt.kt(), t.port, &type) != KERN_SUCCESS || !(type & MACH_PORT_TYPE_SEND)) {
      detach(i);
      continue;
    }
    if (!t.filter.matches(r)) {
      ++i;
      continue;
    }
    // The tracer's queue limit is the buffer (machd's own sends would
    // ignore it): a full queue drops the record.
    if (rt.kernel().queue_full(rt.kt(), t.port)) {
      t.dropped++;
      counters().trace_dropped(1);
      ++i;
      continue;
    }
    Message m{};
    m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
    m.head.msgh_size = sizeof m;
    m.head.msgh_remote_port = t.port;
    m.head.msgh_id = MACHD_TRACE_RECORD_ID;
    m.rec = r;
    m.rec.dropped = t.dropped;
    std::vector<uint8_t> bytes(sizeof m);
    memcpy(bytes.data(), &m, sizeof m);
    const mach_msg_return_t mr = rt.send(std::move(bytes));
    if (mr == MACH_MSG_SUCCESS) {
      t.dropped = 0;
    } else if (mr == MACH_SEND_INVALID_DEST) {
      detach(i);  // the tracer's port died (its name is a dead name now)
      continue;
    } else {
      t.dropped++;  // queue full (MACH_SEND_TIMED_OUT) or out of memory
      counters().trace_dropped(1);
    }
    ++i;
  }
}

Tracing& tracing() {
  static Tracing t;
  return t;
}

MessageSummary summarize(const uint8_t* msg, size_t len) {
  MessageSummary s;
  mach_msg_header_t h;
  if (len < sizeof h) return s;
  memcpy(&h, msg, sizeof h);
  s.remote = h.msgh_remote_port;
  s.size = h.msgh_size;
  s.msgh_id = h.msgh_id;
  if (!(h.msgh_bits & MACH_MSGH_BITS_COMPLEX) || len < sizeof h + sizeof(mach_msg_body_t)) return s;
  mach_msg_body_t body;
  memcpy(&body, msg + sizeof h, sizeof body);
  // x86_64 user descriptors: a port descriptor is 12 bytes, the others 16;
  // every one has its type in byte 11. OOL and OOL-ports descriptors carry
  // their size / count at byte 12.
  size_t off = sizeof h + sizeof body;
  for (uint32_t i = 0; i < body.msgh_descriptor_count && off + 12 <= len; ++i) {
    const uint8_t type = msg[off + 11];
    uint32_t n = 0;
    if (type != MACH_MSG_PORT_DESCRIPTOR && off + 16 <= len) memcpy(&n, msg + off + 12, sizeof n);
    switch (type) {
      case MACH_MSG_PORT_DESCRIPTOR: s.port_rights++; off += 12; continue;
      case MACH_MSG_GUARDED_PORT_DESCRIPTOR: s.port_rights++; break;
      case MACH_MSG_OOL_PORTS_DESCRIPTOR: s.port_rights += n; break;
      case MACH_MSG_OOL_DESCRIPTOR:
      case MACH_MSG_OOL_VOLATILE_DESCRIPTOR: s.ool_bytes += n; break;
      default: return s;  // malformed: stop counting
    }
    off += 16;
  }
  return s;
}

}  // namespace machd::kern
