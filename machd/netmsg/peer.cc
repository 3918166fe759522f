// machd/netmsg/peer.cc — one connection to another host (peer.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "peer.h"

#include <mach/notify.h>

#include <kj/debug.h>

#include <cstdio>

#include "net_server.h"
#include "port_calls.h"

namespace netmsg {

namespace {

// What this host answers the peer (its bootstrap capability).
class HostServer final : public Host::Server {
 public:
  explicit HostServer(Peer& peer) : peer_(peer) {}

 protected:
  kj::Promise<void> hello(HelloContext context) override {
    peer_.set_host_name(context.getParams().getHostName());
    peer_.set_advertised_address(context.getParams().getAddress());
    context.getResults().setHostName(peer_.server().host_name());
    context.getResults().setAddress(peer_.server().advertised_address());
    return kj::READY_NOW;
  }

  kj::Promise<void> lookUp(LookUpContext context) override {
    auto ref = context.getResults().initPort();
    const mach_port_t port = peer_.server().look_up_local(context.getParams().getName());
    if (port == MACH_PORT_NULL) {
      ref.setKind(PortRef::Kind::NULL_);
      return kj::READY_NOW;
    }
    peer_.export_right(port, MACH_MSG_TYPE_PORT_SEND, ref);
    return kj::READY_NOW;
  }

  kj::Promise<void> portDied(PortDiedContext context) override {
    peer_.on_port_died(context.getParams().getId());
    return kj::READY_NOW;
  }

  kj::Promise<void> ping(PingContext) override { return kj::READY_NOW; }

  kj::Promise<void> redeem(RedeemContext context) override {
    auto t = context.getParams().getToken();
    ExportedPort* e = peer_.server().find_token(std::string(reinterpret_cast<const char*>(t.begin()), t.size()));
    auto ref = context.getResults().initPort();
    if (e == nullptr || mach_port_mod_refs(mach_task_self(), e->name(), MACH_PORT_RIGHT_SEND, 1) != KERN_SUCCESS) {
      ref.setKind(PortRef::Kind::NULL_);
      return kj::READY_NOW;
    }
    peer_.export_right(e->name(), MACH_MSG_TYPE_PORT_SEND, ref);
    return kj::READY_NOW;
  }

 private:
  Peer& peer_;
};

// The old home of a receive right that moved to the peer: once the peer
// says where the right is now, what senders here send goes there.
class ReceiveHandoffServer final : public ReceiveHandoff::Server {
 public:
  ReceiveHandoffServer(Peer& peer, mach_port_t name, uint32_t qlimit) : peer_(peer), name_(name), qlimit_(qlimit) {}
  ~ReceiveHandoffServer() noexcept(false) {
    // Never answered: the right dies here (its senders get dead names).
    if (name_ != MACH_PORT_NULL) mach_port_mod_refs(mach_task_self(), name_, MACH_PORT_RIGHT_RECEIVE, -1);
  }

 protected:
  kj::Promise<void> moved(MovedContext context) override {
    KJ_REQUIRE(name_ != MACH_PORT_NULL, "moved twice");
    auto ref = context.getParams().getNewHome();
    KJ_REQUIRE(ref.getKind() == PortRef::Kind::SEND, "a new home is a send right");
    const mach_port_t name = name_;
    name_ = MACH_PORT_NULL;
    ProxyPort* forwarder = peer_.adopt_forwarder(name, ref.getPort(), ref.getId(), qlimit_);
    (void)forwarder;
    return kj::READY_NOW;
  }

