// machd/netmsg/mach_inbox.cc — the receiving thread (mach_inbox.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include "mach_inbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

namespace netmsg {

namespace {
constexpr mach_msg_size_t kFirstBuffer = 16 * 1024;
constexpr mach_msg_option_t kReceiveOptions = MACH_RCV_MSG | MACH_RCV_LARGE |
                                             MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
                                             MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT);
}  // namespace

const mach_msg_audit_trailer_t* ReceivedMessage::trailer() const {
  const mach_msg_header_t* h = header();
  return reinterpret_cast<const mach_msg_audit_trailer_t*>(bytes.data() + round_msg(h->msgh_size));
}

kern_return_t MachInbox::start() {
  kern_return_t kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_PORT_SET, &set_);
  if (kr != KERN_SUCCESS) return kr;
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) return KERN_RESOURCE_SHORTAGE;
  std::thread([this] { receive_loop(); }).detach();
  return KERN_SUCCESS;
}

kern_return_t MachInbox::add(mach_port_t port) { return mach_port_move_member(mach_task_self(), port, set_); }

kern_return_t MachInbox::remove(mach_port_t port) {
  return mach_port_move_member(mach_task_self(), port, MACH_PORT_NULL);
}

std::deque<ReceivedMessage> MachInbox::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::deque<ReceivedMessage> out;
  out.swap(queue_);
  return out;
}

void MachInbox::receive_loop() {
  // One buffer for every receive (not cleared: the kernel writes what it
  // returns); each message is copied out at its own size.
  std::vector<uint8_t> buffer(kFirstBuffer);
  for (;;) {
    auto* h = reinterpret_cast<mach_msg_header_t*>(buffer.data());
    mach_msg_return_t mr = mach_msg(h, kReceiveOptions, 0, static_cast<mach_msg_size_t>(buffer.size()), set_,
                                    MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
    if (mr == MACH_RCV_TOO_LARGE) {
      // The message stays queued; its size (and room for the trailer) next time.
      buffer.resize(round_msg(h->msgh_size) + sizeof(mach_msg_max_trailer_t));
      continue;
    }
    if (mr != MACH_MSG_SUCCESS) {
      if (mr == MACH_RCV_INTERRUPTED) continue;
      fprintf(stderr, "mach-netmsgd: receive failed: %s (0x%x)\n", mach_error_string(mr), mr);
      _exit(1);  // machd is gone: every right this server held is gone with it
    }
    const size_t body = round_msg(h->msgh_size);
    const auto* trailer = reinterpret_cast<const mach_msg_trailer_t*>(buffer.data() + body);
    ReceivedMessage m;
    m.bytes.assign(buffer.begin(), buffer.begin() + body + trailer->msgh_trailer_size);
    if (buffer.size() > kFirstBuffer) buffer.resize(kFirstBuffer), buffer.shrink_to_fit();
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      was_empty = queue_.empty();
      queue_.push_back(std::move(m));
    }
    if (was_empty) {
      uint64_t one = 1;
      (void)!write(event_fd_, &one, sizeof one);
    }
  }
}

}  // namespace netmsg
