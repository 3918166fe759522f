// pagers/dsm-pager/kernel_server.h — the memory object's port and the
// server of the kernels' messages (mach/memory_object.defs): one kernel per
// memory_object_init (its own control port), their requests fed to the
// coherence machine (coherence.h) and its actions sent on their control
// ports (the control calls of mach/mach.defs, through the pager's own stubs
// with a send timeout: send_time.h).
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
//
// One thread runs serve(); it never waits for a kernel: a request that
// needs another kernel's page back waits in the machine's queue, and the
// loop receives with a timeout set to the earliest revocation deadline.
// A kernel is removed (cut off) when it is overdue at a deadline (it is
// sent memory_object_destroy first), when its control port dies (a
// dead-name notification) or is found dead by a send, or when a send to it
// finds its queue full past the send timeout. Then the requests it held up
// go on, and its later messages are refused, their rights and memory
// destroyed (its memory_object_terminate's receive rights too).
#pragma once

#include <mach/mach.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "coherence.h"

namespace dsm {

class KernelServer {
 public:
  struct Stats {
    uint64_t kernels = 0;         // kernels now
    uint64_t inits = 0;           // memory_object_init taken, ever
    uint64_t pages_supplied = 0;  // data_supply, in pages
    uint64_t write_grants = 0;    // write locks lifted (data_unlock answered), in pages
    uint64_t revocations = 0;     // downgrades and flushes sent, in pages
    uint64_t pages_returned = 0;  // data_return pages taken as the new contents
    uint64_t stale_returns = 0;   // data_return pages of a non-writer, dropped
    uint64_t kernels_removed = 0; // overdue or dead kernels
  };

  // An object of `size` bytes (rounded up to whole pages), zeroes at first;
  // a revocation is awaited for at most `revoke_timeout`.
  KernelServer(uint64_t size, std::chrono::milliseconds revoke_timeout);
  // Releases every kernel's rights, the object port and the contents.
  ~KernelServer();
  KernelServer(const KernelServer&) = delete;
  KernelServer& operator=(const KernelServer&) = delete;

  // Makes the object port and the contents. KERN_SUCCESS, or the error.
  kern_return_t open();
  // The object port (our receive right; make a send right to hand it out).
  mach_port_t object_port() const { return port_; }
  uint64_t size() const { return size_; }

  // Serves the object port until stop(); the loop's thread is the only one
  // that touches the kernels and the machine. KERN_SUCCESS when stopped, or
  // the receive error that ended it.
  kern_return_t serve();
  // From any thread: makes serve() return after the message it handles.
  void stop();

  Stats stats() const;

  // The server routines of memory_object.defs (kernel_server.cc's MIG
  // entry points call these on the serving server). Under MIG's rule: on
  // KERN_SUCCESS the routine took the message's rights and memory; any
  // other return leaves them to the receive loop, which destroys them.
  kern_return_t init(mach_port_t control, mach_port_t name, vm_size_t page_size);
  kern_return_t terminate(mach_port_t object, mach_port_t control, mach_port_t name);
  kern_return_t data_request(mach_port_t control, vm_offset_t offset, vm_size_t length, vm_prot_t access);
  kern_return_t data_unlock(mach_port_t control, vm_offset_t offset, vm_size_t length, vm_prot_t access);
  kern_return_t data_return(mach_port_t control, vm_offset_t offset, vm_offset_t data, mach_msg_type_number_t count,
                            boolean_t dirty);
  kern_return_t lock_completed(mach_port_t control, vm_offset_t offset, vm_size_t length);

 private:
  struct Kernel {
    KernelId id;
    mach_port_t control;
    mach_port_t name;
  };

  Kernel* find(mach_port_t control);
  // How much of [offset, offset + length) is whole pages of the object:
  // the rest is answered data_error on the kernel's control port
  // (KERN_INVALID_ADDRESS past the end; everything, KERN_INVALID_ARGUMENT,
  // if the range is not whole pages).
  vm_size_t within(const Kernel& k, vm_offset_t offset, vm_size_t length);
  // Sends `actions` (gathered into runs); kernels found dead on the way
  // are removed, and what their removal frees is sent too.
  void send(std::vector<Action> actions);
  // Removes the kernel: from the machine, destroy sent if `tell`, its
  // rights released (receive rights too if `own_receive`).
  void remove(KernelId id, bool tell, bool own_receive, std::vector<Action>* out);
  void remove_overdue();
  // A dead-name notification: the kernel whose control port it names (if
  // any) is removed; the notification's reference to the name is released.
  // False (nothing done) if the message is not one machd sent.
  bool control_died(const mach_msg_header_t& head);

  uint64_t size_;
  uint64_t page_;
  std::chrono::milliseconds revoke_timeout_;
  mach_port_t port_ = MACH_PORT_NULL;
  uint8_t* contents_ = nullptr;
  Coherence machine_;
  std::map<KernelId, Kernel> kernels_;
  KernelId next_id_ = 1;
  std::atomic<bool> stopping_{false};

  std::atomic<uint64_t> inits_{0}, kernels_now_{0}, supplied_{0}, grants_{0}, revocations_{0}, returned_{0}, stale_{0},
      removed_{0};
};

}  // namespace dsm
