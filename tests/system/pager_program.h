// tests/system/pager_program.h — a pager program (pagers/file-pager,
// pagers/compress-pager), or another server program that announces itself
// with a " serving " line (the example personality servers), run as a
// separate process for a test: started with posix_spawn against the test's
// machd, its standard output read line by line, signalled, and reaped.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace systest {

class PagerProgram {
 public:
  PagerProgram() = default;
  PagerProgram(const PagerProgram&) = delete;
  PagerProgram& operator=(const PagerProgram&) = delete;
  // Kills (SIGKILL) and reaps the program if it still runs.
  ~PagerProgram();

  // Runs the program named by environment variable `env` (a path) with
  // `args`, its stdout on a pipe, and waits up to 10 s for its first line
  // containing " serving " (the pager published its object).  False if the
  // variable is unset, the program cannot start or says nothing in time.
  bool start(const char* env, const std::vector<std::string>& args);

  // The " serving " line.
  const std::string& banner() const { return banner_; }
  pid_t pid() const { return pid_; }

  // Reads lines until one contains `needle` (up to timeout_ms); the line,
  // or "" if the output ended or the time passed first.
  std::string wait_line(const std::string& needle, int timeout_ms = 10000);

  void signal(int sig);

  // Sends `sig` and reads the line containing `needle` it brings, again
  // every 20 ms until `done(line)` holds or timeout_ms passed; the last
  // such line ("" if one did not come).
  std::string signal_until(int sig, const std::string& needle, const std::function<bool(const std::string&)>& done,
                           int timeout_ms = 5000);

  // Waits up to timeout_ms for the program to exit; its exit code, 128 +
  // signal, or -1 if it still runs.
  int wait_exit(int timeout_ms = 10000);

 private:
  // The next line of output (without '\n') within the time left; false on
  // the end of the output or the deadline.
  bool read_line(std::string* line, int timeout_ms);

  pid_t pid_ = -1;
  int out_ = -1;
  std::string pending_;  // bytes read past the last line
  std::string banner_;
};

}  // namespace systest