 private:
  Peer& peer_;
  mach_port_t name_;
  uint32_t qlimit_;
};

constexpr size_t kFlowLimitWords = (size_t(256) << 20) / sizeof(capnp::word);  // 256 MiB

capnp::ReaderOptions reader_options() {
  capnp::ReaderOptions o;
  // Out-of-line regions travel inside messages: allow up to 1 GiB.
  o.traversalLimitInWords = (uint64_t(1) << 30) / sizeof(capnp::word);
  return o;
}

void set_home(Home::Builder out, const ProxyPort::Home& home) {
  out.setHost(home.host);
  out.setAddress(home.address);
  out.setToken(kj::arrayPtr(reinterpret_cast<const kj::byte*>(home.token.data()), home.token.size()));
}

}  // namespace

namespace {
uint64_t g_next_serial = 1;
}  // namespace

Peer::Peer(NetServer& server, kj::Own<kj::AsyncIoStream> stream, bool dialed, std::string address)
    : server_(&server), serial_(g_next_serial++), gone_(kj::Promise<void>(kj::NEVER_DONE).fork()),
      stream_(kj::mv(stream)), address_(kj::mv(address)), remote_(nullptr), tasks_(*this),
      hello_(kj::Promise<void>(kj::NEVER_DONE).fork()) {
  auto paf = kj::newPromiseAndFulfiller<void>();
  gone_ = paf.promise.fork();
  gone_fulfiller_ = kj::mv(paf.fulfiller);
  const auto side = dialed ? capnp::rpc::twoparty::Side::CLIENT : capnp::rpc::twoparty::Side::SERVER;
  network_ = kj::heap<capnp::TwoPartyVatNetwork>(*stream_, side, reader_options());
  rpc_ = kj::heap<capnp::RpcSystem<capnp::rpc::twoparty::VatId>>(
      capnp::makeRpcServer(*network_, kj::heap<HostServer>(*this)));
  // A peer's calls not yet answered hold at most this much of our memory:
  // past it Cap'n Proto stops reading the connection until some finish.
  rpc_->setFlowLimit(kFlowLimitWords);
  capnp::word scratch[4];
  memset(scratch, 0, sizeof scratch);
  capnp::MallocMessageBuilder vat(scratch);
  auto id = vat.getRoot<capnp::rpc::twoparty::VatId>();
  id.setSide(dialed ? capnp::rpc::twoparty::Side::SERVER : capnp::rpc::twoparty::Side::CLIENT);
  remote_ = rpc_->bootstrap(id).castAs<Host>();
  auto req = remote_.helloRequest();
  req.setHostName(server.host_name());
  req.setAddress(server.advertised_address());
  hello_ = req.send()
               .then([this](capnp::Response<Host::HelloResults>&& r) {
                 if (host_name_.empty()) host_name_ = r.getHostName();
                 if (advertised_.empty()) advertised_ = r.getAddress();
               })
               .fork();
}

Peer::~Peer() noexcept(false) {
  gone_fulfiller_->fulfill();
  // Every proxy first: their receive rights die (senders get dead names)
  // and their references with them; then the session, whose end releases
  // every right this host exported to the peer.
  for (auto& [name, proxy] : proxies_) server_->forget_proxy(name);
  proxies_by_home_id_.clear();
  proxies_.clear();
  for (auto& [id, e] : exports_by_id_) e->detach();
  exports_by_id_.clear();
  exports_by_name_.clear();
  remote_ = nullptr;
  rpc_ = nullptr;
  network_ = nullptr;
  stream_ = nullptr;
}

kj::Promise<void> Peer::ready() { return hello_.addBranch(); }

kj::Promise<void> Peer::on_disconnect() { return network_->onDisconnect(); }

void Peer::start_heartbeat(unsigned seconds) { keep(heartbeat(seconds)); }

kj::Promise<void> Peer::heartbeat(unsigned seconds) {
  kj::Timer& timer = server_->timer();
  return timer.afterDelay(seconds * kj::SECONDS).then([this, seconds, &timer]() {
    const uint64_t serial = serial_;
    NetServer* server = server_;
    return remote_.pingRequest()
        .send()
        .ignoreResult()
        .exclusiveJoin(timer.afterDelay(7 * seconds * kj::SECONDS).then([]() -> kj::Promise<void> {
          return KJ_EXCEPTION(DISCONNECTED, "no answer to a ping");
        }))
        .then([this, seconds]() { return heartbeat(seconds); },
              [server, serial](kj::Exception&& e) { server->drop_peer(serial, e.getDescription().cStr()); });
  });
}

void Peer::taskFailed(kj::Exception&& exception) {
  if (exception.getType() != kj::Exception::Type::DISCONNECTED)
    fprintf(stderr, "mach-netmsgd: %s: %s\n", host_name_.c_str(), exception.getDescription().cStr());
}

void Peer::forget_export(ExportedPort* port) {
  auto i = exports_by_id_.find(port->id());
  if (i != exports_by_id_.end() && i->second == port) exports_by_id_.erase(i);
  if (!port->send_once()) {
    auto n = exports_by_name_.find(port->name());
    if (n != exports_by_name_.end() && n->second == port) exports_by_name_.erase(n);
  }
}

ExportedPort* Peer::export_send(mach_port_t name, Port::Client* client) {
  auto i = exports_by_name_.find(name);
  if (i != exports_by_name_.end()) {
    // One reference of the name per export: the new one is not needed.
    mach_port_deallocate(mach_task_self(), name);
    *client = i->second->client();
    return i->second;
  }
  auto server = kj::heap<ExportedPort>(*this, name, next_id_++, false);
  ExportedPort* raw = server.get();
  exports_by_name_[name] = raw;
  exports_by_id_[raw->id()] = raw;
  server_->watch_dead_name(name);
  // The object lives while a reference does: the first is the caller's.
  *client = Port::Client(kj::mv(server));
  return raw;
}

void Peer::export_right(mach_port_t name, mach_msg_type_name_t type, PortRef::Builder ref) {
  if (name == MACH_PORT_NULL) {
    ref.setKind(PortRef::Kind::NULL_);
    return;
  }
  if (name == MACH_PORT_DEAD) {
    ref.setKind(PortRef::Kind::DEAD);
    return;
  }
  switch (type) {
    case MACH_MSG_TYPE_PORT_SEND: {
      if (Peer* owner = server_->proxy_owner(name)) {
        // A right to a proxy: the port's own reference travels, and when
        // the port is this peer's, the right goes home.
        ProxyPort* p = owner->proxies_.at(name).get();
        ref.setKind(PortRef::Kind::SEND);
        ref.setPort(p->target());
        ref.setQlimit(queue_limit(name));
        if (owner == this && p->home_id() != 0) {
          ref.setYours(true);
          ref.setId(p->home_id());
        } else if (!p->home().host.empty()) {
          set_home(ref.initHome(), p->home());
        }
        mach_port_deallocate(mach_task_self(), name);
        return;
      }
      Port::Client client(nullptr);
      ExportedPort* e = export_send(name, &client);
      ref.setKind(PortRef::Kind::SEND);
      ref.setId(e->id());
      ref.setQlimit(queue_limit(name));
      set_home(ref.initHome(), ProxyPort::Home{server_->host_name(), server_->advertised_address(), e->token()});
      ref.setPort(kj::mv(client));
      return;
    }
    case MACH_MSG_TYPE_PORT_SEND_ONCE: {
      if (Peer* owner = server_->proxy_owner(name)) {
        ProxyPort* p = owner->proxies_.at(name).get();
        if (owner == this && p->kind() == ProxyPort::Kind::kSendOnce) {
          // Home again: the peer moves its own right; this one (to the
          // proxy) dies, and its notification ends the proxy.
          ref.setKind(PortRef::Kind::SEND_ONCE);
          ref.setYours(true);
          ref.setId(p->home_id());
          ref.setPort(p->target());
          mach_port_deallocate(mach_task_self(), name);
          return;
        }
      }
      auto server = kj::heap<ExportedPort>(*this, name, next_id_++, true);
      ExportedPort* raw = server.get();
      exports_by_id_[raw->id()] = raw;
      ref.setKind(PortRef::Kind::SEND_ONCE);
      ref.setId(raw->id());
      ref.setPort(Port::Client(kj::mv(server)));
      return;
    }
    case MACH_MSG_TYPE_PORT_RECEIVE: {
      // The receive right leaves: it stays here as a forwarder to its new
      // home, out of the inbox until the peer says where that is.
      const uint32_t qlimit = queue_limit(name);
      ref.setKind(PortRef::Kind::RECEIVE);
      ref.setQlimit(qlimit);
      mach_port_status_t status{};
      if (receive_status(name, &status)) ref.setQueued(status.mps_msgcount);
      auto e = exports_by_name_.find(name);
      if (e != exports_by_name_.end()) ref.setId(e->second->id());
      ref.setHandoff(kj::heap<ReceiveHandoffServer>(*this, name, qlimit));
      return;
    }
    default:
      ref.setKind(PortRef::Kind::NULL_);
      return;
  }
}

ProxyPort* Peer::make_proxy(ProxyPort::Kind kind, Port::Client target, uint64_t home_id, uint32_t qlimit) {
  mach_port_limits_t limits{qlimit == 0 ? MACH_PORT_QLIMIT_DEFAULT : qlimit};
  // A send-once proxy takes a used one's port when there is one (queue
  // limit 1, already in the set).
  mach_port_t name = kind == ProxyPort::Kind::kSendOnce ? server_->take_pooled_port() : MACH_PORT_NULL;
  const bool pooled = name != MACH_PORT_NULL;
  if (kind == ProxyPort::Kind::kSendOnce) limits.mpl_qlimit = 1;
  if (!pooled) {
    name = new_receive_right(limits.mpl_qlimit);
    KJ_REQUIRE(name != MACH_PORT_NULL, "cannot allocate a proxy port");
  }
  auto proxy = std::make_unique<ProxyPort>(*this, kind, name, kj::mv(target), home_id, limits.mpl_qlimit);
  ProxyPort* raw = proxy.get();
  proxies_[name] = kj::mv(proxy);
  if (home_id != 0 && kind != ProxyPort::Kind::kSendOnce) proxies_by_home_id_[home_id] = raw;
  server_->register_proxy(name, this);
  if (!pooled) server_->inbox().add(name);
  return raw;
}

ProxyPort* Peer::adopt_forwarder(mach_port_t name, Port::Client target, uint64_t home_id, uint32_t qlimit) {
  auto proxy = std::make_unique<ProxyPort>(*this, ProxyPort::Kind::kForwarder, name, kj::mv(target), home_id,
                                           qlimit);
  ProxyPort* raw = proxy.get();
  proxies_[name] = kj::mv(proxy);
  if (home_id != 0) proxies_by_home_id_[home_id] = raw;
  server_->register_proxy(name, this);
  // Until its senders have none (at once if there are none now).
  if (mach_port_t previous = request_no_senders(name, 0, name)) mach_port_deallocate(mach_task_self(), previous);
  server_->inbox().add(name);
  return raw;
}

void Peer::import_right(PortRef::Reader ref, mach_port_t* name, mach_msg_type_name_t* disposition,
                        OutgoingMessage& out) {
  switch (ref.getKind()) {
    case PortRef::Kind::NULL_:
      *name = MACH_PORT_NULL;
      *disposition = MACH_MSG_TYPE_COPY_SEND;
      return;
    case PortRef::Kind::DEAD:
      *name = MACH_PORT_DEAD;
      *disposition = MACH_MSG_TYPE_COPY_SEND;
      return;
    case PortRef::Kind::SEND: {
      if (ref.getYours()) {
        auto i = exports_by_id_.find(ref.getId());
        if (i == exports_by_id_.end() || i->second->send_once()) {
          *name = MACH_PORT_DEAD;
          *disposition = MACH_MSG_TYPE_COPY_SEND;
        } else {
          *name = i->second->name();
          *disposition = MACH_MSG_TYPE_COPY_SEND;
        }
        return;
      }
      if (ref.getId() != 0) {
        auto p = proxies_by_home_id_.find(ref.getId());
        if (p != proxies_by_home_id_.end()) {
          *name = p->second->name();
          *disposition = MACH_MSG_TYPE_MAKE_SEND;
          return;
        }
      }
      ProxyPort::Home home;
      if (ref.hasHome()) {
        auto h = ref.getHome();
        auto t = h.getToken();
        home = ProxyPort::Home{h.getHost(), h.getAddress(), std::string(reinterpret_cast<const char*>(t.begin()), t.size())};
      }
      if (!home.host.empty() && home.host == server_->host_name()) {
        // One of this host's own ports, back through a third host.
        if (ExportedPort* e = server_->find_token(home.token)) {
          *name = e->name();
          *disposition = MACH_MSG_TYPE_COPY_SEND;
          return;
        }
      }
      ProxyPort* proxy = make_proxy(ProxyPort::Kind::kSend, ref.getPort(), ref.getId(), ref.getQlimit());
      proxy->set_home(home);
      if (!home.host.empty() && home.host != host_name_)
        server_->redirect(proxy->name(), home.host, home.address, home.token);
      // One send right made here, then no-senders armed on the proxy
      // itself; the message moves that right.
      mach_port_insert_right(mach_task_self(), proxy->name(), proxy->name(), MACH_MSG_TYPE_MAKE_SEND);
      request_no_senders(proxy->name(), 1, proxy->name());  // a new port: no request to replace
      *name = proxy->name();
      *disposition = MACH_MSG_TYPE_MOVE_SEND;
      out.owned.push_back({*name, MACH_MSG_TYPE_MOVE_SEND});
      return;
    }
    case PortRef::Kind::SEND_ONCE: {
      if (ref.getYours()) {
        auto i = exports_by_id_.find(ref.getId());
        if (i == exports_by_id_.end() || !i->second->send_once() || i->second->used()) {
          *name = MACH_PORT_DEAD;
          *disposition = MACH_MSG_TYPE_COPY_SEND;
        } else {
          i->second->give_up_right();
          *name = i->second->name();
          *disposition = MACH_MSG_TYPE_MOVE_SEND_ONCE;
          out.owned.push_back({*name, MACH_MSG_TYPE_MOVE_SEND_ONCE});
        }
        return;
      }
      ProxyPort* proxy = make_proxy(ProxyPort::Kind::kSendOnce, ref.getPort(), ref.getId(), 1);
      // The send-once right is made here and the message moves it, so that
      // a message that cannot be delivered gives it back to be destroyed
      // (release_rights), and its send-once notification ends the proxy
      // and the peer's right. Made by the send itself (MAKE_SEND_ONCE), a
      // right would never exist after a failed send: nothing would ever
      // reach the proxy, which would wait, with the peer's right, forever.
      mach_port_t right = MACH_PORT_NULL;
      mach_msg_type_name_t type = 0;
      KJ_REQUIRE(mach_port_extract_right(mach_task_self(), proxy->name(), MACH_MSG_TYPE_MAKE_SEND_ONCE, &right,
                                         &type) == KERN_SUCCESS,
                 "cannot make a send-once right to a proxy");
      *name = right;
      *disposition = MACH_MSG_TYPE_MOVE_SEND_ONCE;
      out.owned.push_back({right, MACH_MSG_TYPE_MOVE_SEND_ONCE});
      return;
    }
    case PortRef::Kind::RECEIVE: {
      mach_port_t port = MACH_PORT_NULL;
      auto p = ref.getId() != 0 ? proxies_by_home_id_.find(ref.getId()) : proxies_by_home_id_.end();
      if (p != proxies_by_home_id_.end() && p->second->kind() == ProxyPort::Kind::kSend && p->second->idle() &&
          ref.getQueued() == 0) {
        // The port comes to the host that had a proxy for it, and nothing
        // sent from here is still on its way there: the proxy becomes the
        // port (tasks here keep their rights to it; what waits in it was
        // sent after all the rest). Otherwise a new port, so that what is
        // on its way comes first: the proxy goes on sending through the
        // old home, which forwards it here behind the rest.
        ProxyPort* proxy = p->second;
        port = proxy->release_receive_right();
        proxies_by_home_id_.erase(p);
        server_->forget_proxy(port);
        server_->converted(port);
        proxies_.erase(port);
      } else {
        port = new_receive_right(ref.getQlimit());
        KJ_REQUIRE(port != MACH_PORT_NULL, "cannot allocate a port");
      }
      // Tell the old home where the port is now: a send right to it.
      mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND);
      auto moved = ref.getHandoff().movedRequest();
      export_right(port, MACH_MSG_TYPE_PORT_SEND, moved.initNewHome());
      keep(moved.send().ignoreResult());
      *name = port;
      *disposition = MACH_MSG_TYPE_MOVE_RECEIVE;
      out.owned.push_back({port, MACH_MSG_TYPE_MOVE_RECEIVE});
      return;
    }
  }
  KJ_FAIL_REQUIRE("unknown right kind");
}

