// tests/net/process.h — starting the programs the net tests run: in a
// network namespace or not, with their output where the test wants it,
// dying with the test.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace nettest {

struct Spawn {
  std::vector<std::string> argv;   // argv[0] is the program's path (or a name on PATH)
  std::vector<std::string> env;    // NAME=VALUE added to this process's environment
  std::string netns;               // a namespace of `ip netns` to join first ("" for none)
  int stdin_fd = -1;               // dup'ed onto 0 when >= 0 (else /dev/null)
  int stdout_fd = -1;              // dup'ed onto 1 when >= 0 (else /dev/null)
  int stderr_fd = -1;              // dup'ed onto 2 when >= 0 (else inherited)
};

// Forks and execs `s`; the child gets SIGKILL when this process dies.
// The pid, or -1 (the reason in *why) when fork fails. A child that cannot
// join the namespace exits 125, one that cannot exec 127.
pid_t spawn(const Spawn& s, std::string* why = nullptr);

// Runs `argv` (in `netns` when not empty) to its end, within timeout_ms
// (then killed). Its exit status (128+signal when killed), its output and
// errors in *output when given.
int run(const std::vector<std::string>& argv, std::string* output = nullptr, const std::string& netns = "",
        int timeout_ms = 20000);

// Waits up to timeout_ms for `pid`; its exit status (128+signal), or -1
// when it is still running (it is then left alone).
int wait_for(pid_t pid, int timeout_ms);
// SIGKILL, then waits.
void kill_and_wait(pid_t pid);

// One line from `fd` (without its newline) within timeout_ms; false when
// none came (the file ended or the time ran out).
bool read_line(int fd, std::string* line, int timeout_ms);

}  // namespace nettest
