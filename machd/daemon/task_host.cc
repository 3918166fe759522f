// machd/daemon/task_host.cc — see task_host.h.
#include "task_host.h"

#include <poll.h>

namespace machd {

void TaskDirectory::add(ipc::TaskId task, pid_t pid, int pidfd) {
  by_task_[task] = Entry{pid, pidfd};
  by_pid_[pid] = task;  // a process that exec'd reconnects: the newest task wins
}

void TaskDirectory::remove(ipc::TaskId task) {
  auto it = by_task_.find(task);
  if (it == by_task_.end()) return;
  auto p = by_pid_.find(it->second.pid);
  if (p != by_pid_.end() && p->second == task) by_pid_.erase(p);
  by_task_.erase(it);
}

pid_t TaskDirectory::pid_of(ipc::TaskId task) const {
  auto it = by_task_.find(task);
  return it == by_task_.end() ? 0 : it->second.pid;
}

int TaskDirectory::pidfd_of(ipc::TaskId task) const {
  auto it = by_task_.find(task);
  return it == by_task_.end() ? -1 : it->second.pidfd;
}

ipc::TaskId TaskDirectory::task_of_pid(pid_t pid) const {
  auto it = by_pid_.find(pid);
  return it == by_pid_.end() ? ipc::kNoTask : it->second;
}

std::vector<ipc::TaskId> TaskDirectory::tasks() const {
  std::vector<ipc::TaskId> out;
  out.reserve(by_task_.size());
  for (const auto& [t, e] : by_task_) out.push_back(t);
  return out;
}

uint64_t TaskDirectory::watch_fd(int fd, std::function<void()> on_readable) {
  if (!loop_ || fd < 0) return 0;
  return loop_->poll_multishot(fd, POLLIN, [cb = std::move(on_readable)](int res, bool) {
    if (res >= 0) cb();
  });
}

void TaskDirectory::unwatch_fd(uint64_t token) {
  if (loop_ && token) loop_->cancel(token);
}

}  // namespace machd
