// libmach-compat/src/userfaultfd.h — the task's userfaultfd, made at connect
// and handed to machd, which routes the task's page faults on memory
// objects to their pagers (machd/vm/fault_router.h).
#pragma once

#include <cstdint>

namespace machcompat {

struct TaskUserfaultfd {
  int fd = -1;                // -1: none (the system refuses userfaultfd)
  uint64_t features = 0;      // what UFFDIO_API granted (UFFD_FEATURE_*)
  bool user_mode_only = true; // faults inside system calls are not routed
};

// Gives /dev/userfaultfd opened by someone who may (machd, when it lends
// it), or -1. Called at most once per make_task_userfaultfd(); the caller
// of make_task_userfaultfd() closes what it gives.
using BorrowUffdDevice = int (*)(void* ctx);

// Makes one, the first way that works: from /dev/userfaultfd when this
// process may open it; the syscall in full mode (when the system allows
// it); from the device `borrow` gives (if given); the syscall with
// UFFD_USER_MODE_ONLY. Non-blocking and close-on-exec, with the features
// machd asks for (MACHD_UFFD_FEATURES) that the kernel has.
// MACH_COMPAT_NO_USERFAULTFD=1 in the environment skips it (the task then
// cannot map memory objects).
TaskUserfaultfd make_task_userfaultfd(BorrowUffdDevice borrow = nullptr, void* ctx = nullptr);

}  // namespace machcompat
