// machd/kern/voucher_importance.h — the importance voucher attribute
// (MACH_VOUCHER_ATTR_KEY_IMPORTANCE) as XNU's ipc_importance.c gives it to
// user space, without the scheduling: a value names a task's importance
// (MACH_VOUCHER_ATTR_IMPORTANCE_SELF, the asking task; REDEEM: the previous
// value again; content must be empty, else KERN_INVALID_ARGUMENT; any other
// command KERN_INVALID_ARGUMENT, as XNU has no way to name another task).
//
// machd has no importance donation: no message boosts its receiver, so no
// value is ever an "inherit" element, and the one command XNU accepts
// (MACH_VOUCHER_IMPORTANCE_ATTR_DROP_EXTERNAL) finds nothing to drop:
// KERN_INVALID_ARGUMENT (any other command: KERN_NOT_SUPPORTED). The
// content of a value is a description of the task (its pid, -1 once it is
// gone), NUL-terminated, with MACH_VOUCHER_ATTR_NOOP as its command: it
// cannot make the value again, as on XNU.
#pragma once

#include "ipc/kernel.h"
#include "runtime.h"
#include "voucher_values.h"

namespace machd::kern {

class ImportanceAttr final : public ipc::VoucherAttrManager, public TaskObserver {
 public:
  // Observes tasks through `rt` (to know when a task is gone).
  explicit ImportanceAttr(Runtime& rt);
  ~ImportanceAttr() override;
  ImportanceAttr(const ImportanceAttr&) = delete;
  ImportanceAttr& operator=(const ImportanceAttr&) = delete;

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

  void task_terminating(ipc::TaskId task) override;

  size_t live() const { return values_.size(); }

 private:
  Runtime& rt_;
  MadeValues<ipc::TaskId, int32_t> values_;  // a task's importance; its pid (-1 once the task is gone)
};

}  // namespace machd::kern
