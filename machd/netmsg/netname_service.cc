// machd/netmsg/netname_service.cc — the netname routines (netname_service.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "netname_service.h"

#include <mach/mig_errors.h>
#include <servers/netname_defs.h>

#include <kj/debug.h>

#include <cstring>
#include <string>

#include "machd_version.h"
#include "net_server.h"
#include "netnameServer.h"
#include "peer.h"

namespace netmsg {

namespace {

// The request being served, for the routines MIG calls.
NetServer* g_server = nullptr;
mach_msg_header_t* g_request = nullptr;
// A reference the routine took for its reply (which copies the right):
// released once the reply is sent.
mach_port_t g_release_after_reply = MACH_PORT_NULL;

std::string bounded(const char* s) { return std::string(s, strnlen(s, sizeof(netname_name_t))); }

bool names_this_host(const std::string& host) {
  return host.empty() || host == "localhost" || host == g_server->host_name();
}

void send_reply(mach_msg_header_t* reply) {
  g_server->stamp(RemoteSender{});  // the server's own answer
  mach_msg_return_t mr = mach_msg(reply, MACH_SEND_MSG | MACH_SEND_TIMEOUT, reply->msgh_size, 0, MACH_PORT_NULL, 0,
                                  MACH_PORT_NULL);
  if (mr != MACH_MSG_SUCCESS) mach_msg_destroy(reply);
}

void reply_error(mach_port_t reply_port, mach_msg_type_name_t reply_type, mach_msg_id_t request_id,
                 kern_return_t code) {
  mig_reply_error_t r{};
  r.Head.msgh_bits = MACH_MSGH_BITS(reply_type, 0);
  r.Head.msgh_size = sizeof r;
  r.Head.msgh_remote_port = reply_port;
  r.Head.msgh_id = request_id + 100;
  r.NDR = NDR_record;
  r.RetCode = code;
  send_reply(&r.Head);
}

// Answers a look_up with the right `ref` from `peer`.
void reply_port(Peer& peer, PortRef::Reader ref, mach_port_t reply_port, mach_msg_type_name_t reply_type,
                mach_msg_id_t request_id) {
  if (ref.getKind() == PortRef::Kind::NULL_) return reply_error(reply_port, reply_type, request_id, NETNAME_NOT_CHECKED_IN);
  OutgoingMessage scratch;
  mach_port_t name = MACH_PORT_NULL;
  mach_msg_type_name_t disposition = MACH_MSG_TYPE_COPY_SEND;
  peer.import_right(ref, &name, &disposition, scratch);
  __Reply__netname_look_up_t r{};
  r.Head.msgh_bits = MACH_MSGH_BITS(reply_type, 0) | MACH_MSGH_BITS_COMPLEX;
  r.Head.msgh_size = sizeof r;
  r.Head.msgh_remote_port = reply_port;
  r.Head.msgh_id = request_id + 100;
  r.msgh_body.msgh_descriptor_count = 1;
  r.port_id.name = name;
  r.port_id.disposition = disposition;
  r.port_id.type = MACH_MSG_PORT_DESCRIPTOR;
  g_server->stamp(RemoteSender{});  // the server's own answer
  mach_msg_return_t mr = mach_msg(&r.Head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, r.Head.msgh_size, 0, MACH_PORT_NULL, 0,
                                  MACH_PORT_NULL);
  if (mr != MACH_MSG_SUCCESS) {
    release_rights(scratch.owned);
    mach_port_deallocate(mach_task_self(), reply_port);
  }
}

kj::Promise<void> ask(Peer& peer, const std::string& name, mach_port_t reply, mach_msg_type_name_t reply_type,
                      mach_msg_id_t id) {
  auto req = peer.remote().lookUpRequest();
  req.setName(name);
  Peer* p = &peer;
  return req.send().then(
      [p, reply, reply_type, id](capnp::Response<Host::LookUpResults>&& r) {
        reply_port(*p, r.getPort(), reply, reply_type, id);
      },
      [reply, reply_type, id](kj::Exception&&) { reply_error(reply, reply_type, id, NETNAME_HOST_NOT_FOUND); });
}

// "*": each peer in turn until one has the name.
kj::Promise<void> ask_each(std::vector<Peer*> peers, size_t at, std::string name, mach_port_t reply,
                           mach_msg_type_name_t reply_type, mach_msg_id_t id) {
  if (at == peers.size()) {
    reply_error(reply, reply_type, id, NETNAME_NOT_CHECKED_IN);
    return kj::READY_NOW;
  }
  auto req = peers[at]->remote().lookUpRequest();
  req.setName(name);
  Peer* p = peers[at];
  return req.send().then(
      [=](capnp::Response<Host::LookUpResults>&& r) -> kj::Promise<void> {
        if (r.getPort().getKind() == PortRef::Kind::NULL_) return ask_each(peers, at + 1, name, reply, reply_type, id);
        reply_port(*p, r.getPort(), reply, reply_type, id);
        return kj::READY_NOW;
      },
      [=](kj::Exception&&) { return ask_each(peers, at + 1, name, reply, reply_type, id); });
}

class LookUpTasks : public kj::TaskSet::ErrorHandler {
 public:
  void taskFailed(kj::Exception&& e) override {
    fprintf(stderr, "mach-netmsgd: netname_look_up: %s\n", e.getDescription().cStr());
  }
};
LookUpTasks g_errors;
kj::TaskSet* g_tasks = nullptr;

}  // namespace

void serve_netname(NetServer& server, ReceivedMessage& request) {
  if (g_tasks == nullptr) g_tasks = new kj::TaskSet(g_errors);  // lives as long as the process
  g_server = &server;
  mach_msg_header_t* in = request.header();
  g_request = in;
  union {
    union __ReplyUnion___netname_subsystem u;
    mig_reply_error_t e;
  } reply{};
  netname_server(in, &reply.e.Head);
  g_request = nullptr;
  const mach_port_t release = g_release_after_reply;
  g_release_after_reply = MACH_PORT_NULL;
  struct Release {
    mach_port_t name;
    ~Release() {
      if (MACH_PORT_VALID(name)) mach_port_deallocate(mach_task_self(), name);
    }
  } release_later{release};
  const bool complex = (reply.e.Head.msgh_bits & MACH_MSGH_BITS_COMPLEX) != 0;
  if (!complex && reply.e.RetCode == MIG_NO_REPLY) return;  // answered later, with the reply right
  if (!complex && reply.e.RetCode != KERN_SUCCESS) {
    in->msgh_remote_port = MACH_PORT_NULL;  // the reply right answers
    mach_msg_destroy(in);
  }
  if (!MACH_PORT_VALID(reply.e.Head.msgh_remote_port)) {
    mach_msg_destroy(&reply.e.Head);
    return;
  }
  send_reply(&reply.e.Head);
}

}  // namespace netmsg

