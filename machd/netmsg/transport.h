// machd/netmsg/transport.h — how network message servers reach each
// other: TCP, tuned to notice a dead peer within a bound, and TLS with
// keys the operator configures.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <kj/async-io.h>
#include <kj/compat/tls.h>

#include <string>

namespace netmsg {

struct TransportOptions {
  // A silent connection is probed after this many seconds, three probes
  // this far apart, and data unacknowledged this long (x4) ends it: a
  // host that died or a cut link is noticed within 4 x heartbeat seconds.
  unsigned heartbeat_seconds = 1;
  // TLS: this host's certificate and key (PEM), and the certificates it
  // trusts for its peers (PEM, one or more). All three or none (plain
  // TCP, for a network nobody else reaches).
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_trust;
  // The name peers' certificates must carry (subject or altName).
  std::string tls_peer_name = "mach-netmsgd";
};

class Transport {
 public:
  // Throws (kj) when the TLS files cannot be read or parsed.
  Transport(kj::AsyncIoContext& io, TransportOptions options);
  ~Transport();

  bool uses_tls() const { return tls_.get() != nullptr; }
  unsigned heartbeat_seconds() const { return options_.heartbeat_seconds; }

  // A connection to ADDR:PORT, authenticated when TLS is on.
  kj::Promise<kj::Own<kj::AsyncIoStream>> connect(const std::string& address);
  // A listener on ADDR:PORT (port 0: any; see bound_port).
  kj::Promise<kj::Own<kj::ConnectionReceiver>> listen(const std::string& address);
  // The next peer on `listener`, authenticated when TLS is on.
  kj::Promise<kj::Own<kj::AsyncIoStream>> accept(kj::ConnectionReceiver& listener);

 private:
  void tune(kj::AsyncIoStream& stream) const;

  kj::AsyncIoContext& io_;
  TransportOptions options_;
  kj::Own<kj::TlsPrivateKey> key_;
  kj::Own<kj::TlsCertificate> certificate_;
  kj::Array<kj::TlsCertificate> trusted_;
  kj::Own<kj::TlsKeypair> keypair_;
  kj::Own<kj::TlsContext> tls_;
};

}  // namespace netmsg
