// machd/kern/emulation.h — each task's system call redirection (Mach 3's
// emulation vector; <mach/emulation.h> says what it means on Linux) as
// machd records it. The task's in-task agent (libmach-compat) holds the
// working copy: after each change machd asks it (MACHD_AGENT_EMULATION) to
// fetch the vector and the server port again (task_get_emulation_vector,
// task_get_emulation_server) and to install them before the caller's reply.
//
// Contract
//   The vector maps Linux x86_64 system call numbers [0, kVectorSize) to
//   EML_ROUTINE_NULL (0: not redirected), EML_ROUTINE_SERVER (1: to the
//   task's emulation server) or the address of a routine in the task
//   (>= one page, below the top of user space). rt_sigreturn,
//   rt_sigprocmask, sigaltstack, clone, clone3 and vfork cannot be
//   redirected (the SIGSYS handler the redirection runs in could not run
//   them for the thread).
//   set_vector / set_server: change the record and answer `done` once the
//   task's agent installed it: KERN_SUCCESS, or the agent's error (the
//   record is then put back as it was), KERN_TERMINATED if the task goes.
//   The server is a kernel-task send right, owned by the record.
//   Fork: a child asks inherit(child, parent pid) before fork() returns in
//   it and gets a copy of its parent's record (a copied send right).
//   Exec: the process keeps its seccomp filter across execve, and machd
//   keeps the redirections to the server of a task that ends while its
//   process lives on (it exec'd), until the process exits, at most
//   KeptAcrossExec::kGraceNs; the new image's library asks inherit(task,
//   its own pid) and gets them (routines are gone with the old image's
//   memory: their calls become native again).
#pragma once

#include <mach/kern_return.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <vector>

#include "ipc/kernel.h"
#include "kept_across_exec.h"
#include "runtime.h"

namespace machd::kern {

class Emulations final : public TaskObserver {
 public:
  static constexpr int kVectorSize = 512;
  static constexpr uint64_t kRoutineNull = 0, kRoutineServer = 1;
  using Done = std::function<void(kern_return_t)>;

  Emulations();
  ~Emulations() override;
  Emulations(const Emulations&) = delete;
  Emulations& operator=(const Emulations&) = delete;

  // Whether `entry` may be set for system call `number` (KERN_SUCCESS or
  // KERN_INVALID_ARGUMENT).
  static kern_return_t check_entry(int number, uint64_t entry);

  // Sets entries start .. start + n - 1 (checked first: nothing changes on
  // KERN_INVALID_ARGUMENT, returned at once); `done` is called later, as
  // the contract says. Returns KERN_SUCCESS when `done` will be called.
  kern_return_t set_vector(ipc::TaskId task, int start, const uint64_t* entries, size_t n, Done done);
  // The smallest range holding every redirected call: *start and the
  // entries (empty: none).
  std::vector<uint64_t> vector(ipc::TaskId task, int* start) const;

  // The task's server becomes `server` (a kernel-task send right, consumed;
  // MACH_PORT_NULL: none); `done` as for set_vector.
  void set_server(ipc::TaskId task, mach_port_name_t server, Done done);
  // A new kernel-task send right to the task's server (MACH_PORT_NULL if
  // none).
  mach_port_name_t server(ipc::TaskId task) const;

  // Fork and exec (see the contract). *count: entries adopted. Refused
  // (KERN_INVALID_ARGUMENT) when `pid` is neither the task's parent nor
  // its own process.
  kern_return_t inherit(ipc::TaskId task, pid_t pid, uint64_t* count);

  void task_terminating(ipc::TaskId task) override;

 private:
  struct Record {
    std::map<int, uint64_t> entries;  // number -> routine (never kRoutineNull)
    mach_port_name_t server = MACH_PORT_NULL;
  };
  void install(ipc::TaskId task, Done done);
  void drop_expired();
  static void release_record(Record& r);

  std::unordered_map<ipc::TaskId, Record> records_;
  KeptAcrossExec<Record> kept_{[](Record& r) { release_record(r); }};  // what an exec'd process gets back
};

// The emulations of this machd (set by its constructor).
Emulations& emulations();

}  // namespace machd::kern
