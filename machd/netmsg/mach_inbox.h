// machd/netmsg/mach_inbox.h — the Mach side of the network message server's
// event loop: one thread receives on a port set and hands each message to
// the Cap'n Proto loop's thread.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
//
// Cap'n Proto's loop waits on descriptors and Mach's receive on a port, so
// a thread blocks in mach_msg on the set and queues what it receives; an
// eventfd wakes the loop, which takes the queue whole.
#pragma once

#include <mach/mach.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace netmsg {

// A received message as the kernel wrote it: header, body, then the audit
// trailer. Its rights and out-of-line memory belong to whoever holds it.
struct ReceivedMessage {
  std::vector<uint8_t> bytes;
  mach_msg_header_t* header() { return reinterpret_cast<mach_msg_header_t*>(bytes.data()); }
  const mach_msg_header_t* header() const { return reinterpret_cast<const mach_msg_header_t*>(bytes.data()); }
  // The trailer the receive asked for (audit token included).
  const mach_msg_audit_trailer_t* trailer() const;
};

class MachInbox {
 public:
  MachInbox() = default;
  MachInbox(const MachInbox&) = delete;
  MachInbox& operator=(const MachInbox&) = delete;

  // Allocates the port set and the eventfd and starts the receiving thread
  // (which runs until the process exits). KERN_SUCCESS or the error.
  kern_return_t start();

  // Moves `port` (a receive right of this task) into the set, or out of it.
  kern_return_t add(mach_port_t port);
  kern_return_t remove(mach_port_t port);

  // Readable when messages wait; read it (8 bytes) before take().
  int event_fd() const { return event_fd_; }

  // Every message received since the last call, in the order received.
  std::deque<ReceivedMessage> take();

 private:
  void receive_loop();

  mach_port_t set_ = MACH_PORT_NULL;
  int event_fd_ = -1;
  std::mutex mutex_;
  std::deque<ReceivedMessage> queue_;
};

}  // namespace netmsg
