// machd/kern/kobject.cc — see kobject.h.
#include "kobject.h"

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

}  // namespace machd::kern
