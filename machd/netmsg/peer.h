// machd/netmsg/peer.h — one connection to another host's network message
// server: a Cap'n Proto two-party RPC session and the rights that cross it.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <mach/mach.h>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <map>
#include <memory>
#include <string>

#include "exported_port.h"
#include "message_codec.h"
#include "netmsg.capnp.h"
#include "proxy_port.h"

namespace netmsg {

class NetServer;

class Peer final : public RightTranslator, private kj::TaskSet::ErrorHandler {
 public:
  // Runs the RPC session on `stream` (already authenticated). `dialed`:
  // this side connected (Cap'n Proto's client side). `address` is how to
  // reach the peer again ("" for one that connected to us).
  Peer(NetServer& server, kj::Own<kj::AsyncIoStream> stream, bool dialed, std::string address);
  ~Peer() noexcept(false);

  // Resolves when both sides said hello (the peer's host name is known).
  kj::Promise<void> ready();
  // Resolves when the connection is gone.
  kj::Promise<void> on_disconnect();
  // Resolves when this Peer is destroyed (whatever ended it).
  kj::Promise<void> gone() { return gone_.addBranch(); }
  // This connection among all this server ever had.
  uint64_t serial() const { return serial_; }

  // Pings the peer `seconds` after its last answer; a peer that does not
  // answer within 7 x `seconds` more (stopped, wedged, its kernel still
  // acknowledging TCP) is dropped as if its connection broke: within
  // 8 x `seconds` of its last sign of life.
  void start_heartbeat(unsigned seconds);

  const std::string& host_name() const { return host_name_; }
  const std::string& address() const { return address_; }
  // ADDR:PORT the peer said it listens on.
  const std::string& advertised_address() const { return advertised_; }
  void set_advertised_address(std::string a) { advertised_ = kj::mv(a); }
  Host::Client& remote() { return remote_; }
  NetServer& server() { return *server_; }

  // RightTranslator.
  void export_right(mach_port_t name, mach_msg_type_name_t type, PortRef::Builder ref) override;
  void import_right(PortRef::Reader ref, mach_port_t* name, mach_msg_type_name_t* disposition,
                    OutgoingMessage& out) override;

  // The peer answered a message forwarded from proxy `name`.
  void on_proxy_sent(mach_port_t name);
  // A message received on one of this peer's proxies.
  void on_proxy_message(mach_port_t proxy, ReceivedMessage message);
  // The peer said the port it exported with `id` died.
  void on_port_died(uint64_t id);
  // The local port `name`, exported to this peer, died.
  void on_local_name_died(mach_port_t name);

  // Bookkeeping of the exported ports (exported_port.cc).
  void forget_export(ExportedPort* port);
  // Keeps `promise` running for as long as the peer (failures are logged).
  void keep(kj::Promise<void> promise) { tasks_.add(kj::mv(promise)); }

  // Called by the Host object the peer talks to.
  void set_host_name(std::string name) { host_name_ = kj::mv(name); }

  // Makes a proxy for a right the peer exported; returns its receive
  // right's name.
  ProxyPort* make_proxy(ProxyPort::Kind kind, Port::Client target, uint64_t home_id, uint32_t qlimit);
  // A receive right that moved to the peer stays here as a forwarder to
  // its new home `target` (the peer's export `home_id`).
  ProxyPort* adopt_forwarder(mach_port_t name, Port::Client target, uint64_t home_id, uint32_t qlimit);
  // Moves the proxy `name` to the connection `to`, where the port it
  // stands for lives: `target` and `id` are the right `to` exported.
  void hand_over_proxy(mach_port_t name, Peer& to, Port::Client target, uint64_t id);
  // The proxy leaves this connection's tables (it is moving to another).
  std::unique_ptr<ProxyPort> detach_proxy(mach_port_t name);
  void attach_proxy(std::unique_ptr<ProxyPort> proxy);
  // Ends a proxy: its receive right is destroyed (senders see a dead name)
  // and the peer's right released.
  void destroy_proxy(mach_port_t name);

 private:
  void taskFailed(kj::Exception&& exception) override;
  // The export of the send right `name` (one reference of it, now the
  // export's), made when there is none; *client: a reference to it.
  ExportedPort* export_send(mach_port_t name, Port::Client* client);

  kj::Promise<void> heartbeat(unsigned seconds);

  NetServer* server_;
  uint64_t serial_;
  kj::Own<kj::PromiseFulfiller<void>> gone_fulfiller_;
  kj::ForkedPromise<void> gone_;
  kj::Own<kj::AsyncIoStream> stream_;
  std::string address_;
  std::string host_name_;
  std::string advertised_;
  kj::Own<capnp::TwoPartyVatNetwork> network_;
  kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc_;
  Host::Client remote_;
  kj::TaskSet tasks_;
  kj::ForkedPromise<void> hello_;

  uint64_t next_id_ = 1;
  std::map<mach_port_t, ExportedPort*> exports_by_name_;  // send rights
  std::map<uint64_t, ExportedPort*> exports_by_id_;       // send and send-once
  std::map<mach_port_t, std::unique_ptr<ProxyPort>> proxies_;
  std::map<uint64_t, ProxyPort*> proxies_by_home_id_;  // kSend and kForwarder with an id
};

}  // namespace netmsg
