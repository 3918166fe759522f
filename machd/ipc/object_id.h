// machd/ipc/object_id.h — the number a port or port set is known by outside
// machd's core (mach_port_space_info's iin_object, machctl, trace records).
//
// The same object gives the same number in every space and for as long as
// it lives, so two ends of a port can be matched; the number is a keyed
// permutation of the object's address, never the address (the key is drawn
// from the process's own randomised layout, so it differs per machd run).
// 0 stands for "no object" (a dead name, a free slot).
#pragma once

#include <cstdint>

namespace machd::ipc {

// The id of the object at `object` (a Port* or PortSet*, or the port_key
// Kernel::port_receiver hands out); 0 for null.
uint32_t object_id(const void* object);

}  // namespace machd::ipc
