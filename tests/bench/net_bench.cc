// tests/bench/net_bench.cc — Mach IPC between two hosts (a machd and a
// mach-netmsgd each, tests/net/hosts.h) beside its floors, measured in the
// same run: the hosts sit in two network namespaces joined by veth pairs
// to a bridge (root), else on loopback.
//
//   net_bench --machd PATH --netmsgd PATH --net-task PATH [--iters N] [--loopback]
//
// Rows (net_task does the Mach side; this process is no Mach task):
//   null RPC     p50/p99 of a remote RPC with no data, beside a TCP round
//                trip of 32 bytes between the same namespaces (a plain
//                socket ping-pong) and an RPC through one machd; target
//                p50 <= TCP RTT + 2 local RPCs + 10 %
//   stream       one-way 4-byte messages per second, remote beside local
//   OOL 64 MiB   an RPC whose request and reply each carry 64 MiB out of
//                line (128 MiB moved), GB/s, beside a TCP bulk copy of
//                64 MiB between the namespaces
// Timing never fails a run; a failed call does (exit 1).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include "../net/hosts.h"
#include "../net/process.h"
#include "netmsg.capnp.h"

using nettest::Hosts;
using nettest::HostsOptions;
using nettest::ok_words;
using nettest::Task;

namespace {

int g_iters = 2000;

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void die(const std::string& what) {
  fprintf(stderr, "net_bench: %s\n", what.c_str());
  exit(1);
}

// Runs `body` in a child that joined `ns` ("" for none); the line it
// returns, read here ("" when it failed).
std::string in_netns(const std::string& ns, const std::function<std::string()>& body) {
  int p[2];
  if (pipe(p) != 0) return "";
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    if (!ns.empty()) {
      int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(1);
    }
    const std::string out = body() + "\n";
    (void)!write(p[1], out.data(), out.size());
    _exit(0);
  }
  close(p[1]);
  std::string line;
  nettest::read_line(p[0], &line, 300000);
  close(p[0]);
  waitpid(pid, nullptr, 0);
  return line;
}

bool full(int fd, void* buf, size_t n, bool reading) {
  auto* b = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = reading ? read(fd, b, n) : write(fd, b, n);
    if (r <= 0) return false;
    b += r;
    n -= size_t(r);
  }
  return true;
}

int tcp_socket() {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  return s;
}

// A TCP server in `ns` on `ip`: accepts one connection and runs `serve`
// on it. Its port in *port; the server's pid.
pid_t tcp_server(const std::string& ns, const std::string& ip, const std::function<void(int)>& serve, int* port) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    if (!ns.empty()) {
      int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(1);
    }
    int l = tcp_socket();
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    socklen_t len = sizeof a;
    if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      _exit(1);
    const int port_number = ntohs(a.sin_port);
    (void)!write(p[1], &port_number, sizeof port_number);
    int c = accept(l, nullptr, nullptr);
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    serve(c);
    _exit(0);
  }
  close(p[1]);
  if (read(p[0], port, sizeof *port) != sizeof *port) *port = -1;
  close(p[0]);
  return pid;
}

int tcp_connect(const std::string& ip, int port) {
  int s = tcp_socket();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  return s;
}

// TCP round trips of 32 bytes from `client_ns` to a server in `server_ns`:
// p50 and p99 in µs.
std::pair<double, double> tcp_rtt(const std::string& server_ns, const std::string& server_ip,
                                  const std::string& client_ns) {
  const int n = g_iters;
  int port = -1;
  pid_t server = tcp_server(server_ns, server_ip,
                            [n](int c) {
                              char b[32];
                              for (int i = 0; i < n + 200; i++)
                                if (!full(c, b, sizeof b, true) || !full(c, b, sizeof b, false)) return;
                            },
                            &port);
  if (server < 0 || port < 0) die("the TCP server did not start");
  const std::string line = in_netns(client_ns, [&]() -> std::string {
    int s = tcp_connect(server_ip, port);
    if (s < 0) return "";
    char b[32] = {};
    std::vector<double> t;
    for (int i = 0; i < n + 200; i++) {
      const double t0 = now_s();
      if (!full(s, b, sizeof b, false) || !full(s, b, sizeof b, true)) return "";
      if (i >= 200) t.push_back((now_s() - t0) * 1e6);
    }
    std::sort(t.begin(), t.end());
    return std::to_string(t[t.size() / 2]) + " " + std::to_string(t[t.size() * 99 / 100]);
  });
  waitpid(server, nullptr, 0);
  double p50 = 0, p99 = 0;
  if (sscanf(line.c_str(), "%lf %lf", &p50, &p99) != 2) die("the TCP round trips failed");
  return {p50, p99};
}

