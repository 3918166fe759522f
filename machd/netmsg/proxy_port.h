// machd/netmsg/proxy_port.h — a port on this host that stands for a port
// on another: what tasks here send to it, this server forwards.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#pragma once

#include <mach/mach.h>

#include <kj/async.h>

#include <cstdint>
#include <deque>
#include <string>

#include "mach_inbox.h"
#include "netmsg.capnp.h"

namespace netmsg {

class Peer;

// This server holds the receive right. Kinds:
//  - kSend: stands for a send right the peer exported with `home_id`;
//    tasks here hold send rights made from it. When they have none (the
//    no-senders notification, requested on the proxy itself so that it
//    comes after the last message) the proxy goes and the peer's right
//    is released.
//  - kSendOnce: one send-once right was made from it; its one message, or
//    the send-once notification when the right dies unused, ends it.
//  - kForwarder: a receive right that moved to the peer; what senders
//    here still send goes to its new home, until they have none.
// Each proxy has at most `window` sends unanswered by the peer (the home
// port's queue limit); past that it leaves the inbox's set and its
// messages wait in its own queue, so its senders block at its queue limit
// as they would at the real port's, and other proxies go on.
class ProxyPort {
 public:
  enum class Kind { kSend, kSendOnce, kForwarder };
  // Where the port lives (netmsg.capnp, Home); empty host: not known.
  struct Home {
    std::string host;
    std::string address;
    std::string token;
  };

  ProxyPort(Peer& peer, Kind kind, mach_port_t name, Port::Client target, uint64_t home_id, uint32_t window);
  ~ProxyPort();
  ProxyPort(const ProxyPort&) = delete;
  ProxyPort& operator=(const ProxyPort&) = delete;

  Kind kind() const { return kind_; }
  mach_port_t name() const { return name_; }
  uint64_t home_id() const { return home_id_; }
  const Home& home() const { return home_; }
  void set_home(Home home) { home_ = kj::mv(home); }

  // Moves the proxy to the connection `to` with the right `target` (its
  // export `id` there) once the sends under way through the present one
  // are answered, so no message overtakes another; until then new
  // messages wait.
  void begin_redirect(Peer& to, Port::Client target, uint64_t id);
  Port::Client& target() { return target_; }

  // A message received on the proxy. False when the proxy is finished (the
  // caller destroys it).
  bool on_message(ReceivedMessage message);

  // The peer answered one forwarded message: the next waiting ones go.
  // False when the proxy is finished.
  bool sent_one();

  // Nothing of this proxy is under way: no send unanswered, none waiting.
  bool idle() const { return in_flight_ == 0 && waiting_.empty() && redirect_ == nullptr; }

  // The port, its receive right still this task's and still in the
  // inbox's set; the proxy no longer destroys it.
  mach_port_t give_up_port() {
    const mach_port_t name = name_;
    name_ = MACH_PORT_NULL;
    return name;
  }

  // Gives the receive right away (it becomes a task's: a receive right
  // that came home through the peer): the proxy stops serving it.
  mach_port_t release_receive_right();

 private:
  bool handle(ReceivedMessage message);
  void finish_redirect();
  void forward(ReceivedMessage message);
  bool on_no_senders();

  Peer* peer_;
  const Kind kind_;
  mach_port_t name_;
  Port::Client target_;
  uint64_t home_id_;
  Home home_;
  struct Redirect {
    Peer* to;
    Port::Client target;
    uint64_t id;
  };
  kj::Maybe<Redirect> redirect_;
  const uint32_t window_;
  uint32_t in_flight_ = 0;
  bool in_set_ = true;
  std::deque<ReceivedMessage> waiting_;
};

// True when `m` is a notification machd itself sent (a zero audit token),
// not a task's message that merely carries a notification's id.
bool from_kernel(const ReceivedMessage& m);

}  // namespace netmsg
