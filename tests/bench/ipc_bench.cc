// tests/bench/ipc_bench.cc — machd's IPC measured beside plain Linux, in one run.
//
//   ipc_bench [--machd PATH | --socket PATH] [--iters N] [--only one|both]
//             [--rpc-only | --stream-only] [--stream-count N]
//
// (--socket measures an already running machd, e.g. one under valgrind.)
// For each CPU configuration (all processes pinned to CPU 0, then free on
// both CPUs) it starts a private machd with that affinity and measures:
//   rpc64     64-byte request + reply through machd (mach_msg SEND|RCV): a
//             hand-written server loop (receive, then reply-and-receive) and a
//             client on mig_get_reply_port(), the service checked in
//   rpc64 shapes  the same RPC as other programs write it: both ends on
//             mach_msg_overwrite with a mach_reply_port() and a
//             bootstrap_register()ed service; mach_msg_server; a loop of
//             mach_msg_server_once (each with a MIG-style demux)
//   rpc64 traced  the same with a tracer attached (machd_introspect_trace)
//             whose filter names another port: what tracing costs machd's
//             send path when it describes every send and emits nothing
//   seqpacket the same exchange over a direct AF_UNIX SOCK_SEQPACKET pair
//   stream    one-way 64-byte messages, sender → receiver (qlimit 1024)
//   ool 1M / ool 64M  out-of-line transfer with deallocate (zero-copy move)
//   memcpy 1M / 64M   memcpy of the same size into a pre-faulted buffer
// and prints a table with the ratios the targets are stated in.
#include <mach/mach.h>
#include <machd/machd_debug.h>
#include <sched.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "../common/private_machd.h"
#include "machd_introspect.h"

extern "C" {
#include "machd_introspectUser.h"
}

