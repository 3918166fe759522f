// tests/net/netns.h — hosts in network namespaces for the net tests: one
// namespace per host, each joined by a veth pair to a bridge in a hub
// namespace of its own, addresses only inside them. Names carry this
// process's pid, so a later run removes what a killed run left.
#pragma once

#include <string>
#include <vector>

namespace nettest {

class Network {
 public:
  Network() = default;
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;
  // Deletes every namespace it made (their links go with them).
  ~Network();

  // Makes the hub and `hosts` namespaces. False, with the reason in *why
  // (not root, no `ip`, namespaces refused), having removed what it made.
  bool create(int hosts, std::string* why);

  // Host i's namespace and its address there (10.77.0.i+1).
  const std::string& ns(int i) const { return hosts_.at(size_t(i)); }
  std::string address(int i) const { return "10.77.0." + std::to_string(i + 1); }

  // Host i's link to the bridge goes down (the other hosts lose it) or up.
  bool set_link(int i, bool up);
  // Loads `ruleset` (nft syntax) in host i's namespace; the output in
  // *why when it fails.
  bool nft(int i, const std::string& ruleset, std::string* why);

  // True when `nft` runs here (nftables installed).
  static bool has_nft();

  // Deletes the namespaces of runs whose process is gone.
  static void remove_stale();

 private:
  bool ip(const std::vector<std::string>& args, std::string* why);

  std::string hub_;
  std::vector<std::string> hosts_;
};

}  // namespace nettest
