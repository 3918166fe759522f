// mach-run PROG [ARGS...] — runs a Mach program on Linux.
//
// Finds the user's machd (socket from $MACHD_SOCKET, else the default under
// $XDG_RUNTIME_DIR); if none answers, starts a private one that exits once
// no task has been connected for a while. Then runs PROG with libmach-compat
// preloaded, so the program becomes a Mach task before main().
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "machd_socket_path.h"

namespace {

std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = '\0';
  std::string s(buf);
  return s.substr(0, s.rfind('/'));
}

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

// First existing path among: the environment override, the build tree, the
// installed location.
std::string locate(const char* env, const std::vector<std::string>& candidates) {
  if (const char* e = getenv(env); e && *e) return e;
  for (const auto& c : candidates)
    if (exists(c)) return c;
  return candidates.empty() ? std::string() : candidates.back();
}

bool machd_answers(const std::string& path) {
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

// Starts machd in the background; it returns once it listens.
bool start_machd(const std::string& machd, const std::string& sock) {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    const char* idle = getenv("MACH_RUN_IDLE_EXIT");
    std::string idle_s = idle && *idle ? idle : "30";
    execl(machd.c_str(), machd.c_str(), "--socket", sock.c_str(), "--idle-exit", idle_s.c_str(), "--log-level",
          "warn", static_cast<char*>(nullptr));
    fprintf(stderr, "mach-run: cannot run %s: %s\n", machd.c_str(), strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void usage() {
  fprintf(stderr,
          "usage: mach-run PROG [ARGS...]\n"
          "Runs PROG as a Mach task: connects to (or starts) the user's machd and\n"
          "preloads libmach-compat. Environment: MACHD_SOCKET (socket path),\n"
          "MACHD_BIN (machd to start), MACH_COMPAT_LIB (library to preload),\n"
          "MACH_RUN_IDLE_EXIT (seconds a private machd lingers, default 30).\n");
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--") == 0) first = 2;
  if (first >= argc || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage();
    return first >= argc ? 2 : 0;
  }
  char path[sizeof(sockaddr_un{}.sun_path)];
  if (machd_default_socket_path(path, sizeof path) != 0) {
    fprintf(stderr, "mach-run: socket path too long\n");
    return 2;
  }
  std::string dir = exe_dir();
  std::string machd = locate("MACHD_BIN", {dir + "/../machd/machd", dir + "/machd", MACH_RUN_MACHD});
  std::string lib = locate("MACH_COMPAT_LIB", {dir + "/libmach-compat.so", MACH_RUN_LIB});
  if (!machd_answers(path)) {
    std::string sdir = std::string(path).substr(0, std::string(path).rfind('/'));
    if (!sdir.empty()) mkdir(sdir.c_str(), 0700);
    // Another mach-run may start one at the same moment: losing that race is
    // fine as long as some machd answers afterwards.
    bool started = start_machd(machd, path);
    for (int i = 0; i < 50 && !started && !machd_answers(path); ++i) usleep(10000);
    if (!machd_answers(path)) {
      fprintf(stderr, "mach-run: no machd answers on %s and none could be started\n", path);
      return 1;
    }
  }
  setenv("MACHD_SOCKET", path, 1);
  std::string preload = lib;
  if (const char* old = getenv("LD_PRELOAD"); old && *old) preload += std::string(":") + old;
  setenv("LD_PRELOAD", preload.c_str(), 1);
  execvp(argv[first], argv + first);
  fprintf(stderr, "mach-run: %s: %s\n", argv[first], strerror(errno));
  return 127;
}
