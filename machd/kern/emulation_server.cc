// machd/kern/emulation_server.cc — Mach 3's emulation calls on a task's
// control port (emulation.h): task_set_emulation, task_get/set_emulation_vector
// (task.defs at XNU's ids 3424-3426 and mach.defs at GNU Mach's 2070,
// 2009-2010: one routine serves both), and machd's task_set/get_emulation_server
// (task_emulation.defs). The setters answer once the task's agent installed
// the change.
#include <mach/mig_errors.h>

#include "daemon/kernel_servers.h"
#include "emulation.h"
#include "runtime.h"
#include "task.h"

extern "C" {
#include "taskServer.h"
#include "task_emulationServer.h"
}

using machd::ipc::TaskId;
using machd::kern::emulations;
using machd::kern::runtime;
using machd::kern::TaskFlavor;
using machd::kern::tasks;

namespace {

// The reply of a setter, once the agent answered (a task gone: as a dead
// task port, KERN_INVALID_ARGUMENT; an agent that does not answer: KERN_FAILURE).
kern_return_t answer_later(const std::function<kern_return_t(machd::kern::Emulations::Done)>& start) {
  machd::kern::DeferredReply d = runtime().defer();
  kern_return_t kr = start([d](kern_return_t r) {
    if (r == KERN_TERMINATED) r = KERN_INVALID_ARGUMENT;
    if (r == KERN_OPERATION_TIMED_OUT) r = KERN_FAILURE;
    runtime().send_error_reply(d, r);  // RetCode only
  });
  if (kr != KERN_SUCCESS) runtime().send_error_reply(d, kr);
  return MIG_NO_REPLY;
}

kern_return_t set_vector(mach_port_t task, int start, const uint64_t* entries, size_t n) {
  std::optional<TaskId> t = tasks().translate(task, TaskFlavor::kControl);
  if (!t) return KERN_INVALID_ARGUMENT;
  if (n == 0) return start >= 0 && start <= machd::kern::Emulations::kVectorSize ? KERN_SUCCESS : KERN_INVALID_ARGUMENT;
  return answer_later([&](machd::kern::Emulations::Done done) {
    return emulations().set_vector(*t, start, entries, n, std::move(done));
  });
}

}  // namespace

extern "C" {

kern_return_t task_set_emulation(task_t target_port, vm_address_t routine_entry_pt, int routine_number) {
  const uint64_t entry = routine_entry_pt;
  return set_vector(target_port, routine_number, &entry, 1);
}

kern_return_t task_set_emulation_vector(task_t task, int vector_start, emulation_vector_t emulation_vector,
                                        mach_msg_type_number_t emulation_vectorCnt) {
  if (emulation_vectorCnt != 0 && emulation_vector == nullptr) return KERN_INVALID_ARGUMENT;
  return set_vector(task, vector_start, reinterpret_cast<const uint64_t*>(emulation_vector), emulation_vectorCnt);
}

kern_return_t task_get_emulation_vector(task_t task, int* vector_start, emulation_vector_t* emulation_vector,
                                        mach_msg_type_number_t* emulation_vectorCnt) {
  *vector_start = 0;
  *emulation_vector = nullptr;
  *emulation_vectorCnt = 0;
  std::optional<TaskId> t = tasks().translate(task, TaskFlavor::kControl);
  if (!t) return KERN_INVALID_ARGUMENT;
  int start = 0;
  std::vector<uint64_t> v = emulations().vector(*t, &start);
  if (v.empty()) return KERN_SUCCESS;
  auto* out = static_cast<uint64_t*>(machd::reply_alloc(v.size() * sizeof(uint64_t)));
  if (out == nullptr) return KERN_RESOURCE_SHORTAGE;
  std::copy(v.begin(), v.end(), out);
  *vector_start = start;
  *emulation_vector = reinterpret_cast<emulation_vector_t>(out);
  *emulation_vectorCnt = mach_msg_type_number_t(v.size());
  return KERN_SUCCESS;
}

kern_return_t task_set_emulation_server(task_t task, mach_port_t server) {
  std::optional<TaskId> t = tasks().translate(task, TaskFlavor::kControl);
  if (!t) return KERN_INVALID_ARGUMENT;  // the error reply releases `server`
  return answer_later([&](machd::kern::Emulations::Done done) {
    emulations().set_server(*t, server, std::move(done));
    return KERN_SUCCESS;
  });
}

kern_return_t task_get_emulation_server(task_t task, mach_port_t* server) {
  *server = MACH_PORT_NULL;
  std::optional<TaskId> t = tasks().translate(task, TaskFlavor::kControl);
  if (!t) return KERN_INVALID_ARGUMENT;
  const mach_port_name_t s = emulations().server(*t);
  *server = MACH_PORT_VALID(s) ? runtime().release_after_reply(s) : s;
  return KERN_SUCCESS;
}

}  // extern "C"