void Peer::on_proxy_message(mach_port_t proxy, ReceivedMessage message) {
  auto i = proxies_.find(proxy);
  if (i == proxies_.end()) {
    mach_msg_destroy(message.header());
    return;
  }
  if (i->second->on_message(kj::mv(message))) return;
  if (i->second->kind() == ProxyPort::Kind::kSendOnce) {
    // Its one right is used or dead: nothing can reach the port now.
    const mach_port_t name = i->second->give_up_port();
    destroy_proxy(proxy);
    server_->pool_port(name);
    return;
  }
  destroy_proxy(proxy);
}

void Peer::on_proxy_sent(mach_port_t name) {
  auto i = proxies_.find(name);
  if (i != proxies_.end() && !i->second->sent_one()) destroy_proxy(name);
}

std::unique_ptr<ProxyPort> Peer::detach_proxy(mach_port_t name) {
  auto i = proxies_.find(name);
  if (i == proxies_.end()) return nullptr;
  auto h = proxies_by_home_id_.find(i->second->home_id());
  if (h != proxies_by_home_id_.end() && h->second == i->second.get()) proxies_by_home_id_.erase(h);
  std::unique_ptr<ProxyPort> out = std::move(i->second);
  proxies_.erase(i);
  return out;
}

void Peer::attach_proxy(std::unique_ptr<ProxyPort> proxy) {
  const mach_port_t name = proxy->name();
  if (proxy->home_id() != 0 && proxies_by_home_id_.count(proxy->home_id()) == 0)
    proxies_by_home_id_[proxy->home_id()] = proxy.get();
  proxies_[name] = std::move(proxy);
  server_->register_proxy(name, this);
}

void Peer::hand_over_proxy(mach_port_t name, Peer& to, Port::Client target, uint64_t id) {
  auto i = proxies_.find(name);
  if (i == proxies_.end() || i->second->kind() != ProxyPort::Kind::kSend) return;
  i->second->begin_redirect(to, kj::mv(target), id);
}

void Peer::destroy_proxy(mach_port_t name) {
  auto i = proxies_.find(name);
  if (i == proxies_.end()) return;
  auto h = proxies_by_home_id_.find(i->second->home_id());
  if (h != proxies_by_home_id_.end() && h->second == i->second.get()) proxies_by_home_id_.erase(h);
  server_->forget_proxy(name);
  proxies_.erase(i);
}

void Peer::on_port_died(uint64_t id) {
  auto p = proxies_by_home_id_.find(id);
  if (p != proxies_by_home_id_.end()) destroy_proxy(p->second->name());
}

void Peer::on_local_name_died(mach_port_t name) {
  auto i = exports_by_name_.find(name);
  if (i == exports_by_name_.end()) return;
  auto req = remote_.portDiedRequest();
  req.setId(i->second->id());
  keep(req.send().ignoreResult());
}

}  // namespace netmsg
