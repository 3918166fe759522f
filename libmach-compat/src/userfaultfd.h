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

// Makes one: from /dev/userfaultfd when this process may open it, else the
// syscall (full mode when the system allows it, else UFFD_USER_MODE_ONLY),
// non-blocking and close-on-exec, with the features machd asks for
// (MACHD_UFFD_FEATURES) that the kernel has. MACH_COMPAT_NO_USERFAULTFD=1
// in the environment skips it (the task then cannot map memory objects).
TaskUserfaultfd make_task_userfaultfd();

}  // namespace machcompat
