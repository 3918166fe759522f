// machd/kern/semaphore.cc — see semaphore.h. Also the task.defs routines
// semaphore_create / semaphore_destroy.
#include "semaphore.h"

#include <mach/sync_policy.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <vector>

#include "machd_abi.h"
#include "machd_semaphore.h"
#include "translate.h"

extern "C" {
#include "semaphoreServer.h"
#include "taskServer.h"
}

namespace machd::kern {

namespace {
Semaphores* g_semaphores = nullptr;

}  // namespace

Semaphores& semaphores() { return *g_semaphores; }

Semaphores::Semaphores() {
  g_semaphores = this;
  runtime().add_observer(this);
}

Semaphores::~Semaphores() {
  runtime().remove_observer(this);
  for (auto& [id, s] : sems_) {
    munmap(s.word, MACHD_SEMAPHORE_PAGE_SIZE);
    close(s.fd);
  }
  if (g_semaphores == this) g_semaphores = nullptr;
}

kern_return_t Semaphores::create(ipc::TaskId owner, int policy, int value, mach_port_name_t* port) {
  if (value < 0 || policy < 0 || policy > SYNC_POLICY_MAX) return KERN_INVALID_ARGUMENT;
  if (auto n = owned_.find(owner); n != owned_.end() && n->second >= kMaxPerTask) return KERN_RESOURCE_SHORTAGE;
  const int fd = int(syscall(SYS_memfd_create, "machd-semaphore", MFD_CLOEXEC));
  if (fd < 0) return KERN_RESOURCE_SHORTAGE;
  void* p = MAP_FAILED;
  if (ftruncate(fd, MACHD_SEMAPHORE_PAGE_SIZE) == 0)
    p = mmap(nullptr, MACHD_SEMAPHORE_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    close(fd);
    return KERN_RESOURCE_SHORTAGE;
  }
  const uint64_t id = next_id_++;
  const mach_port_name_t kname = runtime().create_port(KType::kSemaphore, id);
  if (!MACH_PORT_VALID(kname)) {
    munmap(p, MACHD_SEMAPHORE_PAGE_SIZE);
    close(fd);
    return KERN_RESOURCE_SHORTAGE;
  }
  // The reply copies a send right (task.defs: COPY_SEND): the kernel task keeps one.
  runtime().make_send(runtime().kt(), kname);
  auto* w = static_cast<machd_semaphore_word*>(p);
  w->count = value;
  sems_.emplace(id, Sem{owner, kname, fd, w});
  ++owned_[owner];
  *port = kname;
  return KERN_SUCCESS;
}

void Semaphores::kill(Sem& s) {
  machd_sem_destroy(s.word);
  munmap(s.word, MACHD_SEMAPHORE_PAGE_SIZE);
  close(s.fd);
  runtime().destroy_port(s.port);  // holders' send rights become dead names
}

kern_return_t Semaphores::destroy(ipc::TaskId task, uint64_t id) {
  auto it = sems_.find(id);
  if (it == sems_.end() || it->second.owner != task) return KERN_INVALID_ARGUMENT;
  kill(it->second);
  sems_.erase(it);
  if (--owned_[task] == 0) owned_.erase(task);
  return KERN_SUCCESS;
}

kern_return_t Semaphores::page(ipc::TaskId task, mach_port_name_t name, int* fd, uint64_t* id) const {
  ipc::KObject ko = runtime().kernel().kobject_of(task, name);
  if (type_of(ko) != KType::kSemaphore) return KERN_INVALID_ARGUMENT;
  auto it = sems_.find(ko.id);
  if (it == sems_.end()) return KERN_INVALID_ARGUMENT;
  *fd = it->second.fd;
  *id = ko.id;
  return KERN_SUCCESS;
}

machd_semaphore_word* Semaphores::word(uint64_t id) const {
  auto it = sems_.find(id);
  return it == sems_.end() ? nullptr : it->second.word;
}

void Semaphores::task_terminating(ipc::TaskId task) {
  std::vector<uint64_t> dead;
  for (auto& [id, s] : sems_)
    if (s.owner == task) dead.push_back(id);
  for (uint64_t id : dead) destroy(task, id);
}

}  // namespace machd::kern

using machd::kern::KType;
using machd::kern::translate;

namespace {
// The word of the semaphore `port` denotes (null: not a live semaphore).
machd_semaphore_word* word_of(semaphore_t port) {
  auto s = translate(port, {KType::kSemaphore});
  return s ? machd::kern::semaphores().word(*s) : nullptr;
}
// machd's bound on a CAS loop over a word tasks may be rewriting (machd_semaphore.h).
constexpr uint32_t kTries = 64;
}  // namespace

extern "C" {

// XNU semaphore_create: a null task or a bad policy/value is
// KERN_INVALID_ARGUMENT; the semaphore belongs to `task`.
kern_return_t semaphore_create(task_t task, semaphore_t* semaphore, int policy, int value) {
  auto t = translate(task, {KType::kTask});
  if (!t) return KERN_INVALID_ARGUMENT;
  mach_port_name_t port = MACH_PORT_NULL;
  kern_return_t kr = machd::kern::semaphores().create(machd::ipc::TaskId(*t), policy, value, &port);
  if (kr != KERN_SUCCESS) return kr;
  *semaphore = port;
  return KERN_SUCCESS;
}

// XNU semaphore_destroy: the semaphore must belong to `task`
// (KERN_INVALID_ARGUMENT otherwise); it consumes the caller's send right.
kern_return_t semaphore_destroy(task_t task, semaphore_t semaphore) {
  auto t = translate(task, {KType::kTask});
  auto s = translate(semaphore, {KType::kSemaphore});
  if (!t || !s) return KERN_INVALID_ARGUMENT;
  kern_return_t kr = machd::kern::semaphores().destroy(machd::ipc::TaskId(*t), *s);
  if (kr == KERN_SUCCESS) machd::kern::runtime().release_send(semaphore);
  return kr;
}

// The MIG routines of semaphore.defs on the semaphore port (the library's
// semaphore_signal* are the traps, which do not come here): the signalling
// ones act on the shared word from machd; the waiting ones would block
// machd's thread and are not provided (KERN_NOT_SUPPORTED, generated).
kern_return_t semaphore_signal(semaphore_t semaphore) {
  machd_semaphore_word* w = word_of(semaphore);
  if (!w) return KERN_INVALID_ARGUMENT;
  machd_sem_signal(w);
  return KERN_SUCCESS;
}

kern_return_t semaphore_signal_all(semaphore_t semaphore) {
  machd_semaphore_word* w = word_of(semaphore);
  if (!w) return KERN_INVALID_ARGUMENT;
  machd_sem_signal_all(w, kTries);
  return KERN_SUCCESS;
}

kern_return_t semaphore_signal_thread(semaphore_t semaphore, thread_act_t thread) {
  machd_semaphore_word* w = word_of(semaphore);
  if (!w) return KERN_INVALID_ARGUMENT;
  if (MACH_PORT_VALID(thread)) return KERN_NOT_SUPPORTED;  // a chosen thread: not provided
  return machd_sem_signal_waiter(w, kTries) ? KERN_SUCCESS : KERN_NOT_WAITING;
}

}  // extern "C"
