// machd/kern/corpse_info_server.cc — task_map_corpse_info and
// task_map_corpse_info_64 (task.defs): a corpse's crash information
// (corpse_info.h) mapped into a task.
//
// As XNU's: `task` must be a live task's control port and `corspe_task` a
// corpse (else KERN_INVALID_ARGUMENT); the buffer is always
// CORPSEINFO_ALLOCATION_SIZE (48 KiB) and is the task's own copy. machd puts
// the buffer in a memfd and has the task's in-task agent map it privately
// (read and write), then answers from the agent's completion; a task that
// is gone or whose agent does not answer gets KERN_INVALID_TASK, a map that
// fails KERN_NO_SPACE.
#include <mach/mach_types.h>
#include <mach/mig_errors.h>
#include <sys/mman.h>
#include <unistd.h>

#include <functional>
#include <optional>

#include "agent.h"
#include "corpse.h"
#include "corpse_info.h"
#include "runtime.h"
#include "task.h"

extern "C" {
#include "taskServer.h"
}

namespace {

using machd::kern::runtime;

// Maps `facts`' buffer into task `t` and answers through `answer(address,
// size)` once the agent did; MIG_NO_REPLY, or an error to answer at once.
kern_return_t map_into(machd::ipc::TaskId t, const machd::kern::CorpseFacts& facts,
                       std::function<void(const machd::kern::DeferredReply&, uint64_t)> answer) {
  const std::vector<uint8_t> blob = machd::kern::corpse_info(facts);
  const int fd = memfd_create("mach-corpse-info", MFD_CLOEXEC);
  if (fd < 0) return KERN_RESOURCE_SHORTAGE;
  if (write(fd, blob.data(), blob.size()) != ssize_t(blob.size())) {
    close(fd);
    return KERN_RESOURCE_SHORTAGE;
  }
  const machd::kern::DeferredReply d = runtime().defer();
  machd::kern::agent().request(
      t, machd::kern::mmap_call(0, blob.size(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0),
      [d, answer](const machd::kern::AgentResult& r) {
        kern_return_t kr = r.result;
        if (kr == KERN_TERMINATED || kr == KERN_OPERATION_TIMED_OUT) kr = KERN_INVALID_TASK;
        if (kr != KERN_SUCCESS) return runtime().send_error_reply(d, kr == KERN_INVALID_TASK ? kr : KERN_NO_SPACE);
        answer(d, r.rets[0]);
      });
  close(fd);  // the agent was sent its own copy
  return MIG_NO_REPLY;
}

// The facts of corpse `corpse` (its read port or better), or nullptr.
const machd::kern::CorpseFacts* facts_of(task_read_t corpse) {
  auto c = machd::kern::tasks().translate(corpse, machd::kern::TaskFlavor::kRead);
  const machd::kern::Corpses* keeper = machd::kern::corpses_if_any();
  return c && keeper ? keeper->facts_of(*c) : nullptr;
}

// What the routine returns once map_into() said `kr`: the request's right
// to the corpse is the routine's to release when it answers later (an
// error reply releases it with the request).
kern_return_t answer_later(mach_port_t corpse, kern_return_t kr) {
  if (kr == MIG_NO_REPLY) runtime().release_send(corpse);
  return kr;
}

// A live task's control port (a corpse's is refused, as XNU refuses it).
std::optional<machd::ipc::TaskId> live_task(task_t task) {
  return machd::kern::tasks().translate(task, machd::kern::TaskFlavor::kControl);
}

// Both routines: the checks, the map, and the answer through `answer`.
kern_return_t map_corpse_info(task_t task, task_read_t corpse,
                              std::function<void(const machd::kern::DeferredReply&, uint64_t)> answer) {
  const auto t = live_task(task);
  const machd::kern::CorpseFacts* facts = facts_of(corpse);
  if (!t || facts == nullptr) return KERN_INVALID_ARGUMENT;
  return answer_later(corpse, map_into(*t, *facts, std::move(answer)));
}

// The reply of either routine (they differ in the widths of the address
// and size): the buffer at `address`, kCorpseInfoSize bytes.
template <typename Reply>
void send_mapped(const machd::kern::DeferredReply& d, uint64_t address) {
  Reply rep{};
  rep.NDR = NDR_record;
  rep.RetCode = KERN_SUCCESS;
  rep.kcd_addr_begin = decltype(rep.kcd_addr_begin)(address);
  rep.kcd_size = decltype(rep.kcd_size)(machd::kern::kCorpseInfoSize);
  runtime().send_reply(d, &rep, sizeof rep);
}

}  // namespace

extern "C" {

kern_return_t task_map_corpse_info_64(task_t task, task_read_t corspe_task, mach_vm_address_t* kcd_addr_begin,
                                      mach_vm_size_t* kcd_size) {
  (void)kcd_addr_begin, (void)kcd_size;  // answered from the agent's completion
  return map_corpse_info(task, corspe_task, send_mapped<__Reply__task_map_corpse_info_64_t>);
}

kern_return_t task_map_corpse_info(task_t task, task_read_t corspe_task, vm_address_t* kcd_addr_begin,
                                   uint32_t* kcd_size) {
  (void)kcd_addr_begin, (void)kcd_size;
  return map_corpse_info(task, corspe_task, send_mapped<__Reply__task_map_corpse_info_t>);
}

}  // extern "C"
