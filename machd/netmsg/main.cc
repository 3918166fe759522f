// machd/netmsg/main.cc — mach-netmsgd, the network message server: ports
// across hosts over Cap'n Proto RPC (README.md).
//
//   mach-netmsgd [--host-name NAME] [--listen ADDR:PORT]... [--peer ADDR:PORT]...
//                [--heartbeat SECS] [--service-name NAME] [--advertise ADDR:PORT] [--export NAME]...
//                [--verbose]
//                [--tls-certificate PEM --tls-key PEM --tls-trust PEM [--tls-peer-name NAME]]
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include <signal.h>
#include <unistd.h>

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/debug.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "machd_version.h"
#include "net_server.h"
#include "syscall_filter.h"

namespace {

void usage(FILE* out) {
  fprintf(out,
          "usage: mach-netmsgd [--host-name NAME] [--listen ADDR:PORT]... [--peer ADDR:PORT]...\n"
          "                    [--heartbeat SECS] [--service-name NAME] [--advertise ADDR:PORT]\n"
          "                    [--export NAME]... [--verbose]\n"
          "                    [--tls-certificate PEM --tls-key PEM --tls-trust PEM [--tls-peer-name NAME]]\n"
          "       mach-netmsgd --help | --version\n"
          "Carries Mach messages between this host's machd and other hosts' network\n"
          "message servers: a send right to a port on another host is a proxy port here.\n"
          "Tasks find remote ports with netname_look_up (<servers/netname.h>).\n"
          "\n"
          "  --host-name NAME     this host's name for netname (default: the system's)\n"
          "  --listen ADDR:PORT   accept peers here (repeatable)\n"
          "  --peer ADDR:PORT     connect to this peer, and again whenever it is lost (repeatable)\n"
          "  --heartbeat SECS     a dead peer or a cut link is noticed within 4 x SECS, a peer that\n"
          "                       stopped answering within 8 x SECS (default 1)\n"
          "  --service-name NAME  the bootstrap name of the netname port (default netname)\n"
          "  --tls-certificate, --tls-key, --tls-trust PEM\n"
          "                       authenticate and encrypt with TLS: this host's certificate and\n"
          "                       key, and the certificates its peers' must chain to\n"
          "  --tls-peer-name NAME the name peers' certificates carry (default mach-netmsgd)\n"
          "  --advertise ADDR:PORT  where other hosts reach this one (default: the first --listen)\n"
          "  --export NAME        answer netname look-ups of NAME with the bootstrap service of that\n"
          "                       name on this host (repeatable; e.g. a pager's object)\n"
          "  --verbose            log connections, disconnections and redirects on stderr\n"
          "\n"
          "SIGTERM, SIGINT: close every connection (rights into other hosts become dead\n"
          "names) and exit 0. Exit status 1 if it cannot start, 2 for a usage error.\n");
}

}  // namespace

int main(int argc, char** argv) {
  netmsg::ServerOptions options;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  options.host_name = host;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--verbose" || a == "-v") {
      options.verbose = true;
      continue;
    }
    if (a == "--version" || a == "-V") {
      printf("mach-netmsgd (machd) %s\n", MACHD_VERSION);
      return 0;
    }
    const bool takes_value = a == "--host-name" || a == "--listen" || a == "--peer" || a == "--heartbeat" ||
                             a == "--service-name" || a == "--tls-certificate" || a == "--tls-key" ||
                             a == "--tls-trust" || a == "--tls-peer-name" || a == "--advertise" || a == "--export";
    if (!takes_value) {
      fprintf(stderr, "mach-netmsgd: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "mach-netmsgd: %s needs a value\n", argv[i]);
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--host-name") options.host_name = v;
    else if (a == "--listen") options.listen.push_back(v);
    else if (a == "--peer") options.peers.push_back(v);
    else if (a == "--service-name") options.service_name = v;
    else if (a == "--tls-certificate") options.transport.tls_certificate = v;
    else if (a == "--tls-key") options.transport.tls_key = v;
    else if (a == "--tls-trust") options.transport.tls_trust = v;
    else if (a == "--tls-peer-name") options.transport.tls_peer_name = v;
    else if (a == "--advertise") options.advertise = v;
    else if (a == "--export") options.exports.push_back(v);
    else if (a == "--heartbeat") {
      char* end = nullptr;
      unsigned long s = strtoul(v.c_str(), &end, 10);
      if (*end != '\0' || s == 0 || s > 3600) {
        fprintf(stderr, "mach-netmsgd: --heartbeat: '%s' is not a whole number of seconds from 1 to 3600\n", v.c_str());
        return 2;
      }
      options.transport.heartbeat_seconds = static_cast<unsigned>(s);
    }
  }
  if (options.host_name.empty() || options.host_name.size() >= 80) {
    fprintf(stderr, "mach-netmsgd: --host-name: '%s' is not 1 to 79 bytes\n", options.host_name.c_str());
    return 2;
  }

  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  signal(SIGPIPE, SIG_IGN);
  auto io = kj::setupAsyncIo();
  kj::Maybe<kj::Exception> failed;
  {
    kj::Own<netmsg::NetServer> server;
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
                  server = kj::heap<netmsg::NetServer>(io, options);
                  server->run().wait(io.waitScope);
                })) {
      fprintf(stderr, "mach-netmsgd: cannot start: %s\n", e->getDescription().cStr());
      return 1;
    }
    // Serving: from here on only the system calls a Mach task that talks
    // to other hosts makes (no exec, fork, ptrace, mount, ...).
    std::string why;
    if (!machd::install_syscall_filter(machd::FilterProfile::kNetwork, &why))
      fprintf(stderr, "mach-netmsgd: running without a system-call filter: %s\n", why.c_str());
    auto term = io.unixEventPort.onSignal(SIGTERM);
    auto intr = io.unixEventPort.onSignal(SIGINT);
    term.exclusiveJoin(kj::mv(intr)).wait(io.waitScope);
    fprintf(stderr, "mach-netmsgd: exiting\n");
  }
  return 0;
}