// What a Cap'n Proto round trip costs by itself: Host.ping calls from
// `client_ns` to a mach-netmsgd at `address` (this process as a peer that
// answers its pings): p50 and p99 in microseconds.
class PingingHost final : public Host::Server {
 protected:
  kj::Promise<void> hello(HelloContext context) override {
    context.getResults().setHostName("net-bench");
    return kj::READY_NOW;
  }
  kj::Promise<void> ping(PingContext) override { return kj::READY_NOW; }
};

std::pair<double, double> capnp_rtt(const std::string& client_ns, const std::string& address) {
  const std::string line = in_netns(client_ns, [&]() -> std::string {
    auto io = kj::setupAsyncIo();
    auto stream = io.provider->getNetwork().parseAddress(address).wait(io.waitScope)->connect().wait(io.waitScope);
    KJ_IF_MAYBE(fd, stream->getFd()) {
      int one = 1;
      setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    capnp::TwoPartyClient client(*stream, kj::heap<PingingHost>(), capnp::rpc::twoparty::Side::CLIENT);
    Host::Client host = client.bootstrap().castAs<Host>();
    auto hello = host.helloRequest();
    hello.setHostName("net-bench");
    hello.send().wait(io.waitScope);
    std::vector<double> t;
    for (int i = 0; i < g_iters + 200; i++) {
      const double t0 = now_s();
      host.pingRequest().send().wait(io.waitScope);
      if (i >= 200) t.push_back((now_s() - t0) * 1e6);
    }
    std::sort(t.begin(), t.end());
    return std::to_string(t[t.size() / 2]) + " " + std::to_string(t[t.size() * 99 / 100]);
  });
  double p50 = 0, p99 = 0;
  if (sscanf(line.c_str(), "%lf %lf", &p50, &p99) != 2) die("the Cap'n Proto round trips failed");
  return {p50, p99};
}

// A bulk copy of `bytes` over TCP (then a one-byte answer), best of 3: GB/s.
double tcp_bulk(const std::string& server_ns, const std::string& server_ip, const std::string& client_ns,
                uint64_t bytes) {
  double best = 0;
  for (int round = 0; round < 3; round++) {
    int port = -1;
    pid_t server = tcp_server(server_ns, server_ip,
                              [bytes](int c) {
                                std::vector<char> b(bytes);
                                char ack = 1;
                                if (full(c, b.data(), bytes, true)) full(c, &ack, 1, false);
                              },
                              &port);
    if (server < 0 || port < 0) die("the TCP server did not start");
    const std::string line = in_netns(client_ns, [&]() -> std::string {
      std::vector<char> b(bytes, 'x');
      int s = tcp_connect(server_ip, port);
      if (s < 0) return "";
      char ack;
      const double t0 = now_s();
      if (!full(s, b.data(), bytes, false) || !full(s, &ack, 1, true)) return "";
      return std::to_string(double(bytes) / (now_s() - t0) / 1e9);
    });
    waitpid(server, nullptr, 0);
    if (line.empty()) die("the TCP bulk copy failed");
    best = std::max(best, atof(line.c_str()));
  }
  return best;
}

std::vector<std::string> expect_ok(Task& t, const std::string& command, int timeout_ms = 120000) {
  const std::string a = t(command, timeout_ms);
  auto w = ok_words(a);
  if (a.rfind("ok", 0) != 0) die("`" + command + "`: " + a);
  return w;
}

// p50 and p99 (µs) of g_iters null RPCs from `client` to its port "e".
std::pair<double, double> null_rpc(Task& client) {
  expect_ok(client, "call e 200 0");
  auto w = expect_ok(client, "call e " + std::to_string(g_iters) + " 0");
  return {atof(w.at(0).c_str()), atof(w.at(1).c_str())};
}

// One-way messages per second from `sender` to `receiver`'s port "sink"
// (the sender holds it as "to_sink").
double stream(Task& sender, Task& receiver, int count) {
  receiver.send("sink sink " + std::to_string(count));
  const auto sent = expect_ok(sender, "stream to_sink " + std::to_string(count));
  const std::string a = receiver.answer(120000);
  auto w = ok_words(a);
  if (w.size() != 2 || sent.size() != 2) die("sink: " + a);
  // From the first send to the last receive (one monotonic clock for all).
  return double(count) / (double(std::stoull(w[1]) - std::stoull(sent[1])) * 1e-9);
}

}  // namespace

