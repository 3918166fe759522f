// machd/netmsg/transport.cc — TCP and TLS between hosts (transport.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <kj/debug.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace netmsg {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  KJ_REQUIRE(in.good(), "cannot read", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The PEM certificates in `text`, one per BEGIN/END block.
std::vector<std::string> split_certificates(const std::string& text) {
  std::vector<std::string> out;
  const std::string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
  size_t at = 0;
  for (;;) {
    size_t b = text.find(begin, at);
    if (b == std::string::npos) break;
    size_t e = text.find(end, b);
    KJ_REQUIRE(e != std::string::npos, "unterminated certificate");
    out.push_back(text.substr(b, e + end.size() - b) + "\n");
    at = e + end.size();
  }
  return out;
}

}  // namespace

Transport::Transport(kj::AsyncIoContext& io, TransportOptions options) : io_(io), options_(kj::mv(options)) {
  const bool any = !options_.tls_certificate.empty() || !options_.tls_key.empty() || !options_.tls_trust.empty();
  if (!any) return;
  KJ_REQUIRE(!options_.tls_certificate.empty() && !options_.tls_key.empty() && !options_.tls_trust.empty(),
             "TLS needs a certificate, its key and the certificates to trust");
  key_ = kj::heap<kj::TlsPrivateKey>(kj::StringPtr(read_file(options_.tls_key).c_str()));
  certificate_ = kj::heap<kj::TlsCertificate>(kj::StringPtr(read_file(options_.tls_certificate).c_str()));
  auto pems = split_certificates(read_file(options_.tls_trust));
  KJ_REQUIRE(!pems.empty(), "no certificate in", options_.tls_trust);
  auto builder = kj::heapArrayBuilder<kj::TlsCertificate>(pems.size());
  for (auto& pem : pems) builder.add(kj::StringPtr(pem.c_str()));
  trusted_ = builder.finish();
  keypair_ = kj::heap<kj::TlsKeypair>(kj::TlsKeypair{*key_, *certificate_});
  kj::TlsContext::Options o;
  o.useSystemTrustStore = false;
  o.verifyClients = true;
  o.trustedCertificates = trusted_;
  o.defaultKeypair = *keypair_;
  tls_ = kj::heap<kj::TlsContext>(kj::mv(o));
}

Transport::~Transport() = default;

void Transport::tune(kj::AsyncIoStream& stream) const {
  KJ_IF_MAYBE(fd, stream.getFd()) {
    int one = 1;
    int idle = static_cast<int>(options_.heartbeat_seconds);
    int count = 3;
    unsigned timeout_ms = options_.heartbeat_seconds * 4000;
    setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(*fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(*fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(*fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof idle);
    setsockopt(*fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    setsockopt(*fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof timeout_ms);
  }
}

kj::Promise<kj::Own<kj::AsyncIoStream>> Transport::connect(const std::string& address) {
  return io_.provider->getNetwork()
      .parseAddress(address)
      .then([](kj::Own<kj::NetworkAddress> a) { return a->connect(); })
      .then([this](kj::Own<kj::AsyncIoStream> s) -> kj::Promise<kj::Own<kj::AsyncIoStream>> {
        tune(*s);
        if (tls_.get() == nullptr) return kj::mv(s);
        return tls_->wrapClient(kj::mv(s), options_.tls_peer_name);
      });
}

kj::Promise<kj::Own<kj::ConnectionReceiver>> Transport::listen(const std::string& address) {
  return io_.provider->getNetwork().parseAddress(address).then(
      [](kj::Own<kj::NetworkAddress> a) { return a->listen(); });
}

kj::Promise<kj::Own<kj::AsyncIoStream>> Transport::accept(kj::ConnectionReceiver& listener) {
  return listener.accept().then([this](kj::Own<kj::AsyncIoStream> s) -> kj::Promise<kj::Own<kj::AsyncIoStream>> {
    tune(*s);
    if (tls_.get() == nullptr) return kj::mv(s);
    return tls_->wrapServer(kj::mv(s));
  });
}

}  // namespace netmsg
