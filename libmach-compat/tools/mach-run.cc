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
#include "machd_version.h"

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

void usage(FILE* out) {
  fprintf(out,
          "usage: mach-run [--help] [--version] [--] PROG [ARGS...]\n"
          "Runs PROG as a Mach task: connects to (or starts) the user's machd and\n"
          "preloads libmach-compat. mach-run's own options end at PROG or at --.\n"
          "\n"
          "  --help     this text\n"
          "  --version  print the version and exit\n"
          "\n"
          "Environment: MACHD_SOCKET (socket path), MACHD_BIN (machd to start),\n"
          "MACH_COMPAT_LIB (library to preload), MACH_RUN_IDLE_EXIT (seconds a\n"
          "private machd lingers, default 30), MACH_COMPAT_QUIET=1 (no message when\n"
          "no machd answers). A machd mach-run starts logs to\n"
          "$XDG_STATE_HOME/machd/machd.log (default ~/.local/state/machd/machd.log).\n");
}

// mach-run's own options, up to the first non-option or "--". Returns the
// index of PROG in argv, or -1 when mach-run must exit with `code`.
int parse_options(int argc, char** argv, int& code) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    const char* a = argv[i];
    if (strcmp(a, "--") == 0) {
      ++i;
      break;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      code = 0;
      return -1;
    }
    if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
      printf("mach-run (machd) %s\n", MACHD_VERSION);
      code = 0;
      return -1;
    }
    fprintf(stderr, "mach-run: unknown option '%s' (see mach-run --help; use -- before a program whose name starts with -)\n", a);
    code = 2;
    return -1;
  }
  if (i >= argc) {
    fprintf(stderr, "mach-run: no program to run (see mach-run --help)\n");
    code = 2;
    return -1;
  }
  return i;
}

}  // namespace

int main(int argc, char** argv) {
  int code = 0;
  const int first = parse_options(argc, argv, code);
  if (first < 0) return code;
  char path[sizeof(sockaddr_un{}.sun_path)];
  machd_socket_source source;
  if (machd_socket_path_from(path, sizeof path, &source) != 0) {
    fprintf(stderr, "mach-run: socket path too long\n");
    return 2;
  }
  std::string dir = exe_dir();
  std::string machd = locate("MACHD_BIN", {dir + "/../machd/machd", dir + "/machd", MACH_RUN_MACHD});
  std::string lib = locate("MACH_COMPAT_LIB", {dir + "/libmach-compat.so", MACH_RUN_LIB});
  char sdir[sizeof path] = "";
  if (machd_socket_dir(path, sdir, sizeof sdir) == 0) {
    char why[512];
    // The shared /tmp fallback: only a directory of our own (machd_socket_path.h).
    if (source == MACHD_SOCKET_FALLBACK && machd_private_dir_check(sdir, 1, why, sizeof why) != 0) {
      fprintf(stderr, "mach-run: %s\n", why);
      return 1;
    }
  }
  if (!machd_answers(path)) {
    if (source != MACHD_SOCKET_FALLBACK && sdir[0] != '\0') mkdir(sdir, 0700);
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
