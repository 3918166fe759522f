// libmach-compat/src/pthread_np.cc — pthread_mach_thread_np() and
// pthread_from_mach_thread_np() (<pthread/mach_np.h>).
//
// A thread port is machd's name for a Linux thread (its tid). The pthread
// <-> tid step is asked of the thread itself (agent.h: a queued signal the
// library's handler answers), so any live pthread of the task works.
#include <mach/mach.h>
#include <pthread/mach_np.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "agent.h"
#include "connection.h"

extern "C" {

// Unlike macOS (which keeps one port per pthread and adds no reference),
// each call returns a send right with one more user reference, as
// mach_thread_self(): deallocate it when done to let machd drop the port.
mach_port_t pthread_mach_thread_np(pthread_t thread) {
  const int tid = machcompat::tid_of_pthread(uint64_t(thread));
  if (tid <= 0) return MACH_PORT_NULL;
  machcompat::CallResult r = machcompat::call(MACHD_OP_THREAD_SELF, {uint64_t(tid)});
  if (r.machd_gone || r.result != KERN_SUCCESS) return MACH_PORT_NULL;
  return mach_port_t(r.rets[0]);
}

pthread_t pthread_from_mach_thread_np(mach_port_t thread) {
  thread_identifier_info_data_t id{};
  mach_msg_type_number_t n = THREAD_IDENTIFIER_INFO_COUNT;
  if (thread_info(thread, THREAD_IDENTIFIER_INFO, reinterpret_cast<thread_info_t>(&id), &n) != KERN_SUCCESS)
    return pthread_t{};
  // Only threads of this task: the tid must be one of ours.
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%llu", static_cast<unsigned long long>(id.thread_id));
  if (access(path, F_OK) != 0) return pthread_t{};
  return pthread_t(machcompat::pthread_of_tid(int(id.thread_id)));
}

}  // extern "C"
