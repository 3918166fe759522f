// pagers/common/publish.h — how a pager program starts its pager and makes
// the memory object reachable by other tasks: a bootstrap name.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include "mach_pager.hpp"

namespace pagerprog {

// Registers a send right to the pager's object port under `name` with this
// task's bootstrap server (bootstrap_register; the pager keeps the receive
// right, which libpager made).  A client then maps the object with
// bootstrap_look_up + vm_map.  The name goes away by itself when the object
// port dies (the pager is destroyed or the program exits).
// Returns KERN_SUCCESS; BOOTSTRAP_NAME_IN_USE if a live service has the
// name; KERN_INVALID_ARGUMENT if the name is empty or does not fit in a
// name_t; or the error of the call.
kern_return_t publish_object(mach_pager_t* pager, const std::string& name);

// The same for a pager that serves its object port itself: `object` names
// our receive right; a send right is made for the bootstrap server.
kern_return_t publish_port(mach_port_t object, const std::string& name);

// For a program's start: opens the pager with `attributes` (nullptr: the
// default ones), starts its serving thread and publishes the object under
// `name`.  False, having said why on stderr (prefixed with `program`), if
// any step fails.
bool start_and_publish(mach_pager::Pager& pager, const std::string& name, const char* program,
                       const mach_pager_attributes* attributes = nullptr);

// The whole object, for lock requests (the kernel clips a range to the
// pages it holds).
constexpr vm_size_t kWholeObject = vm_size_t(1) << 48;

// The lock_value a program's lock requests pass where they mean "keep each
// page's lock" (VM_PROT_NO_CHANGE, which mach_pager_clean and
// mach_pager_flush send): machd refuses VM_PROT_NO_CHANGE today (the
// request is dropped and never completes), so the programs, whose pages
// carry no lock while they serve, say VM_PROT_NONE, which means the same
// for them.
constexpr vm_prot_t kKeepNoLock = VM_PROT_NONE;

// A lock request's result when nothing may have been to do: libpager says
// KERN_INVALID_ARGUMENT when no kernel holds the object (no task maps it),
// which for a clean or an eviction means done.
inline kern_return_t unmapped_is_done(kern_return_t kr) {
  return kr == KERN_INVALID_ARGUMENT ? KERN_SUCCESS : kr;
}

}  // namespace pagerprog
