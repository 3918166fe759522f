// machd/kern/kobject.h — the kinds of kernel object machd serves, and the
// label the IPC core keeps on each object's port (ipc::KObject).
//
// Every kernel object is a port whose receive right machd's kernel task holds
// (XNU's kobjects): a message sent to it is served by the MIG server stubs of
// its subsystems (dispatch.h). An mk_timer port is the exception: its receive
// right belongs to the task that created it, and machd sends to it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ipc/kernel.h"

namespace machd::kern {

enum class KType : uint16_t {
  kNone = 0,
  kTask = ipc::kKObjectTaskType,  // task control port (id: ipc::TaskId)
  kTaskRead,                      // task read port (id: ipc::TaskId)
  kTaskInspect,                   // task inspect port
  kTaskName,                      // task name port
  kThread,                        // thread control port (id: thread id, thread.h)
  kThreadRead,
  kThreadInspect,
  kHost,                          // host name port (id 0)
  kHostPriv,                      // host privileged port (id 0)
  kProcessor,                     // id: CPU number
  kProcessorSet,                  // default processor set (control)
  kProcessorSetName,              // default processor set (name)
  kClock,                         // id: clock id (SYSTEM_CLOCK, CALENDAR_CLOCK)
  kClockCtrl,
  kTimer,                         // mk_timer (id: timer id)
  kSemaphore,                     // id: semaphore id
  kLockSet,
  kMemoryEntry,                   // named memory entry (vm/)
  kMemoryObjectControl,
  kVoucher,
  kIdentityToken,
  kTaskResumeToken,               // task_suspend2's token (id: token id, thread_server.cc)
  kMemoryObjectName,              // a memory object's name port (vm_region reports it)
  kExceptionReply,                // the reply port of one exception delivery (id: its id)
  kCount
};

inline ipc::KObject make_kobject(KType t, uint64_t id) { return {static_cast<uint16_t>(t), id}; }
inline KType type_of(ipc::KObject ko) {
  return ko.type < static_cast<uint16_t>(KType::kCount) ? static_cast<KType>(ko.type) : KType::kNone;
}

// A short name for logs and introspection ("task", "thread", ...).
const char* type_name(KType t);

// XNU's IKOT_* number of the kind of kernel object (osfmk/kern/ipc_kobject.h),
// as mach_port_kobject reports it: IKOT_TASK_CONTROL (2) for a task port,
// IKOT_NONE (0) for kNone and for machd's own reply ports (an exception's
// reply port is an ordinary port on XNU).
uint32_t ikot_of(KType t);

// mach_port_kobject_description's text for the object labelled `ko`: its
// type_name(), then for a task's ports " pid N" (the process machd knows
// for the task; omitted when none). Writes at most `size` bytes, always
// NUL-terminated. Uses runtime() for the pid.
void describe_kobject(ipc::KObject ko, char* out, size_t size);

}  // namespace machd::kern
