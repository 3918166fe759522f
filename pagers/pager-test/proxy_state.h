// pagers/pager-test/proxy_state.h — the proxy's state and the helpers its
// MIG routines (proxy_routines.cc) share with its loop (proxy.cc). Every
// field is guarded by `mu`; the proxy thread holds it while it handles a
// message, so the routines run with it held.
#pragma once

#include <mach/mach.h>

#include <condition_variable>
#include <cstdio>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "proxy.h"

namespace pagerkit {

// One memory_object_init of machd, until its memory_object_terminate.
struct Epoch {
  mach_port_t kernel_control = MACH_PORT_NULL;  // send right: machd's control port
  mach_port_t kernel_name = MACH_PORT_NULL;     // send right: machd's name port
  mach_port_t control = MACH_PORT_NULL;         // receive right: the control port the pager was given
  mach_port_t name = MACH_PORT_NULL;            // receive right: the name port the pager was given
  bool live() const { return MACH_PORT_VALID(kernel_control); }
};

// A completion the kit asked machd for, on a port of its own.
struct Completion {
  enum class Kind { kLock, kSupply, kChange };
  Kind kind = Kind::kLock;
  uint64_t offset = 0, length = 0;
  vm_prot_t lock_value = VM_PROT_NONE;
  bool flush = false;                  // a lock_request's should_flush
  mach_port_t reply = MACH_PORT_NULL;  // the pager's reply right (MACH_PORT_NULL: it asked for none)
  mach_msg_type_name_t reply_type = 0;
  uint64_t ticket = 0;                 // the kit's own lock_request, else 0
  uint64_t epoch = 0;                  // the init it was asked under (ProxyState::inits)
};

// A lock_request the kit asked the proxy thread to make.
struct KitLock {
  uint64_t offset = 0, length = 0;
  memory_object_return_t should_return = MEMORY_OBJECT_RETURN_NONE;
  bool flush = false;
  uint64_t ticket = 0;
};

struct ProxyState {
  ProxyState(Findings& f, ContentModel& m, ProtocolChecker& c, uint64_t timeout)
      : findings(f), model(m), checker(c), timeout_ns(timeout) {}

  Findings& findings;
  ContentModel& model;
  ProtocolChecker& checker;
  const uint64_t timeout_ns;

  std::mutex mu;
  std::condition_variable cv;

  mach_port_t set = MACH_PORT_NULL;     // port set the thread receives on
  mach_port_t object = MACH_PORT_NULL;  // receive right: the proxy object port
  mach_port_t pager = MACH_PORT_NULL;   // send right: the pager's object port
  mach_port_t notify = MACH_PORT_NULL;  // receive right: the pager's dead-name notification
  mach_port_t wake = MACH_PORT_NULL;    // receive right: the kit's wake-ups of the thread

  Epoch epoch;
  std::unordered_map<mach_port_t, Completion> completions;  // by completion port

  std::deque<KitLock> kit_locks;                          // asked, not made yet
  uint64_t next_ticket = 1;
  std::map<uint64_t, Proxy::LockResult> kit_results;      // made and ended

  std::vector<Returned> returns;
  uint64_t inits = 0;  // numbers the epochs
  uint64_t terminates = 0;

  bool hold_armed = false, held = false;
  bool pager_dead = false, death_expected = false;
  bool stopping = false;
  bool serving = false;      // the thread is in its loop
  bool fork_wanted = false;  // Proxy::fork_quiet: the thread waits at its loop's top...
  bool paused = false;       // ...and says when it does
  bool reported_queue_full = false;
  bool noted_copy_call = false;  // the pager asked for MEMORY_OBJECT_COPY_CALL (said once)

  FILE* trace = nullptr;  // every message carried, one line each (--trace)
  uint64_t trace_start = 0;
};

// The state the proxy thread serves: the MIG routines find it here.
ProxyState& served();

uint64_t now_ns();

// A fresh completion port in the port set, standing for `c` until machd's
// completion (or the notice that it dropped the right) arrives on it.
mach_port_t completion_port(ProxyState& s, const Completion& c);

// Handles every message queued on the proxy object port now: a completion
// is passed on only after what machd sent before it.
void drain_object_port(ProxyState& s);
// Handles every call queued on the current proxy control port now (before
// memory_object_terminate takes the port to the pager).
void drain_control_port(ProxyState& s);

// A forward to the pager failed with mr.
void pager_send_failed(ProxyState& s, const char* call, mach_msg_return_t mr);

// A completion port's message (memory_object_{lock,supply,change}_completed
// or a send-once notification) arrived: the completion ends.
void complete(ProxyState& s, mach_port_t port, const Completion& c, bool answered);

// One line of the trace (if on): "<seconds> <direction> <call> <detail>".
void trace(ProxyState& s, const char* direction, const char* call, const std::string& detail);

// machd dropped the right of completion `c` without answering: a finding,
// unless the object ended meanwhile (the calls still queued on machd's
// control port went with it to the kit, which destroyed them).
void report_dropped(ProxyState& s, const Completion& c);

}  // namespace pagerkit
