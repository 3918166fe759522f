// machd/netmsg/net_server.h — the network message server: this host's
// vat. It owns the connections to other hosts, the proxies and exports
// that cross them, and the netname service (README.md).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <mach/mach.h>

#include <kj/async-io.h>
#include <kj/async-unix.h>

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "mach_inbox.h"
#include "netmsg.capnp.h"
#include "transport.h"

namespace netmsg {

class Peer;
class ExportedPort;

struct ServerOptions {
  std::string host_name;                   // this host's name, as peers and netname know it
  std::string service_name = "netname";    // the bootstrap name of the netname port
  std::vector<std::string> listen;         // ADDR:PORT to accept peers on
  std::vector<std::string> peers;          // ADDR:PORT to connect to (and again when lost)
  std::string advertise;                   // ADDR:PORT other hosts reach this one at (default: the first --listen)
  TransportOptions transport;
  std::vector<std::string> exports;        // bootstrap names netname also answers for on this host
  bool verbose = false;                    // log connections and redirects on stderr
};

// Who sent a message on another host (netmsg.capnp, Sender).
struct RemoteSender {
  std::string host;
  int32_t pid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool operator==(const RemoteSender&) const = default;
};

class NetServer {
 public:
  NetServer(kj::AsyncIoContext& io, ServerOptions options);
  ~NetServer();

  // Starts the inbox, the netname service (registered with bootstrap),
  // the listeners and the connections to the peers. Throws (kj) if one
  // cannot be made; prints the "serving" line once all are.
  kj::Promise<void> run();

  const std::string& host_name() const { return options_.host_name; }
  MachInbox& inbox() { return inbox_; }
  kj::Timer& timer() { return io_.provider->getTimer(); }

  // The messages this server sends from now on (to tasks' ports) carry
  // `sender` in their trailers (machd_relay_set_sender, only when it
  // changes). If machd refuses (this server is not machd's user), they
  // carry this server's own identity; said once on stderr.
  void stamp(const RemoteSender& sender);

  // Which peer serves the proxy `name` (its receive right is this task's).
  void register_proxy(mach_port_t name, Peer* peer) {
    proxy_owner_[name] = peer;
    converted_.erase(name);
  }
  void forget_proxy(mach_port_t name) { proxy_owner_.erase(name); }
  // The peer owning proxy `name`, or nullptr when it is not a proxy.
  Peer* proxy_owner(mach_port_t name) const;

  // Asks machd for a dead-name notification of `name` (a send right this
  // task exports), to this server's notify port.
  void watch_dead_name(mach_port_t name);

  // A receive right, in the inbox's set, queue limit 1, that a send-once
  // proxy used and left with no right to it anywhere: the next one reuses
  // it (no machd calls to make one per request answered across hosts).
  // Ports unused for a second are destroyed. MACH_PORT_NULL when none.
  mach_port_t take_pooled_port();
  void pool_port(mach_port_t name);

  // Keeps the send-once right `right` until its port dies (a dead-name
  // notification then releases it): destroying it would send its port a
  // send-once notification.
  void park_send_once(mach_port_t right);
  // `name`, a proxy once, is a task's port now: a message the inbox took
  // from it before it left the set is sent on to it.
  void converted(mach_port_t name) { converted_.insert(name); }

  // The export a Home token names (any peer's), or nullptr.
  void register_token(const std::string& token, ExportedPort* port) { tokens_[token] = port; }
  void forget_token(const std::string& token) { tokens_.erase(token); }
  ExportedPort* find_token(const std::string& token) const;
  // ADDR:PORT peers reach this host at ("" when it does not listen).
  const std::string& advertised_address() const { return options_.advertise; }

  // The proxy `proxy` (of any peer) stands for a right whose home is
  // another host: ask that host for the right itself and move the proxy
  // to the direct connection (after the sends it has under way).
  void redirect(mach_port_t proxy, std::string home_host, std::string home_address, std::string token);

  // netname on this host: a new send right (a reference this task holds)
  // to the port checked in under `name`, else, when `name` is one of the
  // --export names, to the service bootstrap has under it; or
  // MACH_PORT_NULL.
  mach_port_t look_up_local(const std::string& name);
  // netname_check_in / check_out (NETNAME_* codes).
  kern_return_t check_in(const std::string& name, mach_port_t signature, mach_port_t port);
  kern_return_t check_out(const std::string& name, mach_port_t signature);

  // The connected peer named `host` (its host name, or the address it was
  // dialed at), or nullptr.
  Peer* find_peer(const std::string& host);
  std::vector<Peer*> peers();
  // Ends the connection `serial` (Peer::serial) on the next turn: its
  // proxies die (their senders get dead names), its exports are released.
  void drop_peer(uint64_t serial, const std::string& why);
  // Connects to `address` (ADDR:PORT), once the peer said hello.
  kj::Promise<Peer*> dial(std::string address);
  // The peer named `host`, connecting to `address` if none is.
  kj::Promise<Peer*> peer_for(const std::string& host, const std::string& address);

 private:
  void accept_loop(kj::Own<kj::ConnectionReceiver> listener);
  kj::Promise<void> drain_inbox();
  void dispatch(ReceivedMessage m);
  void resend(ReceivedMessage& m, mach_port_t to);
  void on_notification(ReceivedMessage& m);
  Peer* adopt(kj::Own<kj::AsyncIoStream> stream, bool dialed, std::string address);
  void keep_connected(std::string address);

  struct NameEntry {
    mach_port_t port;       // a send right this task holds
    mach_port_t signature;  // a send right too (compared by name)
  };

  kj::AsyncIoContext& io_;
  ServerOptions options_;
  kj::Own<Transport> transport_;
  MachInbox inbox_;
  kj::Own<kj::UnixEventPort::FdObserver> inbox_observer_;
  mach_port_t notify_port_ = MACH_PORT_NULL;
  mach_port_t netname_port_ = MACH_PORT_NULL;
  std::map<mach_port_t, Peer*> proxy_owner_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::map<std::string, NameEntry> names_;
  std::map<std::string, ExportedPort*> tokens_;
  std::set<mach_port_t> parked_;
  struct Pooled {
    mach_port_t name;
    kj::TimePoint since;
  };
  std::vector<Pooled> pool_;
  bool pool_trim_scheduled_ = false;
  void trim_pool();
  void schedule_trim();
  std::set<mach_port_t> converted_;
  RemoteSender stamped_;
  bool stamping_ = true;
  struct Logger : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&& e) override;
  } logger_;
  kj::TaskSet tasks_;
};

}  // namespace netmsg