namespace {

int g_iters = 20000;
bool g_rpc_only = false;     // --rpc-only: the RPC rows alone (for profiling)
bool g_stream_only = false;  // --stream-only: the streaming row alone (for profiling)
int g_stream_count = 1000000;

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void pin(bool one_cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (one_cpu) {
    CPU_SET(0, &set);
  } else {
    for (int i = 0; i < CPU_SETSIZE && i < 64; ++i) CPU_SET(i, &set);
  }
  sched_setaffinity(0, sizeof set, &set);
}

struct Msg64 {
  mach_msg_header_t head;
  uint8_t payload[64];
};
struct Rcv64 {
  Msg64 m;
  mach_msg_max_trailer_t trailer;
};

void write_all(int fd, const void* p, size_t n) { (void)!write(fd, p, n); }

// ---- RPC through machd -----------------------------------------------------
// The shapes real programs give an RPC. Each server answers a 64-byte
// request with a 64-byte reply to the request's send-once right; request
// id 999 ends it.
enum class Server {
  kHandLoop,      // receive, then reply-and-receive with mach_msg (one buffer)
  kOverwrite,     // reply-and-receive with mach_msg_overwrite (reply and request buffers apart)
  kMsgServer,     // libsyscall's mach_msg_server and a MIG-style demux
  kMsgServerOnce  // mach_msg_server_once in a loop
};
enum class Client {
  kMigReplyPort,  // mach_msg SEND|RCV on mig_get_reply_port() (what MIG user stubs do)
  kOverwrite      // mach_msg_overwrite SEND|RCV on a port from mach_reply_port(), buffers apart
};
enum class Naming {
  kCheckIn,  // bootstrap_check_in (launchd's way)
  kRegister  // the server allocates a port and bootstrap_register()s it (the older way)
};
struct RpcShape {
  Server server;
  Client client;
  Naming naming;
};

// A MIG-style demux: the reply echoes the request's payload.
boolean_t echo_demux(mach_msg_header_t* in, mach_msg_header_t* out) {
  if (in->msgh_id == 999) _exit(0);
  mig_reply_setup(in, out);  // header as MIG's demux writes it
  auto* rep = reinterpret_cast<Msg64*>(out);
  rep->head.msgh_size = sizeof(Msg64);
  memcpy(rep->payload, reinterpret_cast<Msg64*>(in)->payload, sizeof rep->payload);
  return TRUE;
}

[[noreturn]] void serve_rpc(const std::string& name, const RpcShape& shape) {
  mach_port_t port = MACH_PORT_NULL;
  if (shape.naming == Naming::kCheckIn) {
    if (bootstrap_check_in(bootstrap_port, name.c_str(), &port) != KERN_SUCCESS) _exit(1);
  } else {
    if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port) != KERN_SUCCESS ||
        mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND) != KERN_SUCCESS ||
        bootstrap_register(bootstrap_port, const_cast<char*>(name.c_str()), port) != KERN_SUCCESS)
      _exit(1);
  }
  switch (shape.server) {
    case Server::kMsgServer:
      mach_msg_server(echo_demux, sizeof(Rcv64), port, 0);
      _exit(3);
    case Server::kMsgServerOnce:
      for (;;)
        if (mach_msg_server_once(echo_demux, sizeof(Rcv64), port, 0) != MACH_MSG_SUCCESS) _exit(3);
    case Server::kHandLoop:
    case Server::kOverwrite:
      break;
  }
  Rcv64 request{};
  Rcv64 reply_buf{};
  // Receive the first request, then reply-and-receive in one call, as servers do.
  if (mach_msg(&request.m.head, MACH_RCV_MSG, 0, sizeof request, port, 0, 0) != MACH_MSG_SUCCESS) _exit(2);
  for (;;) {
    if (request.m.head.msgh_id == 999) _exit(0);
    mach_msg_return_t mr;
    if (shape.server == Server::kHandLoop) {
      mach_port_t reply = request.m.head.msgh_remote_port;
      request.m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
      request.m.head.msgh_size = sizeof(Msg64);
      request.m.head.msgh_remote_port = reply;
      request.m.head.msgh_local_port = MACH_PORT_NULL;
      request.m.head.msgh_id += 100;
      mr = mach_msg(&request.m.head, MACH_SEND_MSG | MACH_RCV_MSG, sizeof(Msg64), sizeof request, port, 0, 0);
    } else {
      echo_demux(&request.m.head, &reply_buf.m.head);
      mr = mach_msg_overwrite(&reply_buf.m.head, MACH_SEND_MSG | MACH_RCV_MSG, sizeof(Msg64), sizeof request, port,
                              0, 0, &request.m.head, 0);
    }
    if (mr != MACH_MSG_SUCCESS) _exit(3);
  }
}

double bench_rpc(const std::string& name, const RpcShape& shape) {
  pid_t server = fork();
  if (server == 0) serve_rpc(name, shape);
  mach_port_t dest = MACH_PORT_NULL;
  for (int i = 0; i < 1000 && bootstrap_look_up(bootstrap_port, name.c_str(), &dest) != KERN_SUCCESS; ++i)
    usleep(1000);
  const bool overwrite = shape.client == Client::kOverwrite;
  mach_port_t reply = overwrite ? mach_reply_port() : mig_get_reply_port();
  Rcv64 request{};
  Rcv64 answer{};
  auto once = [&](int id) {
    request.m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
    request.m.head.msgh_size = sizeof(Msg64);
    request.m.head.msgh_remote_port = dest;
    request.m.head.msgh_local_port = reply;
    request.m.head.msgh_id = id;
    if (overwrite)
      return mach_msg_overwrite(&request.m.head, MACH_SEND_MSG | MACH_RCV_MSG, sizeof(Msg64), sizeof answer, reply, 0,
                                0, &answer.m.head, 0);
    return mach_msg(&request.m.head, MACH_SEND_MSG | MACH_RCV_MSG, sizeof(Msg64), sizeof request, reply, 0, 0);
  };
  for (int i = 0; i < 200; ++i) once(1);
  double t0 = now_s();
  for (int i = 0; i < g_iters; ++i)
    if (once(1) != MACH_MSG_SUCCESS) return -1;
  double t = now_s() - t0;
  Msg64 stop{};
  stop.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  stop.head.msgh_size = sizeof stop;
  stop.head.msgh_remote_port = dest;
  stop.head.msgh_id = 999;
  mach_msg(&stop.head, MACH_SEND_MSG, sizeof stop, 0, 0, 0, 0);
  waitpid(server, nullptr, 0);
  mach_port_deallocate(mach_task_self(), dest);
  if (overwrite) mach_port_mod_refs(mach_task_self(), reply, MACH_PORT_RIGHT_RECEIVE, -1);
  return t / g_iters * 1e6;  // µs per round trip
}

