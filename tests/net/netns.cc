// tests/net/netns.cc — hosts in network namespaces (netns.h).
#include "netns.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "process.h"

namespace nettest {

namespace {
constexpr const char* kPrefix = "mnet";  // mnet<pid>x<run>h, mnet<pid>x<run>n<i>
int g_runs = 0;
}  // namespace

bool Network::ip(const std::vector<std::string>& args, std::string* why) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  int rc = run(argv, &out);
  if (rc != 0 && why) {
    *why = "`";
    for (const std::string& a : argv) *why += (a == argv[0] ? "" : " ") + a;
    *why += "` failed (" + std::to_string(rc) + "): " + out;
  }
  return rc == 0;
}

bool Network::create(int hosts, std::string* why) {
  if (geteuid() != 0) {
    *why = "network namespaces need root";
    return false;
  }
  const std::string base = kPrefix + std::to_string(getpid()) + "x" + std::to_string(g_runs++);
  hub_ = base + "h";
  if (!ip({"netns", "add", hub_}, why)) {
    hub_.clear();
    return false;
  }
  bool ok = ip({"-n", hub_, "link", "add", "br0", "type", "bridge"}, why) &&
            ip({"-n", hub_, "link", "set", "br0", "up"}, why);
  for (int i = 0; ok && i < hosts; i++) {
    const std::string ns = base + "n" + std::to_string(i);
    if (!ip({"netns", "add", ns}, why)) {
      ok = false;
      break;
    }
    hosts_.push_back(ns);
    const std::string port = "p" + std::to_string(i);
    ok = ip({"link", "add", "name", "v0", "netns", ns, "type", "veth", "peer", "name", port, "netns", hub_}, why) &&
         ip({"-n", hub_, "link", "set", port, "master", "br0", "up"}, why) &&
         ip({"-n", ns, "addr", "add", address(i) + "/24", "dev", "v0"}, why) &&
         ip({"-n", ns, "link", "set", "v0", "up"}, why) && ip({"-n", ns, "link", "set", "lo", "up"}, why);
  }
  if (!ok) {
    for (const std::string& ns : hosts_) ip({"netns", "del", ns}, nullptr);
    ip({"netns", "del", hub_}, nullptr);
    hosts_.clear();
    hub_.clear();
  }
  return ok;
}

Network::~Network() {
  for (const std::string& ns : hosts_) ip({"netns", "del", ns}, nullptr);
  if (!hub_.empty()) ip({"netns", "del", hub_}, nullptr);
}

bool Network::set_link(int i, bool up) { return ip({"-n", ns(i), "link", "set", "v0", up ? "up" : "down"}, nullptr); }

bool Network::nft(int i, const std::string& ruleset, std::string* why) {
  char path[] = "/tmp/net-test-nft-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return false;
  FILE* f = fdopen(fd, "w");
  fputs(ruleset.c_str(), f);
  fclose(f);
  std::string out;
  int rc = run({"nft", "-f", path}, &out, ns(i));
  unlink(path);
  if (rc != 0 && why) *why = "nft failed (" + std::to_string(rc) + "): " + out;
  return rc == 0;
}

bool Network::has_nft() { return run({"nft", "--version"}) == 0; }

void Network::remove_stale() {
  if (geteuid() != 0) return;
  std::string out;
  if (run({"ip", "netns", "list"}, &out) != 0) return;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const std::string name = line.substr(0, line.find(' '));
    if (name.rfind(kPrefix, 0) != 0) continue;
    const long pid = strtol(name.c_str() + 4, nullptr, 10);
    if (pid <= 0 || (kill(pid_t(pid), 0) != 0 && errno == ESRCH)) run({"ip", "netns", "del", name});
  }
}

}  // namespace nettest
