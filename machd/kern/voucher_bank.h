// machd/kern/voucher_bank.h — the bank voucher attribute
// (MACH_VOUCHER_ATTR_KEY_BANK), as XNU's osfmk/bank/bank.c gives it to user
// space: who a piece of work is done for. Values:
//
//   default          no bank value
//   task context     "the task that holds the voucher" (BANK_CREATE makes
//                    it; persistent: every task's BANK_CREATE voucher is
//                    the same voucher, read relative to whoever asks)
//   bank task        one task's identity (pid, unique id, pidversion, uid,
//                    gid, persona), kept after the task is gone while
//                    vouchers name it
//   bank account     work `holder` asked for, done by `merchant`, first
//                    asked by `originator`, passed on by `proximate`
//
// A message's bank value is re-made when it is sent (SEND_PREPROCESS: the
// task context becomes the sender's bank task; an account or another task's
// value becomes an account with the sender as merchant, originator and
// proximate) and when a receiver takes it with MACH_RCV_VOUCHER
// (AUTO_REDEEM: an account with the receiver as merchant; the receiver's own
// value comes back as the task context). REDEEM accepts only values made for
// the asking task (else KERN_INVALID_CAPABILITY).
//
// Not here (as for a process without entitlements on macOS): personas (every
// task has PERSONA_ID_NONE; MACH_VOUCHER_ATTR_BANK_MODIFY_PERSONA of a real
// value is KERN_NO_ACCESS), secure-originator propagation (a sender is
// always the originator of what it sends), ledgers and thread groups. A
// task's unique id is machd's pidversion; its Mach-O UUID is zeros. The
// content of a value is a one-line description of our own wording.
#pragma once

#include <bank/bank_types.h>

#include <map>
#include <tuple>
#include <unordered_map>

#include "ipc/kernel.h"

namespace machd::kern {

class BankAttr final : public ipc::VoucherAttrManager {
 public:
  uint32_t flags() const override { return kSendPreprocess | kReceivePostprocess; }
  kern_return_t get_value(const ipc::VoucherCaller& who, mach_voucher_attr_key_t key,
                          mach_voucher_attr_recipe_command_t command, std::span<const uint64_t> prev,
                          std::span<const uint8_t> content, uint64_t* value, bool* persist) override;
  kern_return_t extract_content(const ipc::VoucherCaller& who, mach_voucher_attr_key_t key,
                                std::span<const uint64_t> values, mach_voucher_attr_recipe_command_t* command,
                                uint8_t* out, uint32_t* size) override;
  kern_return_t command(const ipc::VoucherCaller& who, mach_voucher_attr_key_t key, std::span<const uint64_t> values,
                        mach_voucher_attr_command_t command, std::span<const uint8_t> in, uint8_t* out,
                        uint32_t* out_size) override;
  void release_value(mach_voucher_attr_key_t key, uint64_t value, uint32_t made) override;

  // Bank tasks and accounts alive (leak checks).
  size_t live() const { return tasks_.size() + accounts_.size(); }

 private:
  static constexpr uint64_t kTaskContext = 1;  // XNU's BANK_DEFAULT_TASK_VALUE

  struct Task {
    ipc::TaskId task;
    proc_persona_info info;
    uint32_t made = 0;      // made references the core holds
    uint32_t accounts = 0;  // roles it plays in accounts
  };
  struct Account {
    uint64_t holder, merchant, originator, proximate;  // bank task handles
    uint32_t persona_id;
    uint32_t made = 0;
  };
  using AccountKey = std::tuple<uint64_t, uint64_t, uint64_t, uint64_t, uint32_t>;

  // The bank task of `who` (made if it has none yet; freed by settle() if
  // nothing comes to hold it).
  uint64_t context_of(const ipc::VoucherCaller& who);
  // The account for these roles, with one more made reference.
  uint64_t account(uint64_t holder, uint64_t merchant, uint64_t originator, uint64_t proximate, uint32_t persona);
  // Frees bank task `h` if nothing holds it.
  void settle(uint64_t h);
  bool is_task(uint64_t h) const { return tasks_.count(h) != 0; }
  const proc_persona_info& info(uint64_t task_handle) const { return tasks_.at(task_handle).info; }
  // The bank task a value stands for when read by `who` (the task context
  // is who's own), and the account if it is one.
  const proc_persona_info* task_info_of(const ipc::VoucherCaller& who, uint64_t value, proc_persona_info* scratch,
                                        const Account** account) const;

  std::unordered_map<uint64_t, Task> tasks_;
  std::unordered_map<ipc::TaskId, uint64_t> by_task_;
  std::unordered_map<uint64_t, Account> accounts_;
  std::map<AccountKey, uint64_t> by_roles_;
  uint64_t next_ = 2;  // 0: default, 1: the task context
};

}  // namespace machd::kern
