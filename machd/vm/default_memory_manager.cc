// machd/vm/default_memory_manager.cc — see default_memory_manager.h: the
// registry and the host_default_memory_manager routine.
#include "default_memory_manager.h"

#include <mach/kern_return.h>
#include <mach/mig_errors.h>

#include <spdlog/spdlog.h>

#include "kern/introspect.h"
#include "kern/runtime.h"
#include "kern/translate.h"

extern "C" {
#include "host_privServer.h"
}

namespace machd::vm {

namespace {
DefaultMemoryManager* g_manager = nullptr;
}  // namespace

DefaultMemoryManager& default_memory_manager() { return *g_manager; }

DefaultMemoryManager::DefaultMemoryManager() { g_manager = this; }

DefaultMemoryManager::~DefaultMemoryManager() {
  if (MACH_PORT_VALID(port_)) kern::runtime().release_send(port_);
  if (g_manager == this) g_manager = nullptr;
}

mach_port_name_t DefaultMemoryManager::port() {
  if (!MACH_PORT_VALID(port_)) return MACH_PORT_NULL;
  kern::Runtime& rt = kern::runtime();
  mach_port_type_t type = 0;
  if (rt.kernel().port_type(rt.kt(), port_, &type) != KERN_SUCCESS || !(type & MACH_PORT_TYPE_SEND)) {
    // The manager died: its right is a dead name now.
    if (type & MACH_PORT_TYPE_DEAD_NAME) rt.kernel().port_mod_refs(rt.kt(), port_, MACH_PORT_RIGHT_DEAD_NAME, -1);
    spdlog::warn("the default memory manager died; anonymous memory is not paged out until another registers");
    port_ = MACH_PORT_NULL;
  }
  return port_;
}

mach_port_name_t DefaultMemoryManager::swap(mach_port_name_t fresh, ipc::TaskId task) {
  const mach_port_name_t old = port();
  port_ = fresh;
  task_ = task;
  return old;
}

}  // namespace machd::vm

using machd::kern::KType;
using machd::kern::runtime;

extern "C" kern_return_t host_default_memory_manager(host_priv_t host_priv, memory_object_default_t* default_manager,
                                                     memory_object_cluster_size_t /*cluster_size*/) {
  machd::kern::Runtime& rt = runtime();
  const bool priv = machd::kern::translate(host_priv, {KType::kHostPriv}).has_value();
  const bool operator_host = machd::kern::translate(host_priv, {KType::kHost}).has_value() &&
                             machd::kern::Introspection::allowed(rt.request().audit);
  if (!priv && !operator_host) return KERN_INVALID_HOST;  // (the error reply releases the request's right)
  machd::vm::DefaultMemoryManager& m = machd::vm::default_memory_manager();
  mach_port_name_t out = MACH_PORT_NULL;
  if (MACH_PORT_VALID(*default_manager)) {
    out = m.swap(*default_manager, rt.request().sender);  // the request's send right is the manager's now
    spdlog::info("task {}: registered as the default memory manager", rt.request().sender);
  } else {
    out = m.port();
    if (MACH_PORT_VALID(out) && rt.kernel().port_mod_refs(rt.kt(), out, MACH_PORT_RIGHT_SEND, 1) != KERN_SUCCESS)
      out = MACH_PORT_NULL;
  }
  // The reply moves the right (the generated stub would make one, which
  // only a receiver can).
  static_assert(sizeof(__Reply__host_default_memory_manager_t) ==
                sizeof(mach_msg_header_t) + sizeof(mach_msg_body_t) + sizeof(mach_msg_port_descriptor_t));
  rt.send_port_reply(rt.defer(), out, MACH_MSG_TYPE_MOVE_SEND);
  return MIG_NO_REPLY;
}
