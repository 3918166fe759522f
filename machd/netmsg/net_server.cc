// machd/netmsg/net_server.cc — the network message server's vat
// (net_server.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "net_server.h"

#include <machd/machd_relay.h>
#include <mach/notify.h>
#include <servers/bootstrap.h>
#include <servers/netname_defs.h>
#include <unistd.h>

#include <kj/debug.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>

#include "netname_service.h"
#include "message_codec.h"
#include "peer.h"

namespace netmsg {

void NetServer::Logger::taskFailed(kj::Exception&& e) {
  fprintf(stderr, "mach-netmsgd: %s\n", e.getDescription().cStr());
}

NetServer::NetServer(kj::AsyncIoContext& io, ServerOptions options)
    : io_(io), options_(kj::mv(options)), tasks_(logger_) {
  transport_ = kj::heap<Transport>(io_, options_.transport);
}

NetServer::~NetServer() {
  peers_.clear();
  for (const Pooled& p : pool_) mach_port_mod_refs(mach_task_self(), p.name, MACH_PORT_RIGHT_RECEIVE, -1);
  for (auto& [name, entry] : names_) {
    mach_port_deallocate(mach_task_self(), entry.port);
    mach_port_deallocate(mach_task_self(), entry.signature);
  }
}

void NetServer::stamp(const RemoteSender& sender) {
  if (!stamping_ || sender == stamped_) return;
  char host[sizeof(machd_host_name_t)];
  snprintf(host, sizeof host, "%s", sender.host.c_str());
  kern_return_t kr = machd_relay_set_sender(mach_task_self(), host, sender.pid, sender.uid, sender.gid);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "mach-netmsgd: machd does not stamp remote senders on relayed messages (%s): their "
                    "trailers name this server\n", mach_error_string(kr));
    stamping_ = false;
    return;
  }
  stamped_ = sender;
}

ExportedPort* NetServer::find_token(const std::string& token) const {
  auto i = tokens_.find(token);
  return i == tokens_.end() ? nullptr : i->second;
}

kj::Promise<Peer*> NetServer::peer_for(const std::string& host, const std::string& address) {
  if (Peer* p = find_peer(host)) return p->ready().then([p]() { return p; });
  if (address.empty()) return KJ_EXCEPTION(DISCONNECTED, "no connection to host", host);
  return dial(address);
}

void NetServer::redirect(mach_port_t proxy, std::string home_host, std::string home_address, std::string token) {
  tasks_.add(peer_for(home_host, home_address)
                 .then([this, proxy, token](Peer* home) {
                   auto req = home->remote().redeemRequest();
                   req.setToken(kj::arrayPtr(reinterpret_cast<const kj::byte*>(token.data()), token.size()));
                   std::string host = home->host_name();
                   return req.send().then([this, proxy, host](capnp::Response<Host::RedeemResults>&& r) {
                     // Either side may have gone meanwhile: look both up again.
                     Peer* home = find_peer(host);
                     Peer* owner = proxy_owner(proxy);
                     auto ref = r.getPort();
                     if (home == nullptr || owner == nullptr || owner == home ||
                         ref.getKind() != PortRef::Kind::SEND)
                       return;
                     owner->hand_over_proxy(proxy, *home, ref.getPort(), ref.getId());
                     if (options_.verbose)
                       fprintf(stderr, "mach-netmsgd: a right to a port on %s now goes there directly\n", host.c_str());
                   });
                 })
                 .catch_([](kj::Exception&&) {
                   // The home cannot be reached: the proxy keeps its route through the third host.
                 }));
}

Peer* NetServer::proxy_owner(mach_port_t name) const {
  auto i = proxy_owner_.find(name);
  return i == proxy_owner_.end() ? nullptr : i->second;
}

void NetServer::watch_dead_name(mach_port_t name) {
  // sync 1: a right whose port died before this request (a right received
  // in the very message that raced its port's death) is notified at once,
  // as XNU does; with sync 0 the request fails on the dead name, nothing is
  // ever notified, and the name, with everything netmsgd keeps for it, stays.
  mach_port_t previous = MACH_PORT_NULL;
  const kern_return_t kr = mach_port_request_notification(mach_task_self(), name, MACH_NOTIFY_DEAD_NAME, 1,
                                                          notify_port_, MACH_MSG_TYPE_MAKE_SEND_ONCE, &previous);
  if (kr != KERN_SUCCESS)
    fprintf(stderr, "mach-netmsgd: cannot watch name 0x%x for its death: %s\n", name, mach_error_string(kr));
  if (MACH_PORT_VALID(previous)) mach_port_deallocate(mach_task_self(), previous);
}

