// pagers/pager-test/proxy_routines.cc — each message the kit carries, as
// a MIG server routine: machd's memory_object_* messages (the server of
// mach/memory_object.defs, prefixed from_kernel_) forwarded to the pager
// (its user stubs, prefixed to_pager_), and the pager's calls on the proxy
// control port (the server of mach/mach.defs, prefixed from_pager_)
// forwarded to machd (libmach-compat's stubs, <mach/memory_object_control.h>).
// Every routine runs on the proxy thread with the proxy's lock held, checks
// the message (protocol_checker.h, content_model.h) and forwards it.
//
// Rights: a request's rights and memory are the routine's when it returns
// KERN_SUCCESS (MIG's rule), which every routine here does; each releases
// the control-port reference the message brought.
#include <mach/mach.h>
#include <mach/mig_errors.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "proxy_state.h"
#include "text.h"

extern "C" {
#include "kit_machServer.h"
#include "kit_memory_object.h"
}

using namespace pagerkit;

namespace {

void release(mach_port_t send) {
  if (MACH_PORT_VALID(send)) mach_port_deallocate(mach_task_self(), send);
}

std::string range(uint64_t offset, uint64_t length) {
  return "[" + hex(offset) + ", " + hex(offset + length) + ")";
}

void forwarded(ProxyState& s, const char* call, kern_return_t kr) {
  if (kr != KERN_SUCCESS) pager_send_failed(s, call, kr);
}

// A kernel message naming a control port other than the live init's.
bool stale(ProxyState& s, const char* call, mach_port_t control) {
  if (s.epoch.live() && control == s.epoch.kernel_control) return false;
  s.findings.violation(Party::kKernel, "stale-control",
                       std::string(call) + " names a control port that is not the current init's");
  return true;
}

// The pager's answer the kit holds back (proxy.h, hold_next_answer).
bool hold(ProxyState& s) {
  if (!s.hold_armed) return false;
  s.hold_armed = false;
  s.held = true;
  s.cv.notify_all();
  return true;
}

// The content of the pages a supply gave (or zeroes for data_unavailable),
// against what their store should hold; one finding per call.
void check_content(ProxyState& s, const char* call, PageRange r, const uint8_t* data) {
  const uint64_t page = s.model.page_size();
  uint64_t differ = 0;
  std::string first;
  for (uint64_t i = 0; i < r.count; ++i) {
    std::string d = data ? s.model.supplied(r.first + i, data + i * page) : s.model.unavailable(r.first + i);
    if (d.empty()) continue;
    if (differ++ == 0) first = d;
  }
  if (differ)
    s.findings.violation(Party::kPager, "supply-content",
                         std::string(call) + " at " + hex(r.first * page) + ": " + std::to_string(differ) + " of " +
                             std::to_string(r.count) + " pages are not the object's content; first: " + first);
}

// A supply (data_supply, data_provided) checked; false if it goes no
// further: the kit holds it back, or no init is live.
bool take_supply(ProxyState& s, const char* call, vm_offset_t offset, vm_offset_t data, mach_msg_type_number_t count) {
  if (hold(s)) return false;
  PageRange r = s.checker.supply(now_ns(), offset, count);
  check_content(s, call, r, reinterpret_cast<const uint8_t*>(data));
  return s.epoch.live();
}

// A completion port for machd's answer to a call of the pager's (always
// asked, so the kit sees every one); the pager's own reply right, if any,
// gets the answer after it.
mach_port_t ask_completion(ProxyState& s, Completion::Kind kind, uint64_t offset, uint64_t length, vm_prot_t lock,
                           mach_port_t reply, mach_msg_type_name_t reply_type) {
  Completion c;
  c.kind = kind;
  c.offset = offset;
  c.length = length;
  c.lock_value = lock;
  c.reply = MACH_PORT_VALID(reply) ? reply : MACH_PORT_NULL;
  c.reply_type = reply_type;
  return completion_port(s, c);
}

const char* completion_name(Completion::Kind k) {
  switch (k) {
    case Completion::Kind::kLock: return "lock_request";
    case Completion::Kind::kSupply: return "data_supply";
    case Completion::Kind::kChange: return "change_attributes";
  }
  return "?";
}

// machd's answer on completion port `port`; nullptr (after a finding) if
// the port stands for no completion of that kind.
const Completion* completion_of(ProxyState& s, mach_port_t port, Completion::Kind kind, const char* call) {
  auto it = s.completions.find(port);
  if (it == s.completions.end() || it->second.kind != kind) {
    s.findings.violation(Party::kKernel, "unexpected-completion",
                         std::string(call) + " arrived where the kit asked for none");
    return nullptr;
  }
  return &it->second;
}

// A call whose forward to machd failed: its completion will never come.
void abandon(ProxyState& s, mach_port_t completion) {
  auto it = s.completions.find(completion);
  if (it != s.completions.end()) complete(s, completion, it->second, false);
}

// memory_object_data_request (unlock: data_unlock): checked, passed on.
void ask_pager(ProxyState& s, bool unlock, mach_port_t control, vm_offset_t offset, vm_size_t length,
               vm_prot_t access) {
  const char* call = unlock ? "data_unlock" : "data_request";
  trace(s, "kernel -> kit", call, range(offset, length) + " access " + std::to_string(access));
  const bool old = stale(s, call, control);
  release(control);
  if (old) return;
  if (unlock)
    s.checker.data_unlock(now_ns(), offset, length, access);
  else
    s.checker.data_request(now_ns(), offset, length, access);
  if (s.pager_dead) return;
  forwarded(s, call,
            unlock ? to_pager_memory_object_data_unlock(s.pager, s.epoch.control, offset, length, access)
                   : to_pager_memory_object_data_request(s.pager, s.epoch.control, offset, length, access));
}

mach_msg_type_name_t move_of(mach_msg_type_name_t received) {
  return received == MACH_MSG_TYPE_PORT_SEND ? MACH_MSG_TYPE_MOVE_SEND : MACH_MSG_TYPE_MOVE_SEND_ONCE;
}

// The copy strategy passed on to machd. The kit cannot serve the copy
// objects memory_object_copy would give it, so COPY_CALL goes on as
// COPY_DELAY (machd then makes its own copies), with a note.
memory_object_copy_strategy_t kernel_strategy(ProxyState& s, memory_object_copy_strategy_t strategy) {
  if (strategy != MEMORY_OBJECT_COPY_CALL) return strategy;
  if (!s.noted_copy_call) {
    s.noted_copy_call = true;
    s.findings.note(Party::kPager, "copy-call-not-served",
                    "you asked for MEMORY_OBJECT_COPY_CALL; the kit cannot serve copy objects, so machd was told "
                    "MEMORY_OBJECT_COPY_DELAY and your memory_object_copy is not tested");
  }
  return MEMORY_OBJECT_COPY_DELAY;
}

}  // namespace