using netmsg::g_request;
using netmsg::g_release_after_reply;
using netmsg::g_server;

extern "C" kern_return_t _netname_check_in(mach_port_t, netname_name_t port_name, mach_port_t signature,
                                           mach_port_t port_id) {
  if (!MACH_PORT_VALID(port_id)) return NETNAME_INVALID_PORT;
  return g_server->check_in(netmsg::bounded(port_name), signature, port_id);
}

extern "C" kern_return_t _netname_check_out(mach_port_t, netname_name_t port_name, mach_port_t signature) {
  kern_return_t kr = g_server->check_out(netmsg::bounded(port_name), signature);
  if (kr == NETNAME_SUCCESS && MACH_PORT_VALID(signature)) mach_port_deallocate(mach_task_self(), signature);
  return kr;
}

extern "C" kern_return_t _netname_version(mach_port_t, netname_name_t version) {
  snprintf(version, sizeof(netname_name_t), "mach-netmsgd %s", MACHD_VERSION);
  return KERN_SUCCESS;
}

extern "C" kern_return_t _netname_look_up(mach_port_t, netname_name_t host_name, netname_name_t port_name,
                                          mach_port_t* port_id) {
  const std::string host = netmsg::bounded(host_name);
  const std::string name = netmsg::bounded(port_name);
  if (netmsg::names_this_host(host)) {
    const mach_port_t port = g_server->look_up_local(name);
    if (port == MACH_PORT_NULL) return NETNAME_NOT_CHECKED_IN;
    netmsg::g_release_after_reply = port;  // the reply copies it; then it goes
    *port_id = port;
    return KERN_SUCCESS;
  }
  const mach_port_t reply = g_request->msgh_remote_port;
  const mach_msg_type_name_t reply_type = MACH_MSGH_BITS_REMOTE(g_request->msgh_bits);
  const mach_msg_id_t id = g_request->msgh_id;
  if (!MACH_PORT_VALID(reply)) return MIG_NO_REPLY;
  if (host == "*") {
    netmsg::g_tasks->add(netmsg::ask_each(g_server->peers(), 0, name, reply, reply_type, id));
    return MIG_NO_REPLY;
  }
  if (netmsg::Peer* peer = g_server->find_peer(host)) {
    netmsg::g_tasks->add(netmsg::ask(*peer, name, reply, reply_type, id));
    return MIG_NO_REPLY;
  }
  if (host.find(':') == std::string::npos) return NETNAME_NO_SUCH_HOST;
  netmsg::g_tasks->add(g_server->dial(host).then(
      [name, reply, reply_type, id](netmsg::Peer* peer) { return netmsg::ask(*peer, name, reply, reply_type, id); },
      [reply, reply_type, id](kj::Exception&&) {
        netmsg::reply_error(reply, reply_type, id, NETNAME_HOST_NOT_FOUND);
      }));
  return MIG_NO_REPLY;
}
