// machd/kern/voucher.h — Mach vouchers as XNU 11 gives them to user programs.
//
// The vouchers themselves (a deduplicated set of values per key, a port
// whose last send right takes the voucher with it, recipes, the voucher in
// a message's header) are kept by the IPC core (ipc/voucher.h), as XNU keeps
// them in osfmk/ipc. Here are the attribute managers that give the keys
// their meaning, registered with the core as XNU registers its managers:
//
//   MACH_VOUCHER_ATTR_KEY_IMPORTANCE  voucher_importance.h (no boosts)
//   MACH_VOUCHER_ATTR_KEY_BANK        voucher_bank.h
//   MACH_VOUCHER_ATTR_KEY_USER_DATA,
//   MACH_VOUCHER_ATTR_KEY_TEST        voucher_user_data.h
//
// ATM and pthread priority (keys 1, 4) have no manager, as ATM has none on
// macOS and the pthread priority manager is left out: a value for them is
// KERN_INVALID_ARGUMENT. The routines of mach_voucher.defs and
// host_create_mach_voucher are in voucher_server.cc.
//
// For the exception code (kernel RPCs):
//   * XNU's kernel attaches a voucher to the RPCs it makes for a thread
//     (mach_msg_rpc_from_kernel): the thread's voucher, else the task's
//     default bank voucher, processed for send by that task. machd threads
//     hold no voucher (thread_set_mach_voucher is not provided), so it is
//     always the default: for_kernel_rpc().
//   * A reply's voucher is never a reason to refuse the reply: the kernel
//     releases it unread (XNU ipc_kmsg_copyout_dest_to_kernel). machd's
//     kernel task receives without MACH_RCV_VOUCHER, so the core already
//     releases it at copyout and the reply arrives with no voucher bits and
//     a null msgh_voucher_port. No check is needed.
#pragma once

#include <mach/port.h>

#include "runtime.h"
#include "voucher_bank.h"
#include "voucher_importance.h"
#include "voucher_user_data.h"

namespace machd::kern {

class Vouchers {
 public:
  // Registers the managers with `rt`'s kernel; voucher ports join
  // `kernel_set` (the kernel task's set of served ports).
  Vouchers(Runtime& rt, mach_port_name_t kernel_set);
  // Unregisters them (values still held are never released to them).
  ~Vouchers();
  Vouchers(const Vouchers&) = delete;
  Vouchers& operator=(const Vouchers&) = delete;

  // A send right in the kernel task (its name; the caller moves it into a
  // message with MACH_MSG_TYPE_MOVE_SEND as msgh_voucher_port, or releases
  // it) to the voucher a kernel RPC on behalf of `task` carries: the task's
  // default bank voucher processed for send by `task`. MACH_PORT_NULL if
  // `task` is gone or no voucher could be made.
  mach_port_name_t for_kernel_rpc(ipc::TaskId task);

  // Attribute values alive in each manager (leak checks).
  size_t live_values() const { return bank_.live() + importance_.live() + user_data_.live(); }

 private:
  Runtime& rt_;
  BankAttr bank_;
  ImportanceAttr importance_;
  UserDataAttr user_data_;
};

// The vouchers of this machd (set by the constructor).
Vouchers& vouchers();

}  // namespace machd::kern