// The rows for the shapes, in the order printed.
struct ShapeRow {
  const char* key;
  const char* label;
  RpcShape shape;
};
const ShapeRow kShapeRows[] = {
    {"rpc64_overwrite_us", "  overwrite both ends, registered", {Server::kOverwrite, Client::kOverwrite, Naming::kRegister}},
    {"rpc64_server_overwrite_us", "    only the server's overwrite", {Server::kOverwrite, Client::kMigReplyPort, Naming::kCheckIn}},
    {"rpc64_client_overwrite_us", "    only the client's", {Server::kHandLoop, Client::kOverwrite, Naming::kCheckIn}},
    {"rpc64_register_us", "    only bootstrap_register", {Server::kHandLoop, Client::kMigReplyPort, Naming::kRegister}},
    {"rpc64_msg_server_us", "  mach_msg_server", {Server::kMsgServer, Client::kMigReplyPort, Naming::kCheckIn}},
    {"rpc64_msg_server_once_us", "  mach_msg_server_once loop", {Server::kMsgServerOnce, Client::kMigReplyPort, Naming::kCheckIn}},
};
constexpr RpcShape kHandLoop{Server::kHandLoop, Client::kMigReplyPort, Naming::kCheckIn};

// ---- a tracer on another port ------------------------------------------------
// Attaches a tracer to machd whose filter is a port of its own that nothing
// sends to; returns that port (destroying it detaches the tracer at the
// next traced send), MACH_PORT_NULL if machd refused.
mach_port_t attach_idle_tracer() {
  mach_port_t port = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port) != KERN_SUCCESS) return MACH_PORT_NULL;
  ipc_info_space_t info;
  ipc_info_name_array_t table = nullptr;
  mach_msg_type_number_t count = 0;
  ipc_info_tree_name_array_t tree = nullptr;
  mach_msg_type_number_t tree_count = 0;
  uint32_t object = 0;
  if (mach_port_space_info(mach_task_self(), &info, &table, &count, &tree, &tree_count) == KERN_SUCCESS) {
    for (mach_msg_type_number_t i = 0; i < count; ++i)
      if (table[i].iin_name == port) object = table[i].iin_object;
    vm_deallocate(mach_task_self(), vm_address_t(table), count * sizeof *table);
  }
  mach_port_t host = mach_host_self();
  kern_return_t kr = machd_introspect_trace(host, port, MACHD_TRACE_PORT, 0, object, 0);
  mach_port_deallocate(mach_task_self(), host);
  if (object == 0 || kr != KERN_SUCCESS) {
    mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
    return MACH_PORT_NULL;
  }
  return port;
}

// ---- a null trap: one round trip to machd ------------------------------------------
double bench_ping() {
  for (int i = 0; i < 200; ++i) machd_debug_ping();
  double t0 = now_s();
  for (int i = 0; i < g_iters; ++i)
    if (machd_debug_ping() != KERN_SUCCESS) return -1;
  return (now_s() - t0) / g_iters * 1e6;
}