namespace {
bool is_dead(mach_port_t name) {
  mach_port_type_t type = 0;
  return mach_port_type(mach_task_self(), name, &type) != KERN_SUCCESS || (type & MACH_PORT_TYPE_DEAD_NAME) != 0;
}
}  // namespace

mach_port_t NetServer::look_up_local(const std::string& name) {
  auto i = names_.find(name);
  if (i == names_.end()) {
    if (std::find(options_.exports.begin(), options_.exports.end(), name) == options_.exports.end())
      return MACH_PORT_NULL;
    mach_port_t port = MACH_PORT_NULL;
    if (bootstrap_look_up(bootstrap_port, name.c_str(), &port) != KERN_SUCCESS) return MACH_PORT_NULL;
    return port;
  }
  if (is_dead(i->second.port)) {
    mach_port_deallocate(mach_task_self(), i->second.port);
    mach_port_deallocate(mach_task_self(), i->second.signature);
    names_.erase(i);
    return MACH_PORT_NULL;
  }
  mach_port_mod_refs(mach_task_self(), i->second.port, MACH_PORT_RIGHT_SEND, 1);
  return i->second.port;
}

kern_return_t NetServer::check_in(const std::string& name, mach_port_t signature, mach_port_t port) {
  auto i = names_.find(name);
  if (i != names_.end()) {
    if (i->second.signature != signature && !is_dead(i->second.port)) return NETNAME_NOT_YOURS;
    mach_port_deallocate(mach_task_self(), i->second.port);
    mach_port_deallocate(mach_task_self(), i->second.signature);
    names_.erase(i);
  }
  names_[name] = NameEntry{port, signature};
  // When the port dies its entry goes (on_notification), not only when a
  // look-up finds it dead: else every dead service stays a name here.
  watch_dead_name(port);
  return NETNAME_SUCCESS;
}

kern_return_t NetServer::check_out(const std::string& name, mach_port_t signature) {
  auto i = names_.find(name);
  if (i == names_.end()) return NETNAME_NOT_CHECKED_IN;
  if (i->second.signature != signature) return NETNAME_NOT_YOURS;
  mach_port_deallocate(mach_task_self(), i->second.port);
  mach_port_deallocate(mach_task_self(), i->second.signature);
  names_.erase(i);
  return NETNAME_SUCCESS;
}

Peer* NetServer::find_peer(const std::string& host) {
  for (auto& p : peers_)
    if (p->host_name() == host) return p.get();
  for (auto& p : peers_)
    if (!p->address().empty() && p->address() == host) return p.get();
  return nullptr;
}

std::vector<Peer*> NetServer::peers() {
  std::vector<Peer*> out;
  for (auto& p : peers_) out.push_back(p.get());
  return out;
}

Peer* NetServer::adopt(kj::Own<kj::AsyncIoStream> stream, bool dialed, std::string address) {
  peers_.push_back(std::make_unique<Peer>(*this, kj::mv(stream), dialed, kj::mv(address)));
  Peer* peer = peers_.back().get();
  const uint64_t serial = peer->serial();
  tasks_.add(peer->on_disconnect().then([this, serial]() { drop_peer(serial, "disconnected"); }));
  peer->start_heartbeat(transport_->heartbeat_seconds());
  return peer;
}

void NetServer::drop_peer(uint64_t serial, const std::string& why) {
  // Not from inside the session's own callbacks: on the next turn.
  tasks_.add(kj::evalLater([this, serial, why]() {
    auto i = std::find_if(peers_.begin(), peers_.end(), [serial](auto& p) { return p->serial() == serial; });
    if (i == peers_.end()) return;
    if (options_.verbose || why != "disconnected")
      fprintf(stderr, "mach-netmsgd: %s: %s\n", (*i)->host_name().c_str(), why.c_str());
    peers_.erase(i);
  }));
}

kj::Promise<Peer*> NetServer::dial(std::string address) {
  return transport_->connect(address).then([this, address](kj::Own<kj::AsyncIoStream> stream) {
    Peer* peer = adopt(kj::mv(stream), true, address);
    return peer->ready().then([peer]() { return peer; });
  });
}

void NetServer::keep_connected(std::string address) {
  const auto retry = transport_->heartbeat_seconds() * kj::SECONDS;
  tasks_.add(dial(address)
                 .then([this, address](Peer* peer) {
                   if (options_.verbose)
                     fprintf(stderr, "mach-netmsgd: connected to %s (%s)\n", peer->host_name().c_str(),
                             address.c_str());
                   return peer->gone();
                 })
                 .catch_([](kj::Exception&&) {})
                 .then([this, address, retry]() { return io_.provider->getTimer().afterDelay(retry); })
                 .then([this, address]() { keep_connected(address); }));
}

