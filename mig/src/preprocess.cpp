#include "preprocess.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

extern char** environ;

namespace mig {
namespace {

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

}  // namespace

std::optional<std::string> read_file(const std::string& path,
                                     Diagnostics& diag) {
  std::ostringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag.fatal("cannot open '" + path + "': " + std::strerror(errno));
    return std::nullopt;
  }
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> preprocess(const Options& opts, Diagnostics& diag) {
  if (opts.no_preprocess) return read_file(opts.input, diag);

  if (opts.input != "-" && access(opts.input.c_str(), R_OK) != 0) {
    diag.fatal("cannot open '" + opts.input + "': " + std::strerror(errno));
    return std::nullopt;
  }

  std::vector<std::string> cmd;
  const char* env_cpp = std::getenv("CPP");
  if (env_cpp && *env_cpp) {
    cmd = split_words(env_cpp);
  } else {
    cmd = {"cc", "-E", "-x", "c"};
  }
  if (cmd.empty()) {
    diag.fatal("$CPP is empty");
    return std::nullopt;
  }
  for (const auto& f : opts.cpp_flags) cmd.push_back(f);
  cmd.push_back(opts.input);

  std::vector<char*> argv;
  for (auto& s : cmd) argv.push_back(s.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe(fds) != 0) {
    diag.fatal(std::string("pipe: ") + std::strerror(errno));
    return std::nullopt;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    diag.fatal("cannot run the C preprocessor '" + cmd[0] +
               "': " + std::strerror(rc));
    return std::nullopt;
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    diag.fatal("the C preprocessor failed on '" + opts.input + "'");
    return std::nullopt;
  }
  return out;
}

}  // namespace mig
