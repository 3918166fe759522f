// machd/kern/semaphore.h — Mach semaphores (XNU osfmk/kern/sync_sema.c):
// a semaphore is a kernel object port machd holds the receive right of;
// semaphore_create gives the creating task a send right, and a send right
// sent in a message carries the semaphore.
//
// The count is not kept here: it lives in a one-page memfd per semaphore
// (struct machd_semaphore_word, machd_abi.h) that every task holding a send
// right may map (MACHD_OP_SEMAPHORE_PAGE). signal and wait are atomic
// operations and futex calls on that word in the tasks themselves
// (libmach-compat/src/semaphore.cc): machd takes no part in them. machd
// creates, destroys (sets the word's destroyed bit and wakes every waiter)
// and hands out the page; it signals on the word only for the MIG routines
// of semaphore.defs (the waiting ones are not provided: they would block
// machd). machd relies on nothing it reads there (its loops are bounded), so
// a task that writes garbage into the word breaks only the semaphores it
// holds.
//
// A semaphore belongs to the task that created it: only that task destroys
// it (another task: KERN_INVALID_ARGUMENT, as XNU), and it is destroyed
// when that task goes. Each costs machd an fd and a page, so a task owns at
// most kMaxPerTask at once (then KERN_RESOURCE_SHORTAGE): a task creating
// semaphores without end exhausts only its own allowance.
#pragma once

#include <mach/port.h>

#include <cstdint>
#include <unordered_map>

#include "runtime.h"

struct machd_semaphore_word;

namespace machd::kern {

class Semaphores final : public TaskObserver {
 public:
  static constexpr uint32_t kMaxPerTask = 4096;

  Semaphores();
  ~Semaphores() override;
  Semaphores(const Semaphores&) = delete;
  Semaphores& operator=(const Semaphores&) = delete;

  // A new semaphore owned by `owner` holding `value` units; its port's
  // kernel-task name in *port. KERN_INVALID_ARGUMENT for a bad policy or a
  // negative value; KERN_RESOURCE_SHORTAGE when no memfd/port can be had.
  kern_return_t create(ipc::TaskId owner, int policy, int value, mach_port_name_t* port);
  // Destroys semaphore `id` on behalf of `task` (must be its owner).
  kern_return_t destroy(ipc::TaskId task, uint64_t id);
  // The page of the semaphore that `name` (a right in `task`'s space)
  // denotes: a memfd machd keeps owning (the caller sends it, no close).
  kern_return_t page(ipc::TaskId task, mach_port_name_t name, int* fd, uint64_t* id) const;

  // The mapped word of semaphore `id` in machd (null: no such semaphore).
  machd_semaphore_word* word(uint64_t id) const;

  size_t live() const { return sems_.size(); }

  void task_terminating(ipc::TaskId task) override;

 private:
  struct Sem {
    ipc::TaskId owner;
    mach_port_name_t port;
    int fd;
    machd_semaphore_word* word;
  };
  void kill(Sem& s);

  std::unordered_map<uint64_t, Sem> sems_;
  std::unordered_map<ipc::TaskId, uint32_t> owned_;  // semaphores per owner
  uint64_t next_id_ = 1;
};

// The semaphores of this machd (set by the constructor).
Semaphores& semaphores();

}  // namespace machd::kern
