# machd/netmsg/netmsg.capnp — what two network message servers say to each
# other: Mach rights as Cap'n Proto capabilities (README.md).
#
# Part of machd (Mach IPC in user space on Linux).
# SPDX-License-Identifier: MIT
@0xc2e4313cfc026f48;

# A Mach right held by the host that exported it. Calls on one reference
# arrive in the order they were made (Cap'n Proto's E-order), which is
# Mach's per-port message order. When every reference is released the
# exporter deallocates the right it held (no-senders, or a send-once
# notification, follow on its host as for any right).
interface Port {
  # Enqueues `message` on the port. Returns once the message is queued
  # there (the importer counts unanswered sends against the port's queue
  # limit); fails when the port is dead or the right was used (send-once).
  send @0 (message :Message) -> ();
}

# A receive right that left its host: the importer makes a new port for
# the task the right went to and tells the old host where it is, and the
# old host forwards what its senders still send (until they have none).
interface ReceiveHandoff {
  moved @0 (newHome :PortRef) -> ();
}

struct PortRef {
  kind @0 :Kind;
  enum Kind {
    null @0;
    dead @1;
    send @2;
    sendOnce @3;
    receive @4;
  }
  # send and sendOnce: the right. For send, `id` names the port among the
  # exporter's exports to this peer (two refs with one id are one port).
  port @1 :Port;
  id @2 :UInt64;
  # The port's queue limit on its home host.
  qlimit @3 :UInt32;
  # True when the port is one the receiver exported to the sender (`id` is
  # the receiver's own id for it): the right goes home, no proxy is made.
  yours @5 :Bool;
  # receive: the handoff the importer answers.
  handoff @4 :ReceiveHandoff;
  # Where the port lives, for a host that gets the right from a third:
  # it asks the home host for the right itself (Host.redeem with `token`)
  # and from then on sends there directly instead of through the host it
  # got the right from.
  home @6 :Home;
  # receive: the messages that were queued on the port when its old home
  # let it go (they come after, through the forwarder).
  queued @7 :UInt32;
}

struct Home {
  host @0 :Text;       # the home host's name
  address @1 :Text;    # ADDR:PORT it listens on ("" when it does not)
  token @2 :Data;      # redeemable at the home host while the right lives
}

struct OutOfLine {
  data @0 :Data;
  copy @1 :UInt8;          # MACH_MSG_PHYSICAL_COPY, _VIRTUAL_COPY
}

struct OutOfLinePorts {
  ports @0 :List(PortRef);
}

struct Descriptor {
  union {
    port @0 :PortRef;
    outOfLine @1 :OutOfLine;
    outOfLinePorts @2 :OutOfLinePorts;
  }
}

# Who sent a message, as its home host knows it.
struct Sender {
  host @0 :Text;
  pid @1 :Int32;
  uid @2 :UInt32;
  gid @3 :UInt32;
}

struct Message {
  id @0 :Int32;
  # The reply right (msgh_remote_port as the sender gave it).
  reply @1 :PortRef;
  complex @2 :Bool;
  descriptors @3 :List(Descriptor);
  # The body after the descriptors, byte for byte.
  inline @4 :Data;
  sender @5 :Sender;
}

# Each host's bootstrap capability: what a peer may ask of it.
interface Host {
  # Both sides say who they are once connected.
  hello @0 (hostName :Text, address :Text) -> (hostName :Text, address :Text);
  # netname_look_up on this host: a send right to the port checked in
  # under `name`, or kind null when there is none.
  lookUp @1 (name :Text) -> (port :PortRef);
  # The port this host exported with `id` died: the peer's rights to it
  # become dead names.
  portDied @2 (id :UInt64) -> ();
  # Liveness: answered at once.
  ping @3 () -> ();
  # A send right to the port a Home's token names (kind null when the
  # right it was made for is gone): a right another host passed on.
  redeem @4 (token :Data) -> (port :PortRef);
}
