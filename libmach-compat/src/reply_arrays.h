// libmach-compat/src/reply_arrays.h — the arrays a trap returns
// (mach_port_names, mach_port_get_set_status), in the channel or, when
// large, in a memfd machd passes on the socket (machd/daemon/reply_arrays.h
// gives the wire form).
#pragma once

#include <mach/mach.h>

#include <cstddef>
#include <span>

#include "connection.h"

namespace machcompat {

// Puts each array of the reply `r` (rets[0] elements of elem_sizes[i] bytes)
// in fresh out-of-line memory the caller vm_deallocates: out[i] (null when
// the count is 0). KERN_FAILURE for a malformed reply,
// KERN_RESOURCE_SHORTAGE when memory or the memfd cannot be had (nothing is
// left allocated then).
kern_return_t take_reply_arrays(const CallResult& r, std::span<const size_t> elem_sizes, std::span<void*> out);

}  // namespace machcompat
