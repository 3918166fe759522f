// machd/kern/kobject.cc — see kobject.h.
#include "kobject.h"

#include <cstdio>

#include "runtime.h"

namespace machd::kern {

const char* type_name(KType t) {
  switch (t) {
    case KType::kNone: return "none";
    case KType::kTask: return "task";
    case KType::kTaskRead: return "task-read";
    case KType::kTaskInspect: return "task-inspect";
    case KType::kTaskName: return "task-name";
    case KType::kThread: return "thread";
    case KType::kThreadRead: return "thread-read";
    case KType::kThreadInspect: return "thread-inspect";
    case KType::kHost: return "host";
    case KType::kHostPriv: return "host-priv";
    case KType::kProcessor: return "processor";
    case KType::kProcessorSet: return "processor-set";
    case KType::kProcessorSetName: return "processor-set-name";
    case KType::kClock: return "clock";
    case KType::kClockCtrl: return "clock-ctrl";
    case KType::kTimer: return "mk-timer";
    case KType::kSemaphore: return "semaphore";
    case KType::kLockSet: return "lock-set";
    case KType::kMemoryEntry: return "memory-entry";
    case KType::kMemoryObjectControl: return "memory-object-control";
    case KType::kMemoryObjectName: return "memory-object-name";
    case KType::kExceptionReply: return "exception-reply";
    case KType::kVoucher: return "voucher";
    case KType::kIdentityToken: return "identity-token";
    case KType::kTaskResumeToken: return "task-resume-token";
    case KType::kCount: break;
  }
  return "unknown";
}

uint32_t ikot_of(KType t) {
  // The numbers are XNU's ABI (lsmp and other tools print them).
  switch (t) {
    case KType::kNone: return 0;                   // IKOT_NONE
    case KType::kThread: return 1;                 // IKOT_THREAD_CONTROL
    case KType::kTask: return 2;                   // IKOT_TASK_CONTROL
    case KType::kHost: return 3;                   // IKOT_HOST
    case KType::kHostPriv: return 4;               // IKOT_HOST_PRIV
    case KType::kProcessor: return 5;              // IKOT_PROCESSOR
    case KType::kProcessorSet: return 6;           // IKOT_PSET
    case KType::kProcessorSetName: return 7;       // IKOT_PSET_NAME
    case KType::kTimer: return 8;                  // IKOT_TIMER
    case KType::kMemoryObjectName: return 11;      // IKOT_MEMORY_OBJECT
    case KType::kTaskName: return 20;              // IKOT_TASK_NAME
    case KType::kSemaphore: return 23;             // IKOT_SEMAPHORE
    case KType::kLockSet: return 24;               // IKOT_LOCK_SET (older XNU)
    case KType::kClock: return 25;                 // IKOT_CLOCK
    case KType::kClockCtrl: return 26;             // IKOT_CLOCK_CTRL (older XNU)
    case KType::kMemoryEntry: return 28;           // IKOT_NAMED_ENTRY
    case KType::kMemoryObjectControl: return 32;   // IKOT_MEM_OBJ_CONTROL (older XNU)
    case KType::kTaskResumeToken: return 36;       // IKOT_TASK_RESUME
    case KType::kVoucher: return 37;               // IKOT_VOUCHER
    case KType::kTaskInspect: return 44;           // IKOT_TASK_INSPECT
    case KType::kTaskRead: return 45;              // IKOT_TASK_READ
    case KType::kThreadInspect: return 46;         // IKOT_THREAD_INSPECT
    case KType::kThreadRead: return 47;            // IKOT_THREAD_READ
    case KType::kIdentityToken: return 50;         // IKOT_TASK_ID_TOKEN
    case KType::kExceptionReply: return 0;         // an ordinary port on XNU
    case KType::kCount: break;
  }
  return 0;
}

void describe_kobject(ipc::KObject ko, char* out, size_t size) {
  if (size == 0) return;
  const KType t = type_of(ko);
  pid_t pid = 0;
  switch (t) {
    case KType::kTask:
    case KType::kTaskRead:
    case KType::kTaskInspect:
    case KType::kTaskName:
      pid = runtime().host().pid_of(static_cast<ipc::TaskId>(ko.id));
      break;
    default:
      break;
  }
  if (pid > 0)
    snprintf(out, size, "%s pid %d", type_name(t), static_cast<int>(pid));
  else
    snprintf(out, size, "%s", type_name(t));
}

}  // namespace machd::kern
