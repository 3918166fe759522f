// pagers/pager-test/pager_process.h — the pager under test, as a process.
//
// Contract
//   start(): forks and runs argv (PATH searched) in a process group of its
//     own, with MACH_PAGER_NAME, MACH_PAGER_SEED and MACH_PAGER_SIZE set
//     (mach_pager_test.h); MACHD_SOCKET is inherited, and its stdout is the
//     kit's stderr. False (with *why) if it cannot fork.
//   wait_published(): a send right to the port the pager published under
//     its name (bootstrap_look_up, tried every 10 ms), or MACH_PORT_NULL
//     with *why if the pager exited first or the time passed.
//   exited(): true once the process is gone (reaped); exit_text() says how.
//   kill_now(): SIGKILL to its process group (the pager and what it
//     started); stop(): SIGTERM, then SIGKILL after 2 s; both reap it.
#pragma once

#include <mach/mach.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pagerkit {

class PagerProcess {
 public:
  PagerProcess() = default;
  ~PagerProcess() { stop(); }
  PagerProcess(const PagerProcess&) = delete;
  PagerProcess& operator=(const PagerProcess&) = delete;

  bool start(const std::vector<std::string>& argv, const std::string& name, uint64_t seed, uint64_t size,
             std::string* why);
  mach_port_t wait_published(double timeout_s, std::string* why);
  bool exited();
  std::string exit_text() const;
  void kill_now();
  void stop();
  const std::string& name() const { return name_; }

 private:
  void reap(int options);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string name_;
};

}  // namespace pagerkit
