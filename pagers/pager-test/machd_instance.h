// pagers/pager-test/machd_instance.h — the machd a run of the kit uses.
//
// Contract
//   start(socket, ...): with a socket, uses the machd listening there;
//     otherwise starts `machd --foreground --socket <fresh tmp dir>/machd.sock
//     --pager-timeout <secs>`. Either way MACHD_SOCKET names it (for this
//     process and every child) and this process is its task when start
//     returns "". Otherwise returns why not.
//   stop(): SIGTERM to a machd started here, waited for (SIGKILL after
//     5 s); returns its waitpid status, or 0 if none was started here.
//   locate_machd(): the machd to start: `given`, else $MACHD_BIN, else the
//     build tree's next to this program, else the installed one.
#pragma once

#include <sys/types.h>

#include <string>

namespace pagerkit {

class MachdInstance {
 public:
  MachdInstance() = default;
  ~MachdInstance();
  MachdInstance(const MachdInstance&) = delete;
  MachdInstance& operator=(const MachdInstance&) = delete;

  std::string start(const std::string& socket, const std::string& machd, double pager_timeout_s,
                    const std::string& log_level);
  int stop();
  const std::string& socket() const { return socket_; }
  bool started_here() const { return pid_ > 0; }

 private:
  std::string dir_, socket_;
  pid_t pid_ = -1;
};

std::string locate_machd(const std::string& given);

}  // namespace pagerkit
