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
#include <mutex>
#include <unordered_map>

#include "agent.h"
#include "connection.h"

namespace {
// Ports already handed out per tid: pthread_mach_thread_np adds no
// reference after the first (as macOS keeps one per pthread).
std::mutex g_mu;
std::unordered_map<int, mach_port_t> g_ports;
uint64_t g_gen = 0;
}  // namespace

extern "C" {

mach_port_t pthread_mach_thread_np(pthread_t thread) {
  const int tid = machcompat::tid_of_pthread(uint64_t(thread));
  if (tid <= 0) return MACH_PORT_NULL;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    if (g_gen != machcompat::generation()) {
      g_ports.clear();
      g_gen = machcompat::generation();
    }
    auto it = g_ports.find(tid);
    if (it != g_ports.end()) return it->second;
  }
  machcompat::CallResult r = machcompat::call(MACHD_OP_THREAD_SELF, {uint64_t(tid)});
  if (r.machd_gone || r.result != KERN_SUCCESS || r.rets[0] == 0) return MACH_PORT_NULL;
  const mach_port_t port = mach_port_t(r.rets[0]);
  std::lock_guard<std::mutex> lk(g_mu);
  auto [it, fresh] = g_ports.emplace(tid, port);
  if (!fresh) mach_port_deallocate(mach_task_self(), port);  // another caller won the race
  return it->second;
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