// ---- direct SOCK_SEQPACKET -----------------------------------------------------
double bench_seqpacket() {
  int sv[2];
  socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
  pid_t peer = fork();
  if (peer == 0) {
    close(sv[0]);
    char b[64];
    for (;;) {
      ssize_t n = read(sv[1], b, sizeof b);
      if (n <= 0) _exit(0);
      write_all(sv[1], b, size_t(n));
    }
  }
  close(sv[1]);
  char b[64] = {};
  for (int i = 0; i < 200; ++i) {
    write_all(sv[0], b, 64);
    (void)!read(sv[0], b, 64);
  }
  double t0 = now_s();
  for (int i = 0; i < g_iters; ++i) {
    write_all(sv[0], b, 64);
    (void)!read(sv[0], b, 64);
  }
  double t = now_s() - t0;
  close(sv[0]);
  waitpid(peer, nullptr, 0);
  return t / g_iters * 1e6;
}

// ---- streaming ----------------------------------------------------------------------
double bench_stream(const std::string& name, int count) {
  int done[2];
  (void)!pipe(done);
  pid_t receiver = fork();
  if (receiver == 0) {
    mach_port_t port = MACH_PORT_NULL;
    if (bootstrap_check_in(bootstrap_port, name.c_str(), &port) != KERN_SUCCESS) _exit(1);
    mach_port_limits_t lim{MACH_PORT_QLIMIT_LARGE};
    mach_port_set_attributes(mach_task_self(), port, MACH_PORT_LIMITS_INFO, reinterpret_cast<mach_port_info_t>(&lim),
                             MACH_PORT_LIMITS_INFO_COUNT);
    Rcv64 buf{};
    double first = 0;
    for (int i = 0; i < count; ++i) {
      if (mach_msg(&buf.m.head, MACH_RCV_MSG, 0, sizeof buf, port, 0, 0) != MACH_MSG_SUCCESS) _exit(2);
      if (i == 0) first = now_s();
    }
    double t = now_s() - first;
    write_all(done[1], &t, sizeof t);
    _exit(0);
  }
  mach_port_t dest = MACH_PORT_NULL;
  for (int i = 0; i < 1000 && bootstrap_look_up(bootstrap_port, name.c_str(), &dest) != KERN_SUCCESS; ++i)
    usleep(1000);
  usleep(20000);  // let the receiver raise its qlimit
  Msg64 m{};
  for (int i = 0; i < count; ++i) {
    m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
    m.head.msgh_size = sizeof m;
    m.head.msgh_remote_port = dest;
    m.head.msgh_id = i;
    if (mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, 0, 0, 0) != MACH_MSG_SUCCESS) return -1;
  }
  double t = 0;
  (void)!read(done[0], &t, sizeof t);
  waitpid(receiver, nullptr, 0);
  close(done[0]);
  close(done[1]);
  mach_port_deallocate(mach_task_self(), dest);
  return (count - 1) / t;  // messages per second (first to last receive)
}

// ---- out-of-line ---------------------------------------------------------------------
double bench_ool(const std::string& name, size_t size, int reps) {
  int done[2];
  (void)!pipe(done);
  pid_t receiver = fork();
  if (receiver == 0) {
    mach_port_t port = MACH_PORT_NULL;
    if (bootstrap_check_in(bootstrap_port, name.c_str(), &port) != KERN_SUCCESS) _exit(1);
    for (int r = 0; r < reps; ++r) {
      struct {
        mach_msg_header_t head;
        mach_msg_body_t body;
        mach_msg_ool_descriptor_t ool;
        mach_msg_max_trailer_t trailer;
      } m{};
      if (mach_msg(&m.head, MACH_RCV_MSG, 0, sizeof m, port, 0, 0) != MACH_MSG_SUCCESS) _exit(2);
      double t = now_s();
      volatile uint8_t* p = static_cast<uint8_t*>(m.ool.address);
      if (p == nullptr || p[size - 1] != 0x5a) _exit(3);
      write_all(done[1], &t, sizeof t);
      vm_deallocate(mach_task_self(), vm_address_t(m.ool.address), m.ool.size);
    }
    _exit(0);
  }
  mach_port_t dest = MACH_PORT_NULL;
  for (int i = 0; i < 1000 && bootstrap_look_up(bootstrap_port, name.c_str(), &dest) != KERN_SUCCESS; ++i)
    usleep(1000);
  double total = 0;
  for (int r = 0; r < reps; ++r) {
    vm_address_t buf = 0;
    vm_allocate(mach_task_self(), &buf, size, VM_FLAGS_ANYWHERE);
    memset(reinterpret_cast<void*>(buf), 0x5a, size);  // the data exists before the clock starts
    struct {
      mach_msg_header_t head;
      mach_msg_body_t body;
      mach_msg_ool_descriptor_t ool;
    } m{};
    m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
    m.head.msgh_size = sizeof m;
    m.head.msgh_remote_port = dest;
    m.body.msgh_descriptor_count = 1;
    m.ool.address = reinterpret_cast<void*>(buf);
    m.ool.size = mach_msg_size_t(size);
    m.ool.deallocate = TRUE;
    m.ool.copy = MACH_MSG_VIRTUAL_COPY;
    m.ool.type = MACH_MSG_OOL_DESCRIPTOR;
    double t0 = now_s();
    if (mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, 0, 0, 0) != MACH_MSG_SUCCESS) return -1;
    double t1 = 0;
    (void)!read(done[0], &t1, sizeof t1);
    total += t1 - t0;
  }
  waitpid(receiver, nullptr, 0);
  close(done[0]);
  close(done[1]);
  mach_port_deallocate(mach_task_self(), dest);
  return double(size) * reps / total / 1e9;  // GB/s
}