// ---- machd -> kit -> pager (mach/memory_object.defs) --------------------------------------

extern "C" {

kern_return_t from_kernel_memory_object_init(memory_object_t, mach_port_t control, mach_port_t name,
                                             vm_size_t page_size) {
  ProxyState& s = served();
  trace(s, "kernel -> kit", "init", "page size " + std::to_string(page_size));
  s.checker.init(now_ns(), page_size);
  ++s.inits;
  if (s.epoch.live()) {  // (init-twice: found above) the old one is forgotten
    release(s.epoch.kernel_control);
    release(s.epoch.kernel_name);
  }
  s.epoch.kernel_control = control;
  s.epoch.kernel_name = name;
  if (!MACH_PORT_VALID(s.epoch.control)) {
    mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &s.epoch.control);
    mach_port_move_member(mach_task_self(), s.epoch.control, s.set);
    mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &s.epoch.name);
  }
  if (!s.pager_dead)
    forwarded(s, "memory_object_init",
              to_pager_memory_object_init(s.pager, s.epoch.control, s.epoch.name, page_size));
  return KERN_SUCCESS;
}

kern_return_t from_kernel_memory_object_terminate(mach_port_t object, mach_port_t control, mach_port_t name) {
  ProxyState& s = served();
  trace(s, "kernel -> kit", "terminate", "");
  // The pager's calls made before the terminate are carried first: the
  // terminate takes their port to the pager.
  drain_control_port(s);
  s.checker.terminate(now_ns());
  ++s.terminates;
  s.cv.notify_all();
  if (!s.pager_dead && MACH_PORT_VALID(s.epoch.control)) {
    // The message moves a send right of ours to the pager's port.
    mach_port_mod_refs(mach_task_self(), s.pager, MACH_PORT_RIGHT_SEND, 1);
    kern_return_t kr = to_pager_memory_object_terminate(s.pager, s.epoch.control, s.epoch.name);
    forwarded(s, "memory_object_terminate", kr);
    if (kr != KERN_SUCCESS) {
      mach_port_mod_refs(mach_task_self(), s.epoch.control, MACH_PORT_RIGHT_RECEIVE, -1);
      mach_port_mod_refs(mach_task_self(), s.epoch.name, MACH_PORT_RIGHT_RECEIVE, -1);
    }
  } else {
    mach_port_mod_refs(mach_task_self(), s.epoch.control, MACH_PORT_RIGHT_RECEIVE, -1);
    mach_port_mod_refs(mach_task_self(), s.epoch.name, MACH_PORT_RIGHT_RECEIVE, -1);
  }
  s.epoch.control = s.epoch.name = MACH_PORT_NULL;
  // machd's control and name ports are ours now: destroyed, with the send
  // rights init gave (dead names now).
  mach_port_mod_refs(mach_task_self(), control, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
  if (control == s.epoch.kernel_control) release(s.epoch.kernel_control);
  if (name == s.epoch.kernel_name) release(s.epoch.kernel_name);
  s.epoch.kernel_control = s.epoch.kernel_name = MACH_PORT_NULL;
  release(object);  // the send right the message moved to our own port
  return KERN_SUCCESS;
}

kern_return_t from_kernel_memory_object_copy(memory_object_t, mach_port_t control, vm_offset_t, vm_size_t,
                                             mach_port_t new_object) {
  ProxyState& s = served();
  release(control);
  mach_port_mod_refs(mach_task_self(), new_object, MACH_PORT_RIGHT_RECEIVE, -1);
  s.findings.violation(Party::kKernel, "unexpected-copy",
                       "memory_object_copy, though the kit told machd MEMORY_OBJECT_COPY_DELAY");
  return KERN_SUCCESS;
}

kern_return_t from_kernel_memory_object_data_request(memory_object_t, mach_port_t control, vm_offset_t offset,
                                                     vm_size_t length, vm_prot_t access) {
  ask_pager(served(), false, control, offset, length, access);
  return KERN_SUCCESS;
}

kern_return_t from_kernel_memory_object_data_unlock(memory_object_t, mach_port_t control, vm_offset_t offset,
                                                    vm_size_t length, vm_prot_t access) {
  ask_pager(served(), true, control, offset, length, access);
  return KERN_SUCCESS;
}

kern_return_t from_kernel_memory_object_data_return(memory_object_t, mach_port_t control, vm_offset_t offset,
                                                    vm_offset_t data, mach_msg_type_number_t count, boolean_t dirty,
                                                    boolean_t kernel_copy) {
  ProxyState& s = served();
  trace(s, "kernel -> kit", "data_return", range(offset, count) + (dirty ? " dirty" : " clean") + (kernel_copy ? " kernel_copy" : ""));
  const bool old = stale(s, "data_return", control);
  release(control);
  if (!old) {
    s.checker.data_return(now_ns(), offset, count, dirty, kernel_copy);
    const auto* bytes = reinterpret_cast<const uint8_t*>(data);
    const uint64_t page = s.model.page_size();
    if (dirty)
      for (uint64_t done = 0; done < count; done += page)
        s.model.returned((offset + done) / page, bytes + done, std::min<uint64_t>(page, count - done));
    s.returns.push_back(Returned{offset, std::vector<uint8_t>(bytes, bytes + count), dirty != 0, kernel_copy != 0});
    if (!s.pager_dead)
      forwarded(s, "memory_object_data_return",
                to_pager_memory_object_data_return(s.pager, s.epoch.control, offset, data, count, dirty,
                                                   kernel_copy));
  }
  vm_deallocate(mach_task_self(), data, count);
  return KERN_SUCCESS;
}

kern_return_t from_kernel_memory_object_lock_completed(mach_port_t port, mach_port_t control, vm_offset_t offset,
                                                       vm_size_t length) {
  ProxyState& s = served();
  trace(s, "kernel -> kit", "lock_completed", range(offset, length));
  release(control);
  const Completion* found = completion_of(s, port, Completion::Kind::kLock, "lock_completed");
  if (found == nullptr) return KERN_SUCCESS;
  const Completion c = *found;
  if (offset != c.offset || length != c.length)
    s.findings.violation(Party::kKernel, "completion-range",
                         "lock_completed for [" + hex(offset) + ", " + hex(offset + length) +
                             ") answers a lock_request of [" + hex(c.offset) + ", " + hex(c.offset + c.length) + ")");
  if (MACH_PORT_VALID(c.reply))
    forwarded(s, "memory_object_lock_completed",
              to_pager_memory_object_lock_completed(c.reply, move_of(c.reply_type), s.epoch.control, offset, length));
  Completion done = c;
  done.reply = MACH_PORT_NULL;  // moved (or destroyed with the failed message)
  complete(s, port, done, true);
  return KERN_SUCCESS;
}

kern_return_t from_kernel_memory_object_supply_completed(mach_port_t port, mach_port_t control, vm_offset_t offset,
                                                         vm_size_t length, kern_return_t result,
                                                         vm_offset_t error_offset) {
  ProxyState& s = served();
  trace(s, "kernel -> kit", "supply_completed", range(offset, length) + " " + mach_error_string(result));
  release(control);
  const Completion* found = completion_of(s, port, Completion::Kind::kSupply, "supply_completed");
  if (found == nullptr) return KERN_SUCCESS;
  const Completion c = *found;
  // KERN_MEMORY_PRESENT (pages held already) and KERN_INVALID_ARGUMENT (an
  // unaligned offset) were reported when the supply passed.
  if (result != KERN_SUCCESS && result != KERN_MEMORY_PRESENT && result != KERN_INVALID_ARGUMENT)
    s.findings.note(Party::kKernel, "supply-failed",
                    "the kernel took data_supply at " + hex(offset) + " only in part: " + mach_error_string(result) +
                        " at " + hex(error_offset));
  if (MACH_PORT_VALID(c.reply))
    forwarded(s, "memory_object_supply_completed",
              to_pager_memory_object_supply_completed(c.reply, move_of(c.reply_type), s.epoch.control, offset, length,
                                                      result, error_offset));
  Completion done = c;
  done.reply = MACH_PORT_NULL;
  complete(s, port, done, true);
  return KERN_SUCCESS;
}

kern_return_t from_kernel_memory_object_change_completed(mach_port_t port, boolean_t may_cache,
                                                         memory_object_copy_strategy_t strategy) {
  ProxyState& s = served();
  trace(s, "kernel -> kit", "change_completed", "may_cache " + std::to_string(may_cache));
  const Completion* found = completion_of(s, port, Completion::Kind::kChange, "change_completed");
  if (found == nullptr) return KERN_SUCCESS;
  const Completion c = *found;
  if (MACH_PORT_VALID(c.reply))
    forwarded(s, "memory_object_change_completed",
              to_pager_memory_object_change_completed(c.reply, move_of(c.reply_type), may_cache, strategy));
  Completion done = c;
  done.reply = MACH_PORT_NULL;
  complete(s, port, done, true);
  return KERN_SUCCESS;
}

// ---- pager -> kit -> machd (mach/mach.defs, on the proxy control port) ----------------------

kern_return_t from_pager_memory_object_data_supply(memory_object_control_t, vm_offset_t offset, vm_offset_t data,
                                                   mach_msg_type_number_t count, vm_prot_t lock_value,
                                                   boolean_t precious, mach_port_t reply_to,
                                                   mach_msg_type_name_t reply_type) {
  ProxyState& s = served();
  trace(s, "pager -> kit", "data_supply", range(offset, count) + " lock " + std::to_string(lock_value) + (precious ? " precious" : "") + (MACH_PORT_VALID(reply_to) ? " reply" : ""));
  if (!take_supply(s, "data_supply", offset, data, count)) {
    vm_deallocate(mach_task_self(), data, count);
    release(reply_to);
    return KERN_SUCCESS;
  }
  mach_port_t completion =
      ask_completion(s, Completion::Kind::kSupply, offset, count, lock_value, reply_to, reply_type);
  // The data moves on to machd (deallocated from the kit).
  kern_return_t kr = memory_object_data_supply(s.epoch.kernel_control, offset, data, count, TRUE, lock_value,
                                               precious, completion);
  if (kr != KERN_SUCCESS) abandon(s, completion);
  return KERN_SUCCESS;
}

kern_return_t from_pager_memory_object_data_provided(memory_object_control_t, vm_offset_t offset, vm_offset_t data,
                                                     mach_msg_type_number_t count, vm_prot_t lock_value) {
  ProxyState& s = served();
  trace(s, "pager -> kit", "data_provided", range(offset, count));
  if (take_supply(s, "data_provided", offset, data, count))
    memory_object_data_provided(s.epoch.kernel_control, offset, data, count, lock_value);
  vm_deallocate(mach_task_self(), data, count);
  return KERN_SUCCESS;
}

kern_return_t from_pager_memory_object_data_unavailable(memory_object_control_t, vm_offset_t offset, vm_size_t size) {
  ProxyState& s = served();
  trace(s, "pager -> kit", "data_unavailable", range(offset, size));
  if (hold(s)) return KERN_SUCCESS;
  PageRange r = s.checker.unavailable(now_ns(), offset, size);
  check_content(s, "data_unavailable", r, nullptr);
  if (s.epoch.live()) memory_object_data_unavailable(s.epoch.kernel_control, offset, size);
  return KERN_SUCCESS;
}

kern_return_t from_pager_memory_object_data_error(memory_object_control_t, vm_offset_t offset, vm_size_t size,
                                                  kern_return_t error_value) {
  ProxyState& s = served();
  trace(s, "pager -> kit", "data_error", range(offset, size) + " " + mach_error_string(error_value));
  if (hold(s)) return KERN_SUCCESS;
  s.checker.error(now_ns(), offset, size, error_value);
  if (s.epoch.live()) memory_object_data_error(s.epoch.kernel_control, offset, size, error_value);
  return KERN_SUCCESS;
}

kern_return_t from_pager_memory_object_lock_request(memory_object_control_t, vm_offset_t offset, vm_size_t size,
                                                   memory_object_return_t should_return, boolean_t should_flush,
                                                   vm_prot_t lock_value, mach_port_t reply_to,
                                                   mach_msg_type_name_t reply_type) {
  ProxyState& s = served();
  trace(s, "pager -> kit", "lock_request", range(offset, size) + " return " + std::to_string(should_return) + (should_flush ? " flush" : "") + " lock " + hex(uint64_t(lock_value)) + (MACH_PORT_VALID(reply_to) ? " reply" : ""));
  if (!s.checker.lock_request(now_ns(), offset, size, should_return, should_flush, lock_value, false) ||
      !s.epoch.live()) {
    release(reply_to);  // unanswered, as the kernel would leave it
    return KERN_SUCCESS;
  }
  mach_port_t completion = ask_completion(s, Completion::Kind::kLock, offset, size, lock_value, reply_to, reply_type);
  if (auto it = s.completions.find(completion); it != s.completions.end()) it->second.flush = should_flush;
  kern_return_t kr = memory_object_lock_request(s.epoch.kernel_control, offset, size, should_return, should_flush,
                                                lock_value, completion);
  if (kr != KERN_SUCCESS) abandon(s, completion);
  return KERN_SUCCESS;
}

kern_return_t from_pager_memory_object_set_attributes(memory_object_control_t, boolean_t ready, boolean_t may_cache,
                                                     memory_object_copy_strategy_t strategy) {
  ProxyState& s = served();
  trace(s, "pager -> kit", "set_attributes", std::string(ready ? "ready" : "not ready") + " may_cache " + std::to_string(may_cache));
  s.checker.ready(now_ns(), ready, may_cache);
  if (s.epoch.live())
    memory_object_set_attributes(s.epoch.kernel_control, ready, may_cache, kernel_strategy(s, strategy));
  return KERN_SUCCESS;
}

kern_return_t from_pager_memory_object_ready(memory_object_control_t, boolean_t may_cache,
                                            memory_object_copy_strategy_t strategy) {
  ProxyState& s = served();
  trace(s, "pager -> kit", "ready", "may_cache " + std::to_string(may_cache));
  s.checker.ready(now_ns(), true, may_cache);
  if (s.epoch.live()) memory_object_ready(s.epoch.kernel_control, may_cache, kernel_strategy(s, strategy));
  return KERN_SUCCESS;
}

kern_return_t from_pager_memory_object_change_attributes(memory_object_control_t, boolean_t may_cache,
                                                        memory_object_copy_strategy_t strategy, mach_port_t reply_to,
                                                        mach_msg_type_name_t reply_type) {
  ProxyState& s = served();
  trace(s, "pager -> kit", "change_attributes", "may_cache " + std::to_string(may_cache));
  s.checker.ready(now_ns(), s.checker.stats().ready, may_cache);
  if (!s.epoch.live()) {
    release(reply_to);
    return KERN_SUCCESS;
  }
  mach_port_t completion = ask_completion(s, Completion::Kind::kChange, 0, 0, VM_PROT_NONE, reply_to, reply_type);
  kern_return_t kr =
      memory_object_change_attributes(s.epoch.kernel_control, may_cache, kernel_strategy(s, strategy), completion);
  if (kr != KERN_SUCCESS) abandon(s, completion);
  return KERN_SUCCESS;
}

kern_return_t from_pager_memory_object_get_attributes(memory_object_control_t, boolean_t* ready, boolean_t* may_cache,
                                                     memory_object_copy_strategy_t* strategy) {
  ProxyState& s = served();
  trace(s, "pager -> kit", "get_attributes", "");
  if (!s.epoch.live()) return KERN_INVALID_ARGUMENT;
  return memory_object_get_attributes(s.epoch.kernel_control, ready, may_cache, strategy);
}

kern_return_t from_pager_memory_object_destroy(memory_object_control_t, kern_return_t reason) {
  ProxyState& s = served();
  trace(s, "pager -> kit", "destroy", mach_error_string(reason));
  s.checker.destroy(now_ns(), reason);
  if (s.epoch.live()) memory_object_destroy(s.epoch.kernel_control, reason);
  return KERN_SUCCESS;
}

}  // extern "C"

namespace pagerkit {

// machd dropped a completion right the kit gave it, without answering.
void report_dropped(ProxyState& s, const Completion& c) {
  if (c.epoch != s.inits || !s.epoch.live()) return;  // the object ended: nothing was owed
  std::string what = std::string(completion_name(c.kind)) + " [" + hex(c.offset) + ", " + hex(c.offset + c.length) +
                     ")";
  if (c.kind == Completion::Kind::kLock) {
    char lock[32];
    snprintf(lock, sizeof lock, "0x%x", unsigned(c.lock_value));
    what += std::string(" with lock_value ") + lock;
  }
  s.findings.violation(Party::kKernel, "completion-dropped",
                       what + " got no completion: the kernel refused the call and dropped its reply port");
}

}  // namespace pagerkit