void NetServer::accept_loop(kj::Own<kj::ConnectionReceiver> listener) {
  auto& l = *listener;
  tasks_.add(transport_->accept(l)
                 .then([this](kj::Own<kj::AsyncIoStream> stream) { adopt(kj::mv(stream), false, ""); },
                       [](kj::Exception&& e) {
                         fprintf(stderr, "mach-netmsgd: a peer was refused: %s\n", e.getDescription().cStr());
                       })
                 .then([this, listener = kj::mv(listener)]() mutable { accept_loop(kj::mv(listener)); }));
}

void NetServer::on_notification(ReceivedMessage& m) {
  mach_msg_header_t* h = m.header();
  // msgh_size excludes the trailer the notification's struct ends with.
  if (h->msgh_id == MACH_NOTIFY_DEAD_NAME && from_kernel(m) &&
      h->msgh_size >= offsetof(mach_dead_name_notification_t, trailer)) {
    const mach_port_t name = reinterpret_cast<mach_dead_name_notification_t*>(h)->not_port;
    if (parked_.erase(name) != 0) {
      // A parked send-once right, dead with its port: its reference and the notification's.
      mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_DEAD_NAME, -2);
      return;
    }
    for (auto& p : peers_) p->on_local_name_died(name);
    for (auto i = names_.begin(); i != names_.end();) {
      if (i->second.port != name) {
        ++i;
        continue;
      }
      mach_port_deallocate(mach_task_self(), i->second.port);
      mach_port_deallocate(mach_task_self(), i->second.signature);
      i = names_.erase(i);
    }
    mach_port_deallocate(mach_task_self(), name);  // the notification's own reference
    return;
  }
  mach_msg_destroy(h);
}

mach_port_t NetServer::take_pooled_port() {
  if (pool_.empty()) return MACH_PORT_NULL;
  const mach_port_t name = pool_.back().name;
  pool_.pop_back();
  return name;
}

void NetServer::pool_port(mach_port_t name) {
  constexpr size_t kMostPooled = 256;
  if (pool_.size() >= kMostPooled) {
    mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
    return;
  }
  pool_.push_back({name, timer().now()});
  schedule_trim();
}

void NetServer::schedule_trim() {
  if (pool_trim_scheduled_ || pool_.empty()) return;
  pool_trim_scheduled_ = true;
  tasks_.add(timer().afterDelay(1 * kj::SECONDS).then([this]() {
    pool_trim_scheduled_ = false;
    trim_pool();
  }));
}

void NetServer::trim_pool() {
  const kj::TimePoint now = timer().now();
  auto keep = pool_.begin();
  for (auto& p : pool_) {
    if (now - p.since >= 1 * kj::SECONDS) mach_port_mod_refs(mach_task_self(), p.name, MACH_PORT_RIGHT_RECEIVE, -1);
    else *keep++ = p;
  }
  pool_.erase(keep, pool_.end());
  schedule_trim();
}

void NetServer::park_send_once(mach_port_t right) {
  watch_dead_name(right);
  parked_.insert(right);
}

void NetServer::dispatch(ReceivedMessage m) {
  const mach_port_t to = m.header()->msgh_local_port;
  if (to == notify_port_) return on_notification(m);
  if (to == netname_port_) return serve_netname(*this, m);
  if (Peer* peer = proxy_owner(to)) return peer->on_proxy_message(to, kj::mv(m));
  if (converted_.count(to) != 0) return resend(m, to);
  mach_msg_destroy(m.header());
}

void NetServer::resend(ReceivedMessage& m, mach_port_t to) {
  // As received: the rights are this task's to move (PORT_* = MOVE_*), the
  // out-of-line memory mapped here (it goes with the message).
  mach_msg_header_t* h = m.header();
  const mach_msg_type_name_t reply = MACH_MSGH_BITS_REMOTE(h->msgh_bits);
  const mach_port_t reply_port = h->msgh_remote_port;
  if (MACH_MSGH_BITS_VOUCHER(h->msgh_bits) != 0 && MACH_PORT_VALID(h->msgh_voucher_port))
    mach_port_deallocate(mach_task_self(), h->msgh_voucher_port);
  h->msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, reply) | (h->msgh_bits & MACH_MSGH_BITS_COMPLEX);
  h->msgh_remote_port = to;
  h->msgh_local_port = reply_port;
  h->msgh_voucher_port = MACH_PORT_NULL;
  if (h->msgh_bits & MACH_MSGH_BITS_COMPLEX) {
    auto* body = reinterpret_cast<mach_msg_body_t*>(h + 1);
    auto* d = reinterpret_cast<uint8_t*>(body + 1);
    for (mach_msg_size_t i = 0; i < body->msgh_descriptor_count; i++) {
      auto* t = reinterpret_cast<mach_msg_type_descriptor_t*>(d);
      if (t->type == MACH_MSG_OOL_DESCRIPTOR || t->type == MACH_MSG_OOL_VOLATILE_DESCRIPTOR)
        reinterpret_cast<mach_msg_ool_descriptor_t*>(d)->deallocate = TRUE;
      else if (t->type == MACH_MSG_OOL_PORTS_DESCRIPTOR)
        reinterpret_cast<mach_msg_ool_ports_descriptor_t*>(d)->deallocate = TRUE;
      const mach_msg_size_t size = descriptor_size(t);
      if (size == 0) break;  // the kernel wrote it: never so
      d += size;
    }
  }
  stamp(RemoteSender{});
  if (mach_msg(h, MACH_SEND_MSG | MACH_SEND_TIMEOUT, h->msgh_size, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL) !=
      MACH_MSG_SUCCESS) {
    // Back as it was received (the port's right is the export's, not the
    // message's): the reply right and the body go.
    h->msgh_bits = MACH_MSGH_BITS(reply, 0) | (h->msgh_bits & MACH_MSGH_BITS_COMPLEX);
    h->msgh_remote_port = reply_port;
    h->msgh_local_port = MACH_PORT_NULL;
    mach_msg_destroy(h);
  }
}

