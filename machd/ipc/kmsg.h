// machd/ipc/kmsg.h — a kernel message in flight.
//
// Lifetime:  copyin (sender's rights become rights in flight, owned here)
//   -> queued on kmsg->dest, or held by a blocked sender
//   -> copyout into a receiver (rights become names again), or
//      pseudo-receive back into the sender, or destroyed (every right
//      released as XNU's ipc_kmsg_clean does).
//
// `bytes` is the message in user layout (x86_64): header, optional body and
// descriptors, inline data. Header port fields and descriptor names inside
// `bytes` are meaningless while in flight; the rights are in `dest`,
// `reply`, `voucher` and `descs`, and are written back as names at copyout.
// The header's msgh_voucher_port keeps the sender's value: with no voucher
// disposition it reaches the receiver unchanged (XNU lets that reserved
// field round-trip).
#pragma once

#include <memory>
#include <vector>

#include "types.h"

namespace machd::ipc {

// Identity of the sender, captured at send time (trailer material).
struct SenderId {
  uint32_t sec[2] = {0, 1};      // security token: euid, egid (kernel: {0, 1})
  uint32_t audit[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // audit token (kernel: zeros)
};

// One descriptor of a complex message, with the rights / memory it carries.
struct KDesc {
  uint32_t offset = 0;                 // of the descriptor in Kmsg::bytes
  mach_msg_descriptor_type_t type = 0;
  mach_msg_type_name_t right_type = 0;  // PORT_* for port / OOL ports / guarded
  Port* port = nullptr;                 // port & guarded descriptors (null/dead allowed)
  std::vector<Port*> ports;             // OOL ports descriptor
  std::unique_ptr<OolPayload> payload;  // OOL descriptor (null when empty)
  uint32_t guard_flags = 0;             // guarded descriptor flags
  mach_port_context_t guard_context = 0;
};

struct Kmsg {
  Kmsg* next = nullptr;  // port queue link
  std::vector<uint8_t> bytes;
  mach_msg_bits_t bits = 0;  // user bits after copyin: remote = dest type, local = reply type
  Port* dest = nullptr;      // destination right (send or send-once), owned
  Port* reply = nullptr;     // reply right (may be null or dead_port()), owned
  // Voucher send right (null: none), owned. With one, the voucher bits are
  // MOVE_SEND; without, they are what the sender gave (0, or COPY/MOVE_SEND
  // with a null name). `voucher_disp` is the sender's own disposition: a
  // message returned to its sender gives back a moved voucher only.
  Port* voucher = nullptr;
  mach_msg_type_name_t voucher_disp = 0;
  std::vector<KDesc> descs;
  SenderId sender;
  bool circular = false;     // carries a receive right whose queue leads back to dest
  // The sending user's usage slot this message and its heap bytes are
  // charged to (Ipc::charge; 0: none), given back when it is freed.
  uint16_t charged_to = 0;
  uint64_t charged_bytes = 0;

  mach_msg_size_t size() const { return static_cast<mach_msg_size_t>(bytes.size()); }
  mach_msg_type_name_t dest_type() const { return MACH_MSGH_BITS_REMOTE(bits); }
  mach_msg_type_name_t reply_type() const { return MACH_MSGH_BITS_LOCAL(bits); }
  mach_msg_type_name_t voucher_type() const { return MACH_MSGH_BITS_VOUCHER(bits); }
  // The sender's msgh_voucher_port field.
  mach_port_name_t voucher_field() const;
  mach_msg_id_t id() const;
};

// Releases every right and payload `k` carries and frees it (XNU
// ipc_kmsg_destroy). Receive rights inside are destroyed through the work
// queue. Never copies anything out.
void kmsg_destroy_now(Ipc& ipc, Kmsg* k);

// ---- copyin.cc --------------------------------------------------------------
// Copies the user message `args` of `task` in: header checks, header rights,
// descriptors (rights, OOL payloads, OOL port arrays). On success *out owns
// the message. On failure nothing is returned: header errors consume nothing;
// body errors destroy the header rights and the descriptors copied so far
// (XNU ipc_kmsg_clean_partial). The caller checked send_size.
// The trailer identity of a task with credentials `c` (task.cc).
SenderId sender_of(const Credentials& c);

// The identity a message from `task` to `dest` carries in its trailer: the
// task's own, or its relay identity (Task::relayed) when a user task holds
// `dest`'s receive right.
SenderId sender_for(const Ipc& ipc, const Task& task, const Port* dest);

mach_msg_return_t kmsg_copyin(Ipc& ipc, Task& task, SendArgs&& args, mach_msg_option_t options,
                              Kmsg** out);

// ---- copyout.cc -------------------------------------------------------------
// Receives `k` (dequeued from `from` with sequence number `seqno`) into
// `task`: header names swapped as XNU delivers them, descriptors copied out,
// the trailer `options` asks for appended. Consumes `k`. The voucher is
// copied out only with MACH_RCV_VOUCHER (after the receive processing of
// voucher.h), else released and its bits cleared (XNU
// ipc_kmsg_copyout_header).
// `rcv_addr` is the receive buffer's address in the receiver (guards).
Completion kmsg_copyout(Ipc& ipc, Task& task, Kmsg* k, Port& from, mach_port_seqno_t seqno,
                        mach_msg_option_t options, uint64_t rcv_addr);
// XNU msg_receive_error: the message did not fit (or its header could not be
// copied out). Only the destination is copied out; the header, with
// msgh_size = sizeof(header), and the trailer go back (truncated to
// rcv_size); everything else in `k` is destroyed. Result `mr`.
Completion kmsg_receive_error(Ipc& ipc, Task& task, Kmsg* k, Port& from, mach_port_seqno_t seqno,
                              mach_msg_option_t options, mach_msg_size_t rcv_size,
                              mach_msg_return_t mr);
// Returns an unsent message to its sender (XNU ipc_kmsg_copyout_pseudo):
// rights become names again in `task`, remote = destination, local = reply,
// no trailer. Consumes `k`; result bits (MACH_MSG_IPC_SPACE...) are ORed in
// to c.result by the caller.
// `msg_addr` is the sender's message buffer.
Completion kmsg_copyout_pseudo(Ipc& ipc, Task& task, Kmsg* k, uint64_t msg_addr);

// ---- trailer.cc -------------------------------------------------------------
// REQUESTED_TRAILER_SIZE for MACH_RCV_TRAILER_ELEMENTS(options).
mach_msg_size_t trailer_size(mach_msg_option_t options);
// Appends the format-0 trailer `options` asks for.
void append_trailer(std::vector<uint8_t>& out, mach_msg_option_t options, mach_port_seqno_t seqno,
                    const SenderId& sender, mach_port_context_t context);

}  // namespace machd::ipc
