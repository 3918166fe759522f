// machd/netmsg/proxy_port.cc — forwarding what tasks send to a proxy
// (proxy_port.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "proxy_port.h"

#include <mach/notify.h>

#include <cstdio>

#include "message_codec.h"
#include "net_server.h"
#include "peer.h"
#include "port_calls.h"

namespace netmsg {

bool from_kernel(const ReceivedMessage& m) {
  const mach_msg_audit_trailer_t* t = m.trailer();
  if (t->msgh_trailer_size < sizeof(mach_msg_audit_trailer_t)) return false;
  for (unsigned v : t->msgh_audit.val)
    if (v != 0) return false;
  return true;
}

ProxyPort::ProxyPort(Peer& peer, Kind kind, mach_port_t name, Port::Client target, uint64_t home_id,
                     uint32_t window)
    : peer_(&peer), kind_(kind), name_(name), target_(kj::mv(target)), home_id_(home_id),
      window_(window == 0 ? 1 : window) {}

ProxyPort::~ProxyPort() {
  for (ReceivedMessage& m : waiting_) mach_msg_destroy(m.header());
  if (name_ != MACH_PORT_NULL) mach_port_mod_refs(mach_task_self(), name_, MACH_PORT_RIGHT_RECEIVE, -1);
}

mach_port_t ProxyPort::release_receive_right() {
  const mach_port_t name = name_;
  if (in_set_) peer_->server().inbox().remove(name);
  in_set_ = false;
  // The no-senders request was this server's: the new owner asks for its
  // own. The request's send-once right (to this port) is kept, not
  // destroyed: its send-once notification would land in the new owner's
  // queue. It goes when the port does.
  if (mach_port_t previous = request_no_senders(name, 0, MACH_PORT_NULL)) peer_->server().park_send_once(previous);
  name_ = MACH_PORT_NULL;
  return name;
}

bool ProxyPort::on_no_senders() {
  // A send right made after the notification was generated (a message in
  // flight when the last right died) keeps the proxy: ask again.
  mach_port_status_t status{};
  if (receive_status(name_, &status) && status.mps_srights > 0) {
    if (mach_port_t previous = request_no_senders(name_, status.mps_mscount, name_))
      mach_port_deallocate(mach_task_self(), previous);
    return true;
  }
  return false;
}

bool ProxyPort::on_message(ReceivedMessage message) {
  // Behind messages that wait for the peer, in order (a no-senders
  // notification included: it must come after them).
  if (kind_ != Kind::kSendOnce && (redirect_ != nullptr || !waiting_.empty() || in_flight_ >= window_)) {
    waiting_.push_back(kj::mv(message));
    return true;
  }
  return handle(kj::mv(message));
}

bool ProxyPort::handle(ReceivedMessage message) {
  const mach_msg_id_t id = message.header()->msgh_id;
  if ((id == MACH_NOTIFY_NO_SENDERS || id == MACH_NOTIFY_SEND_ONCE) && from_kernel(message)) {
    if (id == MACH_NOTIFY_NO_SENDERS && kind_ != Kind::kSendOnce) return on_no_senders();
    // The send-once right died unused: the peer's goes too (released with
    // this proxy), and its home gets the same notification.
    return kind_ != Kind::kSendOnce;
  }
  if (kind_ == Kind::kSendOnce) {
    forward(kj::mv(message));
    return false;  // its one message
  }
  forward(kj::mv(message));
  return true;
}

void ProxyPort::forward(ReceivedMessage message) {
  auto request = target_.sendRequest();
  if (!encode_message(message, *peer_, request.initMessage())) {
    fprintf(stderr, "mach-netmsgd: a message (id %d) with a descriptor the network cannot carry was dropped\n",
            message.header()->msgh_id);
    return;
  }
  auto sender = request.getMessage().initSender();
  sender.setHost(peer_->server().host_name());
  const mach_msg_audit_trailer_t* t = message.trailer();
  sender.setUid(t->msgh_audit.val[1]);
  sender.setGid(t->msgh_audit.val[2]);
  sender.setPid(static_cast<int32_t>(t->msgh_audit.val[5]));
  in_flight_++;
  if (in_flight_ >= window_ && in_set_ && kind_ != Kind::kSendOnce) {
    peer_->server().inbox().remove(name_);
    in_set_ = false;
  }
  if (kind_ == Kind::kSendOnce) {
    // The proxy ends with this message; the call outlives it.
    peer_->keep(request.send().ignoreResult());
    return;
  }
  Peer* peer = peer_;
  const mach_port_t name = name_;
  peer_->keep(request.send().then(
      [peer, name](auto&&) { peer->on_proxy_sent(name); },
      [peer, name](kj::Exception&& e) {
        // The port died at home (or the right was already used): so does the proxy.
        if (e.getType() == kj::Exception::Type::DISCONNECTED || e.getType() == kj::Exception::Type::FAILED)
          peer->destroy_proxy(name);
      }));
}

void ProxyPort::begin_redirect(Peer& to, Port::Client target, uint64_t id) {
  redirect_ = Redirect{&to, kj::mv(target), id};
  if (in_flight_ == 0) finish_redirect();
}

void ProxyPort::finish_redirect() {
  KJ_IF_MAYBE(r, redirect_) {
    Peer* to = r->to;
    Port::Client target = kj::mv(r->target);
    const uint64_t id = r->id;
    redirect_ = nullptr;
    std::unique_ptr<ProxyPort> self = peer_->detach_proxy(name_);
    if (!self) return;
    target_ = kj::mv(target);  // the route through the third host is released
    home_id_ = id;
    peer_ = to;
    to->attach_proxy(std::move(self));
  }
}

bool ProxyPort::sent_one() {
  if (in_flight_ > 0) in_flight_--;
  if (redirect_ != nullptr) {
    if (in_flight_ > 0) return true;
    finish_redirect();
  }
  while (in_flight_ < window_ && !waiting_.empty()) {
    ReceivedMessage m = kj::mv(waiting_.front());
    waiting_.pop_front();
    if (!handle(kj::mv(m))) return false;
  }
  if (in_flight_ < window_ && !in_set_ && name_ != MACH_PORT_NULL) {
    peer_->server().inbox().add(name_);
    in_set_ = true;
  }
  return true;
}

}  // namespace netmsg