int main(int argc, char** argv) {
  bool loopback = false;
  std::string dsm_pager = "dsm-pager";
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (i + 1 < argc && a == "--machd") setenv("MACHD_BIN", argv[++i], 1);
    else if (i + 1 < argc && a == "--netmsgd") setenv("NETMSGD_BIN", argv[++i], 1);
    else if (i + 1 < argc && a == "--net-task") setenv("NET_TASK", argv[++i], 1);
    else if (i + 1 < argc && a == "--dsm-pager") dsm_pager = argv[++i];
    else if (i + 1 < argc && a == "--iters") g_iters = atoi(argv[++i]);
    else if (a == "--loopback") loopback = true;
    else {
      fprintf(stderr, "usage: net_bench --machd PATH --netmsgd PATH --net-task PATH --dsm-pager PATH [--iters N] "
                      "[--loopback]\n");
      return 2;
    }
  }
  nettest::Network::remove_stale();
  Hosts hosts;
  HostsOptions o;
  o.netns = !loopback;
  const std::string dsm_name = "net-bench-dsm." + std::to_string(getpid());
  o.extra = {{"--export", dsm_name}};
  std::string why, where;
  bool skip = false;
  if (!hosts.start(o, &why, &skip)) {
    if (!skip) die(why);
    where = "loopback (no network namespaces: " + why + ")";
    o.netns = false;
    if (!hosts.start(o, &why, &skip)) die(why);
  } else {
    where = o.netns ? "two network namespaces (veth pairs to a bridge)" : "loopback (--loopback)";
  }
  const std::string ns0 = o.netns ? hosts.network()->ns(0) : "";
  const std::string ns1 = o.netns ? hosts.network()->ns(1) : "";
  const std::string ip0 = o.netns ? hosts.network()->address(0) : "127.0.0.1";
  printf("net_bench: hosts h0 and h1 in %s; %d round trips per RPC figure\n", where.c_str(), g_iters);

  // Servers on both hosts: h0's for remote calls, h1's for local ones.
  Task& server0 = hosts.task(0);
  Task& server1 = hosts.task(1);
  for (Task* s : {&server0, &server1}) {
    expect_ok(*s, "new svc");
    expect_ok(*s, "checkin echo svc");
    expect_ok(*s, "serve svc");
    expect_ok(*s, "new sink 1024");
    expect_ok(*s, "checkin sink sink");
  }
  Task& remote = hosts.task(1);
  expect_ok(remote, "lookup h0 echo e");
  expect_ok(remote, "lookup h0 sink to_sink");
  Task& local = hosts.task(1);
  expect_ok(local, "lookup localhost echo e");
  expect_ok(local, "lookup localhost sink to_sink");

  const auto rpc_remote = null_rpc(remote);
  const auto rpc_local = null_rpc(local);
  const auto rtt = tcp_rtt(ns0, ip0, ns1);
  const auto capnp = capnp_rtt(ns1, hosts.address(0));
  const double target = (rtt.first + 2 * rpc_local.first) * 1.10;

  const int count = std::max(20000, g_iters * 10);
  stream(remote, server0, 1000);  // warm
  const double stream_remote = stream(remote, server0, count);
  const double stream_local = stream(local, server1, count);

  const uint64_t big = 64ull << 20;
  expect_ok(remote, "ool e " + std::to_string(big) + " 1");
  const double ool_us = atof(expect_ok(remote, "ool e " + std::to_string(big) + " 3").at(0).c_str());
  const double ool_gbs = 2.0 * double(big) / (ool_us * 1e-6) / 1e9;
  const double bulk_gbs = tcp_bulk(ns0, ip0, ns1, big);

  // A page fault on h1 served by dsm-pager on h0, beside one on h0. machd
  // asks for a cluster around a fault (64 pages, 256 KiB, aligned): each
  // touch is 512 pages from the last, so each is a fault of its own and no
  // read-ahead follows; h0's touches are in other clusters than h1's.
  int pager_out[2];
  if (pipe2(pager_out, O_CLOEXEC) != 0) die("pipe");
  nettest::Spawn pager;
  pager.argv = {dsm_pager, "--name", dsm_name, "--size", "130M"};
  pager.env = {"MACHD_SOCKET=" + hosts.socket(0)};
  pager.stdout_fd = pager_out[1];
  const pid_t pager_pid = nettest::spawn(pager);
  close(pager_out[1]);
  std::string banner;
  if (pager_pid < 0 || !nettest::read_line(pager_out[0], &banner, 10000)) die("dsm-pager did not start");
  Task& near_faults = hosts.task(0);
  Task& far_faults = hosts.task(1);
  expect_ok(near_faults, "lookup localhost " + dsm_name + " obj");
  expect_ok(far_faults, "lookup h0 " + dsm_name + " obj");
  const auto fault_local = expect_ok(near_faults, "fault obj 512 64 256");
  const auto fault_remote = expect_ok(far_faults, "fault obj 512 64 0");
  nettest::kill_and_wait(pager_pid);
  close(pager_out[0]);
  const double cluster_us = 64 * 4096.0 / (bulk_gbs * 1e9) * 1e6;
  const double fault_target = rtt.first + cluster_us + 2 * atof(fault_local.at(0).c_str());

  printf("\n%-44s %22s   %s\n", "row", "remote", "floor (same run)");
  printf("%-44s %9.1f / %7.1f us   TCP round trip 32 B %.1f / %.1f us; local RPC %.1f / %.1f us\n",
         "null RPC p50 / p99", rpc_remote.first, rpc_remote.second, rtt.first, rtt.second, rpc_local.first,
         rpc_local.second);
  printf("%-44s %9.1f us %s   (p50 <= TCP RTT + 2 local RPCs + 10 %%)\n", "  target p50", target,
         rpc_remote.first <= target ? "     met" : " not met");
  printf("%-44s %9.1f / %7.1f us   (Cap'n Proto alone: Host.ping to h0's mach-netmsgd)\n",
         "  Cap'n Proto round trip p50 / p99", capnp.first, capnp.second);
  printf("%-44s %15.0f /s     local %.0f /s (%d messages)\n", "stream 4 B messages, one-way", stream_remote,
         stream_local, count);
  printf("%-44s %12.2f GB/s     TCP bulk copy 64 MiB %.2f GB/s\n", "OOL 64 MiB RPC (64 MiB each way)", ool_gbs,
         bulk_gbs);
  printf("%-44s %9.1f / %7.1f us   local dsm-pager fault %s / %s us\n", "fault (256 KiB cluster) via dsm-pager p50/p99",
         atof(fault_remote.at(0).c_str()), atof(fault_remote.at(1).c_str()), fault_local.at(0).c_str(),
         fault_local.at(1).c_str());
  printf("%-44s %9.1f us %s   (p50 <= TCP RTT + 256 KiB at bulk rate + 2 local faults)\n", "  target p50", fault_target,
         atof(fault_remote.at(0).c_str()) <= fault_target ? "     met" : " not met");
  return 0;
}
