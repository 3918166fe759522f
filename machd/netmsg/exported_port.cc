// machd/netmsg/exported_port.cc — a right a peer holds (exported_port.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "exported_port.h"

#include <sys/random.h>

#include <kj/debug.h>

#include "local_delivery.h"
#include "message_codec.h"
#include "net_server.h"
#include "peer.h"

namespace netmsg {

ExportedPort::ExportedPort(Peer& peer, mach_port_t name, uint64_t id, bool send_once)
    : peer_(&peer), name_(name), id_(id), send_once_(send_once), tail_(kj::Promise<void>(kj::READY_NOW).fork()) {
  if (!send_once) {
    token_.resize(16);
    KJ_REQUIRE(getrandom(token_.data(), token_.size(), 0) == ssize_t(token_.size()), "getrandom");
    peer.server().register_token(token_, this);
  }
}

ExportedPort::~ExportedPort() {
  if (peer_ != nullptr) {
    if (!token_.empty()) peer_->server().forget_token(token_);
    peer_->forget_export(this);
  }
  // Every reference of the peer is gone: so is the right (no-senders, or
  // the send-once notification, follow on this host).
  if (!used_) mach_port_deallocate(mach_task_self(), name_);
}

kj::Promise<void> ExportedPort::send(SendContext context) {
  KJ_REQUIRE(peer_ != nullptr, "the connection is closing");
  KJ_REQUIRE(!(send_once_ && used_), "a send-once right is used once");
  const mach_msg_type_name_t disposition = send_once_ ? MACH_MSG_TYPE_MOVE_SEND_ONCE : MACH_MSG_TYPE_COPY_SEND;
  if (send_once_) used_ = true;
  Peer* peer = peer_;
  const mach_port_t dest = name_;
  // In order behind the message before it: one waiting on a full queue
  // holds this port's later messages, never other ports'.
  auto done = tail_.addBranch()
                  .catch_([](kj::Exception&&) {})
                  .then([context, peer, dest, disposition]() mutable {
                    auto in = context.getParams().getMessage();
                    auto msg = decode_message(in, dest, disposition, *peer);
                    auto s = in.getSender();
                    RemoteSender sender{s.getHost().size() ? std::string(s.getHost().cStr()) : peer->host_name(),
                                        s.getPid(), s.getUid(), s.getGid()};
                    NetServer* server = &peer->server();
                    return deliver(kj::mv(msg), server->timer(), [server, sender]() { server->stamp(sender); });
                  })
                  .fork();
  tail_ = done.addBranch().catch_([](kj::Exception&&) {}).fork();
  return done.addBranch();
}

}  // namespace netmsg
