// tests/net/hosts.h — N hosts for the net tests: each a machd of its own
// and a mach-netmsgd attached to it, on loopback (distinct ports) or in
// network namespaces (netns.h); tasks on them (net_task, driven a command
// a line); and the check that a test leaves nothing behind in any
// mach-netmsgd or machd.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "../common/private_machd.h"
#include "netns.h"

namespace nettest {

// A net_task process (net_task.cc) on one host.
class Task {
 public:
  Task(pid_t pid, int to, int from) : pid_(pid), to_(to), from_(from) {}
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  // "quit", then SIGKILL if it has not exited within a second.
  ~Task();

  // Sends one command; its answer ("ok ...", "err ..."), or "no answer"
  // when none came within timeout_ms.
  std::string operator()(const std::string& command, int timeout_ms = 30000);
  // The two halves: a command sent without waiting, and the next answer.
  bool send(const std::string& command);
  std::string answer(int timeout_ms = 30000);
  pid_t pid() const { return pid_; }
  // SIGKILL, then waits.
  void kill();

 private:
  pid_t pid_;
  int to_, from_;
};

// The words of an answer after "ok" ("ok 12 0x3" -> {"12", "0x3"}); empty
// when it is not "ok".
std::vector<std::string> ok_words(const std::string& answer);

struct HostsOptions {
  int hosts = 2;
  bool netns = false;         // else loopback
  unsigned heartbeat = 1;     // mach-netmsgd --heartbeat
  // Wait until every host answers a look-up on every other one (false: a
  // test of hosts that must not connect).
  bool await_connections = true;
  // Arguments added to host i's mach-netmsgd (TLS files, say).
  std::vector<std::vector<std::string>> extra;
};

class Hosts {
 public:
  Hosts() = default;
  Hosts(const Hosts&) = delete;
  Hosts& operator=(const Hosts&) = delete;
  ~Hosts();

  // Starts the hosts: host i is named "h<i>", listens on a port the kernel
  // picks and dials every host before it. Returns once every host answers
  // a look-up on every other one. False with the reason in *why; *skip is
  // set when the reason is the environment (namespaces refused), not them.
  bool start(const HostsOptions& options, std::string* why, bool* skip);

  int size() const { return int(hosts_.size()); }
  std::string name(int i) const { return "h" + std::to_string(i); }
  // Where host i's mach-netmsgd listens (ADDR:PORT).
  const std::string& address(int i) const { return hosts_.at(size_t(i))->address; }
  pid_t netmsgd(int i) const { return hosts_.at(size_t(i))->netmsgd; }
  // Host i's machd socket: MACHD_SOCKET for a program that runs there.
  const std::string& socket(int i) const { return hosts_.at(size_t(i))->machd.socket(); }
  // The line host i's mach-netmsgd printed when it began to serve.
  const std::string& banner(int i) const { return hosts_.at(size_t(i))->banner; }
  Network* network() { return network_.get(); }

  // A new task on host i (kept until the test ends).
  Task& task(int i);
  // SIGKILL to host i's mach-netmsgd (its leak check is then skipped).
  void kill_netmsgd(int i);
  // Starts host i's mach-netmsgd again (after kill_netmsgd), on the
  // address it listened on before; the leak check counts its names from
  // now on.
  bool restart_netmsgd(int i, std::string* why);
  // Host i's mach-netmsgd log so far.
  std::string log(int i) const;

  // Ends every task the test started, then waits (up to 5 s) until every
  // live mach-netmsgd holds the names it held after start, and every
  // machd the ports and messages. "" when they do, else what differs.
  std::string leaks();

 private:
  struct Host {
    testsupport::PrivateMachd machd;
    pid_t netmsgd = -1;
    int stdout_fd = -1;
    std::string log_path;
    std::string address;
    std::string banner;
    std::unique_ptr<Task> probe;  // a task of the host for the leak check
    std::string baseline_names;   // `ports` of its mach-netmsgd after start
    std::string baseline_machd;   // `machd` after start
  };
  bool start_host(int i, std::string* why);
  // Host i's mach-netmsgd, listening on `listen` (ADDR:PORT, port 0: any).
  bool start_netmsgd(int i, const std::string& listen, std::string* why);
  std::unique_ptr<Task> new_task(int i);

  HostsOptions options_;
  std::unique_ptr<Network> network_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::pair<int, std::unique_ptr<Task>>> tasks_;
  std::string dir_;
};

}  // namespace nettest