kj::Promise<void> NetServer::drain_inbox() {
  return inbox_observer_->whenBecomesReadable().then([this]() {
    uint64_t n;
    (void)!read(inbox_.event_fd(), &n, sizeof n);
    for (;;) {
      auto batch = inbox_.take();
      if (batch.empty()) break;
      for (ReceivedMessage& m : batch) {
        // One message's failure (a task's, whatever it sent) must not stop the inbox.
        KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { dispatch(kj::mv(m)); })) {
          fprintf(stderr, "mach-netmsgd: a message was dropped: %s\n", e->getDescription().cStr());
        }
      }
    }
    return drain_inbox();
  });
}

kj::Promise<void> NetServer::run() {
  KJ_REQUIRE(inbox_.start() == KERN_SUCCESS, "cannot start the Mach inbox");
  inbox_observer_ = kj::heap<kj::UnixEventPort::FdObserver>(io_.unixEventPort, inbox_.event_fd(),
                                                             kj::UnixEventPort::FdObserver::OBSERVE_READ);
  tasks_.add(drain_inbox());
  mach_port_t task = mach_task_self();
  KJ_REQUIRE(mach_port_allocate(task, MACH_PORT_RIGHT_RECEIVE, &notify_port_) == KERN_SUCCESS);
  KJ_REQUIRE(inbox_.add(notify_port_) == KERN_SUCCESS);
  KJ_REQUIRE(mach_port_allocate(task, MACH_PORT_RIGHT_RECEIVE, &netname_port_) == KERN_SUCCESS);
  KJ_REQUIRE(mach_port_insert_right(task, netname_port_, netname_port_, MACH_MSG_TYPE_MAKE_SEND) == KERN_SUCCESS);
  KJ_REQUIRE(inbox_.add(netname_port_) == KERN_SUCCESS);
  kern_return_t kr = bootstrap_register(bootstrap_port, const_cast<char*>(options_.service_name.c_str()), netname_port_);
  KJ_REQUIRE(kr == KERN_SUCCESS, "bootstrap_register of the netname service failed", options_.service_name,
             mach_error_string(kr));

  if (options_.advertise.empty() && !options_.listen.empty() && options_.listen[0].rfind("0.0.0.0", 0) != 0 &&
      options_.listen[0].rfind("*", 0) != 0)
    options_.advertise = options_.listen[0];
  kj::Vector<kj::Promise<void>> listening;
  for (const std::string& address : options_.listen) {
    listening.add(transport_->listen(address).then([this, address](kj::Own<kj::ConnectionReceiver> l) {
      fprintf(stderr, "mach-netmsgd: listening on %s (port %u)\n", address.c_str(), l->getPort());
      // Port 0 (any): other hosts are told the port it got.
      const size_t colon = options_.advertise.rfind(':');
      if (options_.advertise == address && colon != std::string::npos && options_.advertise.substr(colon + 1) == "0")
        options_.advertise = options_.advertise.substr(0, colon + 1) + std::to_string(l->getPort());
      accept_loop(kj::mv(l));
    }));
  }
  return kj::joinPromises(listening.releaseAsArray()).then([this]() {
    for (const std::string& address : options_.peers) keep_connected(address);
    printf("mach-netmsgd: serving host %s (netname service \"%s\"%s)\n", options_.host_name.c_str(),
           options_.service_name.c_str(), transport_->uses_tls() ? ", TLS" : "");
    fflush(stdout);
  });
}

}  // namespace netmsg
