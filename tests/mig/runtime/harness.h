// tests/mig/runtime/harness.h — what main.cc sets up for the runtime tests:
// a private machd, and the rtproof server running in a forked task.
#pragma once

#include <gtest/gtest.h>
#include <mach/mach.h>
#include <machd/machd_debug.h>
#include <sys/types.h>

#include <ostream>
#include <string>
#include <vector>

namespace rt {

// Runs the rtproof server on `port` in the forked server task until quit;
// returns its exit code (0: clean). Each test program links one server.
int serve(mach_port_t port);

// A send right to the server's port (looked up through the bootstrap).
mach_port_t server_port();
// The server task's pid.
pid_t server_pid();

// machd's holdings that must return to a baseline when nothing leaks.
struct Holdings {
  uint64_t ports, messages, ool_payloads, memfd_payloads;
  bool operator==(const Holdings&) const = default;
};
Holdings holdings();
// Polls (up to 3 s) until machd's holdings equal `want`; returns the last.
Holdings settle_to(const Holdings& want);
std::string to_string(const Holdings& h);

// A task's names, as mach_port_names gives them.
struct Name {
  mach_port_name_t name;
  mach_port_type_t type;
  bool operator==(const Name&) const = default;
  bool operator<(const Name& o) const { return name < o.name; }
};
// This task's names.
std::vector<Name> own_names();
// The server's names via the census routine, without its send-once rights
// (the reply right of the census request itself is one of them); the number
// of send-once rights it held goes to *send_once.
std::vector<Name> server_names(int* send_once = nullptr);
std::string to_string(const std::vector<Name>& names);

// The rights this task holds under `name` (0 if none).
inline mach_port_type_t type_of(mach_port_t name) {
  mach_port_type_t t = 0;
  if (mach_port_type(mach_task_self(), name, &t) != KERN_SUCCESS) return 0;
  return t;
}
// A receive right with a send right under the same name.
mach_port_t make_port();
// Receives one message on `port` (timeout in ms); returns its msgh_id, or
// -1 on timeout/error. The message is destroyed.
int receive_id(mach_port_t port, int timeout_ms = 2000);
// Requests a no-senders notification for `port`, delivered to `port` itself.
kern_return_t request_no_senders(mach_port_t port);

// Pages of this task's own: vm_allocate'd and filled with a pattern.
vm_address_t alloc_pattern(size_t len, unsigned seed);

void PrintTo(const Holdings& h, std::ostream* os);
void PrintTo(const Name& n, std::ostream* os);

// The fixture of tests that check nothing leaks: SetUp takes a baseline of
// machd's holdings, the server's names and this task's names;
// ExpectNothingLeaked (called at the end of the test, after releasing what
// the test made) checks all three are back to it.
class NoLeak : public ::testing::Test {
 protected:
  void SetUp() override;
  void ExpectNothingLeaked();

 private:
  Holdings before_{};
  std::vector<Name> server_before_, own_before_;
  int server_once_before_ = 0;
};

}  // namespace rt
