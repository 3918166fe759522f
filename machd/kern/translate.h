// machd/kern/translate.h — the one rights-checked step of every routine:
// which object does the port a request names denote (XNU's convert_port_to_*).
//
// `port` is a kernel-task name (the request's target, or a port argument
// that travelled in it). A port of another type, a dead port or no port is
// no object: the routine then answers as XNU does for a null object
// (usually KERN_INVALID_ARGUMENT).
#pragma once

#include <initializer_list>
#include <optional>

#include "runtime.h"

namespace machd::kern {

// Whether `ko` is a corpse's task or thread (corpse.h).
bool is_corpse_object(ipc::KObject ko);

// The id of the object `port` denotes if its type is one of `types`. As
// XNU's conversions, a routine that takes only a control port (`types` is
// {kTask} or {kThread}) never gets a corpse's: nothing changes a corpse.
inline std::optional<uint64_t> translate(mach_port_t port, std::initializer_list<KType> types) {
  ipc::KObject ko = runtime().object_of(port);
  for (KType t : types) {
    if (type_of(ko) != t) continue;
    if (types.size() == 1 && (t == KType::kTask || t == KType::kThread) && is_corpse_object(ko)) return std::nullopt;
    return ko.id;
  }
  return std::nullopt;
}

// The type of object `port` denotes (KType::kNone if none).
inline KType type_of_port(mach_port_t port) { return type_of(runtime().object_of(port)); }

}  // namespace machd::kern