double bench_memcpy(size_t size, int reps) {
  std::vector<uint8_t> src(size, 0x5a), dst(size, 0);
  double t0 = now_s();
  for (int r = 0; r < reps; ++r) {
    src[0] = uint8_t(r);
    memcpy(dst.data(), src.data(), size);
  }
  double t = now_s() - t0;
  if (dst[0] != uint8_t(reps - 1)) return -1;
  return double(size) * reps / t / 1e9;
}

// Runs every measurement in this process (a task of the machd at `sock`),
// printing "key value" lines to fd.
void run_all(int fd, bool one_cpu) {
  pin(one_cpu);
  std::string base = "org.machd.bench." + std::to_string(getpid());
  std::map<std::string, double> r;
  if (g_stream_only) {
    dprintf(fd, "stream_msgs_per_s %.6f\n", bench_stream(base + ".stream", g_stream_count));
    return;
  }
  r["ping_us"] = bench_ping();
  r["rpc64_us"] = bench_rpc(base + ".rpc", kHandLoop);
  for (const ShapeRow& row : kShapeRows) r[row.key] = bench_rpc(base + "." + row.key, row.shape);
  {
    mach_port_t tracer = attach_idle_tracer();
    r["rpc64_traced_us"] = tracer ? bench_rpc(base + ".rpct", kHandLoop) : -1;
    if (tracer) mach_port_mod_refs(mach_task_self(), tracer, MACH_PORT_RIGHT_RECEIVE, -1);
  }
  r["seqpacket_us"] = bench_seqpacket();
  if (g_rpc_only) {
    for (auto& [k, v] : r) dprintf(fd, "%s %.6f\n", k.c_str(), v);
    return;
  }
  r["stream_msgs_per_s"] = bench_stream(base + ".stream", g_stream_count);
  r["ool1m_gbs"] = bench_ool(base + ".ool1", 1 << 20, 50);
  r["memcpy1m_gbs"] = bench_memcpy(1 << 20, 200);
  r["ool64m_gbs"] = bench_ool(base + ".ool64", 64u << 20, 5);
  r["memcpy64m_gbs"] = bench_memcpy(64u << 20, 5);
  for (auto& [k, v] : r) dprintf(fd, "%s %.6f\n", k.c_str(), v);
}

std::string g_existing;  // --socket: measure a machd that is already running

