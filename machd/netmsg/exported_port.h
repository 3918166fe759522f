// machd/netmsg/exported_port.h — a right of this host that a peer holds:
// the Cap'n Proto object behind the peer's proxy.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <mach/mach.h>

#include <kj/async.h>

#include <cstdint>
#include <string>

#include "netmsg.capnp.h"

namespace netmsg {

class Peer;

// A send right (one user reference of `name`, kept while any reference of
// the peer lives) or a send-once right. Messages the peer sends through it
// are delivered to the port in the order they were sent; one waiting on a
// full queue holds the later ones back (per port: other ports go on).
class ExportedPort final : public Port::Server {
 public:
  ExportedPort(Peer& peer, mach_port_t name, uint64_t id, bool send_once);
  ~ExportedPort();

  mach_port_t name() const { return name_; }
  uint64_t id() const { return id_; }
  bool send_once() const { return send_once_; }

  // A send-once right the peer sent back home: the caller moves the right
  // (it is no longer this object's to release).
  void give_up_right() { used_ = true; }
  bool used() const { return used_; }

  // A send right's secret (16 random bytes) another host redeems it with
  // (Home.token); empty for send-once rights.
  const std::string& token() const { return token_; }

  // A new reference to this object, for a PortRef.
  Port::Client client() { return thisCap(); }

  // The peer is going away: the right is released when the object is.
  void detach() { peer_ = nullptr; }

 protected:
  kj::Promise<void> send(SendContext context) override;

 private:
  Peer* peer_;
  const mach_port_t name_;
  const uint64_t id_;
  const bool send_once_;
  bool used_ = false;
  std::string token_;
  // The delivery of the last message: the next one waits for it.
  kj::ForkedPromise<void> tail_;
};

}  // namespace netmsg
