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

// The id of the object `port` denotes if its type is one of `types`.
inline std::optional<uint64_t> translate(mach_port_t port, std::initializer_list<KType> types) {
  ipc::KObject ko = runtime().object_of(port);
  for (KType t : types)
    if (type_of(ko) == t) return ko.id;
  return std::nullopt;
}

// The type of object `port` denotes (KType::kNone if none).
inline KType type_of_port(mach_port_t port) { return type_of(runtime().object_of(port)); }

}  // namespace machd::kern
