// tests/net/hosts.cc — N hosts for the net tests (hosts.h).
#include "hosts.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "process.h"

namespace nettest {

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v ? v : fallback;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

// ---- Task ----

Task::~Task() {
  if (pid_ <= 0) return;
  if (write(to_, "quit\n", 5) < 0) {
  }
  close(to_);
  if (wait_for(pid_, 1000) < 0) kill_and_wait(pid_);
  close(from_);
}

void Task::kill() {
  kill_and_wait(pid_);
  pid_ = -1;
  close(to_);
  close(from_);
}

bool Task::send(const std::string& command) {
  if (pid_ <= 0) return false;
  const std::string line = command + "\n";
  return write(to_, line.data(), line.size()) == ssize_t(line.size());
}

std::string Task::answer(int timeout_ms) {
  std::string answer;
  if (pid_ <= 0 || !read_line(from_, &answer, timeout_ms)) return "no answer";
  return answer;
}

std::string Task::operator()(const std::string& command, int timeout_ms) {
  if (!send(command)) return "no answer (no task)";
  const std::string a = answer(timeout_ms);
  return a == "no answer" ? "no answer to `" + command + "`" : a;
}

std::vector<std::string> ok_words(const std::string& answer) {
  std::istringstream in(answer);
  std::vector<std::string> w;
  std::string first;
  if (!(in >> first) || first != "ok") return w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

// ---- Hosts ----

Hosts::~Hosts() {
  tasks_.clear();
  for (auto& h : hosts_) {
    h->probe.reset();
    if (h->netmsgd > 0) {
      kill(h->netmsgd, SIGTERM);
      if (wait_for(h->netmsgd, 2000) < 0) kill_and_wait(h->netmsgd);
    }
    if (h->stdout_fd >= 0) close(h->stdout_fd);
    if (getenv("NET_TEST_KEEP_LOGS") == nullptr) unlink(h->log_path.c_str());
    h->machd.stop();
  }
  hosts_.clear();
  network_.reset();
  if (!dir_.empty() && getenv("NET_TEST_KEEP_LOGS") == nullptr) rmdir(dir_.c_str());
}

std::unique_ptr<Task> Hosts::new_task(int i) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return nullptr;
  Spawn s;
  s.argv = {env_or("NET_TASK", "net_task")};
  s.env = {"MACHD_SOCKET=" + hosts_.at(size_t(i))->machd.socket()};
  s.stdin_fd = in[0];
  s.stdout_fd = out[1];
  pid_t pid = spawn(s);
  close(in[0]);
  close(out[1]);
  if (pid < 0) {
    close(in[1]);
    close(out[0]);
    return nullptr;
  }
  return std::make_unique<Task>(pid, in[1], out[0]);
}

Task& Hosts::task(int i) {
  tasks_.emplace_back(i, new_task(i));
  return *tasks_.back().second;
}

bool Hosts::start_host(int i, std::string* why) {
  hosts_.push_back(std::make_unique<Host>());
  Host& host = *hosts_.back();
  if (!host.machd.start(env_or("MACHD_BIN", "machd"))) {
    *why = "machd did not start";
    return false;
  }
  host.log_path = dir_ + "/" + name(i) + ".log";
  const std::string ip = network_ ? network_->address(i) : "127.0.0.1";
  if (!start_netmsgd(i, ip + ":0", why)) return false;
  host.probe = new_task(i);
  return host.probe != nullptr;
}

bool Hosts::start_netmsgd(int i, const std::string& listen, std::string* why) {
  Host& host = *hosts_.at(size_t(i));
  std::vector<std::string> argv = {env_or("NETMSGD_BIN", "mach-netmsgd"), "--host-name", name(i), "--listen",
                                   listen, "--heartbeat", std::to_string(options_.heartbeat)};
  for (int j = 0; j < i; j++) {
    argv.push_back("--peer");
    argv.push_back(hosts_.at(size_t(j))->address);
  }
  if (size_t(i) < options_.extra.size())
    argv.insert(argv.end(), options_.extra[size_t(i)].begin(), options_.extra[size_t(i)].end());
  int log_fd = open(host.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int out[2];
  if (log_fd < 0 || pipe2(out, O_CLOEXEC) != 0) {
    *why = "cannot make the log or a pipe";
    return false;
  }
  const size_t log_start = read_file(host.log_path).size();
  Spawn s;
  s.argv = argv;
  s.env = {"MACHD_SOCKET=" + host.machd.socket()};
  s.netns = network_ ? network_->ns(i) : "";
  s.stdout_fd = out[1];
  s.stderr_fd = log_fd;
  host.netmsgd = spawn(s, why);
  close(out[1]);
  close(log_fd);
  if (host.stdout_fd >= 0) close(host.stdout_fd);
  host.stdout_fd = out[0];
  std::string line;
  if (host.netmsgd < 0 || !read_line(host.stdout_fd, &line, 10000) ||
      line.find("mach-netmsgd: serving host " + name(i)) != 0) {
    *why = "mach-netmsgd of " + name(i) + " did not start (its machd: " + host.machd.state() + "): " + line + " " +
           log(i);
    return false;
  }
  std::smatch m;
  const std::string text = read_file(host.log_path).substr(log_start);
  if (!std::regex_search(text, m, std::regex("\\(port ([0-9]+)\\)"))) {
    *why = "no listening port in " + name(i) + "'s log: " + text;
    return false;
  }
  host.address = listen.substr(0, listen.rfind(':')) + ":" + m[1].str();
  host.banner = line;
  return true;
}

bool Hosts::start(const HostsOptions& options, std::string* why, bool* skip) {
  *skip = false;
  options_ = options;
  char dir[] = "/tmp/net-test-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    *why = "mkdtemp";
    return false;
  }
  dir_ = dir;
  if (options.netns) {
    network_ = std::make_unique<Network>();
    if (!network_->create(options.hosts, why)) {
      network_.reset();
      *skip = true;
      return false;
    }
  }
  for (int i = 0; i < options.hosts; i++)
    if (!start_host(i, why)) return false;
  // Every host reaches every other: a look-up there answers "not checked in".
  for (int i = 0; i < options.hosts && options.await_connections; i++)
    for (int j = 0; j < options.hosts; j++) {
      if (i == j) continue;
      const std::string a = (*hosts_[size_t(i)]->probe)("lookup " + name(j) + " no-such-name x 10000", 15000);
      if (a != "err 1001") {
        *why = name(i) + " does not reach " + name(j) + ": " + a + "\n" + log(i) + log(j);
        return false;
      }
    }
  for (int i = 0; i < options.hosts; i++) {
    Host& h = *hosts_[size_t(i)];
    (*h.probe)("machd");
    h.baseline_names = (*h.probe)("ports " + std::to_string(h.netmsgd));
    h.baseline_machd = (*h.probe)("machd");
    if (ok_words(h.baseline_names).empty() || ok_words(h.baseline_machd).empty()) {
      *why = "cannot count " + name(i) + "'s holdings: " + h.baseline_names + " / " + h.baseline_machd;
      return false;
    }
  }
  return true;
}

void Hosts::kill_netmsgd(int i) {
  Host& h = *hosts_.at(size_t(i));
  kill_and_wait(h.netmsgd);
  h.netmsgd = -1;
}

bool Hosts::restart_netmsgd(int i, std::string* why) {
  Host& h = *hosts_.at(size_t(i));
  if (!start_netmsgd(i, h.address, why)) return false;
  // Its names now are its new baseline; machd's stays: a fresh
  // mach-netmsgd holds what the first one held when it was fresh.
  h.baseline_names = (*h.probe)("ports " + std::to_string(h.netmsgd));
  return !ok_words(h.baseline_names).empty();
}

std::string Hosts::log(int i) const {
  return "--- " + name(i) + " mach-netmsgd log:\n" + read_file(hosts_.at(size_t(i))->log_path);
}

std::string Hosts::leaks() {
  for (auto& [i, t] : tasks_) t->kill();
  tasks_.clear();
  std::string report;
  for (int i = 0; i < size(); i++) {
    Host& h = *hosts_[size_t(i)];
    if (h.netmsgd <= 0) continue;  // killed by the test: its machd lost a task
    if (!h.probe || ok_words(h.baseline_names).empty()) continue;  // the hosts never finished starting
    std::string names, machd;
    bool same = false;
    for (int k = 0; k < 100 && !same; k++) {
      if (k) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      names = (*h.probe)("ports " + std::to_string(h.netmsgd));
      machd = (*h.probe)("machd");
      const auto now = ok_words(names), then = ok_words(h.baseline_names);
      same = !now.empty() && now[0] == then.at(0) && machd == h.baseline_machd;
    }
    if (!same)
      report += name(i) + ": mach-netmsgd names (count name:type...) before: " + h.baseline_names +
                "\n    after: " + names + "\n  machd (ports messages) before: " + h.baseline_machd +
                " after: " + machd + "\n";
  }
  return report;
}

}  // namespace nettest
