// machd/daemon/logging.cc — see logging.h.
#include "logging.h"

#include <fcntl.h>
#include <pwd.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace machd {

namespace {

// mkdir -p with mode 0700 for the parts it creates.
void make_dirs(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0700);
  }
}

std::string state_home() {
  if (const char* x = getenv("XDG_STATE_HOME"); x && x[0] == '/') return x;
  const char* home = getenv("HOME");
  if (!home || home[0] != '/') {
    const passwd* pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : nullptr;
  }
  return home && home[0] == '/' ? std::string(home) + "/.local/state" : std::string();
}

}  // namespace

bool stderr_is_journal() {
  const char* js = getenv("JOURNAL_STREAM");
  unsigned long long dev = 0, ino = 0;
  if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  return fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

std::string detached_log_file(const Options& opts) {
  if (!opts.log_file.empty()) return opts.log_file;
  if (opts.foreground || opts.systemd) return {};
  std::string base = state_home();
  return base.empty() ? std::string() : base + "/machd/machd.log";
}

bool redirect_stderr_to(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) make_dirs(path.substr(0, slash));
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::error("cannot open log file {}: {}", path, strerror(errno));
    return false;
  }
  dup2(fd, STDERR_FILENO);  // dup2's copy has no O_CLOEXEC: children inherit it
  close(fd);
  return true;
}

bool set_up_logging(const Options& opts) {
  std::shared_ptr<spdlog::logger> logger;
  if ((opts.systemd || stderr_is_journal()) && opts.log_file.empty()) {
    logger = std::make_shared<spdlog::logger>("machd", std::make_shared<spdlog::sinks::systemd_sink_mt>("machd"));
  } else {
    // A file gets no colours and carries time stamps.
    const bool to_file = !detached_log_file(opts).empty();
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(to_file ? spdlog::color_mode::never
                                                                              : spdlog::color_mode::automatic);
    logger = std::make_shared<spdlog::logger>("machd", sink);
    logger->set_pattern(to_file ? "%Y-%m-%d %H:%M:%S.%e machd[%P] %l: %v" : "machd[%P] %^%l%$: %v");
    // --foreground --log-file: the file from the start.
    if (opts.foreground && !opts.log_file.empty() && !redirect_stderr_to(opts.log_file)) return false;
  }
  logger->set_level(opts.log_level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return true;
}

}  // namespace machd
