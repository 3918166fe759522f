// machd/daemon/task_host.h — which process is which task: the daemon's
// answers to kern::TaskHost, kept as sessions come and go.
#pragma once

#include <unordered_map>

#include "event_loop.h"
#include "kern/runtime.h"

namespace machd {

class TaskDirectory final : public kern::TaskHost {
 public:
  // A task connected (its process `pid`, whose pidfd the session owns).
  void add(ipc::TaskId task, pid_t pid, int pidfd);
  // The task is gone.
  void remove(ipc::TaskId task);

  pid_t pid_of(ipc::TaskId task) const override;
  int pidfd_of(ipc::TaskId task) const override;
  ipc::TaskId task_of_pid(pid_t pid) const override;
  std::vector<ipc::TaskId> tasks() const override;
  // Through `loop` (set_loop before any kernel object asks).
  void set_loop(EventLoop* loop) { loop_ = loop; }
  uint64_t watch_fd(int fd, std::function<void()> on_readable) override;
  void unwatch_fd(uint64_t token) override;
  bool add_process(ipc::TaskId task, pid_t pid, int pidfd) override {
    add(task, pid, pidfd);
    return true;
  }
  void remove_process(ipc::TaskId task) override { remove(task); }

 private:
  struct Entry {
    pid_t pid;
    int pidfd;
  };
  std::unordered_map<ipc::TaskId, Entry> by_task_;
  std::unordered_map<pid_t, ipc::TaskId> by_pid_;
  EventLoop* loop_ = nullptr;
};

}  // namespace machd
