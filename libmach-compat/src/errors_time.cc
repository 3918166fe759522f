// libmach-compat/src/errors_time.cc — mach_error_string and mach time.
#include <mach/mach.h>
#include <mach/mach_error.h>
#include <mach/mach_time.h>
#include <mach/mig_errors.h>
#include <time.h>

#include <cerrno>
#include <cstdio>

extern "C" {

static const char* error_text(mach_error_t e) {
  switch (e) {
    case KERN_SUCCESS: return "(os/kern) successful";
    case KERN_INVALID_ADDRESS: return "(os/kern) invalid address";
    case KERN_PROTECTION_FAILURE: return "(os/kern) protection failure";
    case KERN_NO_SPACE: return "(os/kern) no space available";
    case KERN_INVALID_ARGUMENT: return "(os/kern) invalid argument";
    case KERN_FAILURE: return "(os/kern) failure";
    case KERN_RESOURCE_SHORTAGE: return "(os/kern) resource shortage";
    case KERN_NOT_RECEIVER: return "(os/kern) not receiver";
    case KERN_NO_ACCESS: return "(os/kern) no access";
    case KERN_MEMORY_FAILURE: return "(os/kern) memory failure";
    case KERN_MEMORY_ERROR: return "(os/kern) memory error";
    case KERN_INVALID_NAME: return "(os/kern) invalid name";
    case KERN_INVALID_TASK: return "(os/kern) invalid task";
    case KERN_INVALID_RIGHT: return "(os/kern) invalid right";
    case KERN_INVALID_VALUE: return "(os/kern) invalid value";
    case KERN_UREFS_OVERFLOW: return "(os/kern) urefs overflow";
    case KERN_INVALID_CAPABILITY: return "(os/kern) invalid capability";
    case KERN_RIGHT_EXISTS: return "(os/kern) right exists";
    case KERN_NAME_EXISTS: return "(os/kern) name exists";
    case KERN_ABORTED: return "(os/kern) aborted";
    case KERN_NOT_SUPPORTED: return "(os/kern) operation not supported";
    case KERN_OPERATION_TIMED_OUT: return "(os/kern) operation timed out";
    case MACH_SEND_INVALID_DATA: return "(ipc/send) invalid data";
    case MACH_SEND_INVALID_DEST: return "(ipc/send) invalid destination port";
    case MACH_SEND_TIMED_OUT: return "(ipc/send) timed out";
    case MACH_SEND_INTERRUPTED: return "(ipc/send) interrupted";
    case MACH_SEND_MSG_TOO_SMALL: return "(ipc/send) message size changed while being copied";
    case MACH_SEND_INVALID_REPLY: return "(ipc/send) invalid reply port";
    case MACH_SEND_INVALID_RIGHT: return "(ipc/send) invalid port right";
    case MACH_SEND_INVALID_NOTIFY: return "(ipc/send) invalid notify port";
    case MACH_SEND_INVALID_MEMORY: return "(ipc/send) invalid memory";
    case MACH_SEND_NO_BUFFER: return "(ipc/send) no space for message";
    case MACH_SEND_TOO_LARGE: return "(ipc/send) message too large";
    case MACH_SEND_INVALID_TYPE: return "(ipc/send) invalid msg-type";
    case MACH_SEND_INVALID_HEADER: return "(ipc/send) invalid header";
    case MACH_SEND_INVALID_TRAILER: return "(ipc/send) invalid trailer";
    case MACH_SEND_INVALID_OPTIONS: return "(ipc/send) invalid options";
    case MACH_RCV_INVALID_NAME: return "(ipc/rcv) invalid name";
    case MACH_RCV_TIMED_OUT: return "(ipc/rcv) timed out";
    case MACH_RCV_TOO_LARGE: return "(ipc/rcv) message too large";
    case MACH_RCV_INTERRUPTED: return "(ipc/rcv) interrupted";
    case MACH_RCV_PORT_CHANGED: return "(ipc/rcv) port moved into set";
    case MACH_RCV_INVALID_NOTIFY: return "(ipc/rcv) invalid notify port";
    case MACH_RCV_INVALID_DATA: return "(ipc/rcv) invalid message buffer";
    case MACH_RCV_PORT_DIED: return "(ipc/rcv) port has been destroyed";
    case MACH_RCV_HEADER_ERROR: return "(ipc/rcv) header error";
    case MACH_RCV_BODY_ERROR: return "(ipc/rcv) body error";
    case MACH_RCV_INVALID_TYPE: return "(ipc/rcv) invalid msg-type";
    case MACH_RCV_INVALID_TRAILER: return "(ipc/rcv) invalid trailer";
    case MIG_TYPE_ERROR: return "(ipc/mig) type check failure in message interface";
    case MIG_REPLY_MISMATCH: return "(ipc/mig) wrong return message ID";
    case MIG_REMOTE_ERROR: return "(ipc/mig) server detected error";
    case MIG_BAD_ID: return "(ipc/mig) bad request message ID";
    case MIG_BAD_ARGUMENTS: return "(ipc/mig) server found wrong arguments";
    case MIG_NO_REPLY: return "(ipc/mig) no reply should be sent";
    case MIG_EXCEPTION: return "(ipc/mig) server raised exception";
    case MIG_ARRAY_TOO_LARGE: return "(ipc/mig) user specified array not large enough for return info";
    case MIG_SERVER_DIED: return "(ipc/mig) server died";
    case MIG_TRAILER_ERROR: return "(ipc/mig) trailer has an unknown format";
    default: return "unknown error code";
  }
}

char* mach_error_string(mach_error_t e) { return const_cast<char*>(error_text(e)); }

void mach_error(const char* str, mach_error_t error_value) {
  fprintf(stderr, "%s %s (0x%x)\n", str ? str : "", mach_error_string(error_value), unsigned(error_value));
}

static uint64_t ns_of(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Mach absolute time is nanoseconds of CLOCK_MONOTONIC (timebase 1/1).
uint64_t mach_absolute_time(void) { return ns_of(CLOCK_MONOTONIC); }
uint64_t mach_approximate_time(void) { return ns_of(CLOCK_MONOTONIC_COARSE); }
uint64_t mach_continuous_time(void) { return ns_of(CLOCK_BOOTTIME); }

kern_return_t mach_timebase_info(mach_timebase_info_t info) {
  if (info == nullptr) return KERN_INVALID_ARGUMENT;
  info->numer = 1;
  info->denom = 1;
  return KERN_SUCCESS;
}

kern_return_t mach_wait_until(uint64_t deadline) {
  timespec ts;
  ts.tv_sec = time_t(deadline / 1000000000ull);
  ts.tv_nsec = long(deadline % 1000000000ull);
  int r;
  while ((r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr)) == EINTR) {
  }
  return r == 0 ? KERN_SUCCESS : KERN_FAILURE;
}

}  // extern "C"