std::map<std::string, double> run_config(const std::string& machd, bool one_cpu) {
  testsupport::PrivateMachd daemon;
  std::string sock = g_existing;
  if (sock.empty()) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    for (int i = 0; i < (one_cpu ? 1 : 64); ++i) CPU_SET(i, &cpus);
    if (!daemon.start(machd, "warn", &cpus)) {
      fprintf(stderr, "ipc_bench: machd did not start\n");
      exit(1);
    }
    sock = daemon.socket();
  }
  setenv("MACHD_SOCKET", sock.c_str(), 1);
  int out[2];
  (void)!pipe(out);
  pid_t c = fork();  // a fresh task of this machd
  if (c == 0) {
    close(out[0]);
    run_all(out[1], one_cpu);
    _exit(0);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, size_t(n));
  close(out[0]);
  waitpid(c, nullptr, 0);
  daemon.stop();
  std::map<std::string, double> r;
  char key[64];
  double v;
  const char* p = text.c_str();
  int used = 0;
  while (sscanf(p, "%63s %lf%n", key, &v, &used) == 2) {
    r[key] = v;
    p += used;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string machd = getenv("MACHD_BIN") ? getenv("MACHD_BIN") : "";
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--machd" && i + 1 < argc) machd = argv[++i];
    else if (a == "--iters" && i + 1 < argc) g_iters = atoi(argv[++i]);
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--socket" && i + 1 < argc) g_existing = argv[++i];
    else if (a == "--rpc-only") g_rpc_only = true;
    else if (a == "--stream-only") g_stream_only = true;
    else if (a == "--stream-count" && i + 1 < argc) g_stream_count = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: ipc_bench [--machd PATH | --socket PATH] [--iters N] [--only one|both] [--rpc-only]\n"
              "                 [--stream-only] [--stream-count N]\n");
      return 2;
    }
  }
  if (machd.empty() && g_existing.empty()) {
    fprintf(stderr, "ipc_bench: give --machd PATH (or MACHD_BIN)\n");
    return 2;
  }
  struct Config {
    const char* label;
    bool one;
  };
  std::vector<Config> configs;
  if (only != "both") configs.push_back({"1 CPU (all pinned to CPU 0)", true});
  if (only != "one") configs.push_back({"2 CPUs", false});
  printf("ipc_bench: %d round trips per RPC figure\n", g_iters);
  for (auto& c : configs) {
    auto r = run_config(machd, c.one);
    printf("\n== %s ==\n", c.label);
    printf("%-34s %14s\n", "measure", "value");
    printf("%-34s %11.2f us\n", "null trap (task -> machd -> task)", r["ping_us"]);
    printf("%-34s %11.2f us\n", "RPC 64 B through machd (hand loop)", r["rpc64_us"]);
    for (const ShapeRow& row : kShapeRows)
      printf("%-34s %11.2f us  %5.2fx the loop above\n", row.label, r[row.key], r[row.key] / r["rpc64_us"]);
    printf("%-34s %11.2f us\n", "RPC 64 B, a tracer on another port", r["rpc64_traced_us"]);
    printf("%-34s %11.2f us\n", "RPC 64 B direct SOCK_SEQPACKET", r["seqpacket_us"]);
    printf("%-34s %11.2f x   (target <= 1.5x on 1 CPU)\n", "  ratio machd / socket", r["rpc64_us"] / r["seqpacket_us"]);
    printf("%-34s %11.0f /s  (target >= 5,000,000 on 1 CPU)\n", "stream 64 B messages", r["stream_msgs_per_s"]);
    printf("%-34s %11.2f GB/s\n", "OOL 1 MiB, deallocate", r["ool1m_gbs"]);
    printf("%-34s %11.2f GB/s\n", "memcpy 1 MiB", r["memcpy1m_gbs"]);
    printf("%-34s %11.2f GB/s\n", "OOL 64 MiB, deallocate", r["ool64m_gbs"]);
    printf("%-34s %11.2f GB/s\n", "memcpy 64 MiB", r["memcpy64m_gbs"]);
    printf("%-34s %11.2f x   (target > 1 on 1 CPU)\n", "  ratio OOL 64 MiB / memcpy", r["ool64m_gbs"] / r["memcpy64m_gbs"]);
  }
  return 0;
}
