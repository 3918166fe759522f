// machd/kern/voucher_importance.cc — see voucher_importance.h.
#include "voucher_importance.h"

#include <algorithm>
#include <cstdio>

namespace machd::kern {

ImportanceAttr::ImportanceAttr(Runtime& rt) : rt_(rt) { rt_.add_observer(this); }

ImportanceAttr::~ImportanceAttr() { rt_.remove_observer(this); }

kern_return_t ImportanceAttr::get_value(const ipc::VoucherCaller& who, mach_voucher_attr_key_t,
                                        mach_voucher_attr_recipe_command_t command, std::span<const uint64_t> prev,
                                        std::span<const uint8_t> content, uint64_t* value, bool* persist) {
  *persist = false;
  if (!content.empty()) return KERN_INVALID_ARGUMENT;
  switch (command) {
    case MACH_VOUCHER_ATTR_REDEEM:
      *value = prev.empty() ? 0 : values_.again(prev[0]);
      return KERN_SUCCESS;
    case MACH_VOUCHER_ATTR_IMPORTANCE_SELF:
      *value = values_.make(who.task, int32_t(who.creds.pid));
      return KERN_SUCCESS;
    default:
      return KERN_INVALID_ARGUMENT;
  }
}

kern_return_t ImportanceAttr::extract_content(const ipc::VoucherCaller&, mach_voucher_attr_key_t,
                                              std::span<const uint64_t> values,
                                              mach_voucher_attr_recipe_command_t* command, uint8_t* out,
                                              uint32_t* size) {
  if (*size < 1) return KERN_NO_SPACE;  // room for the NUL at least
  uint32_t len = 0;
  for (uint64_t v : values) {
    if (v == 0) continue;
    // snprintf truncates to the room there is and NUL-terminates; the
    // content is what was written, its NUL included.
    const int n = snprintf(reinterpret_cast<char*>(out), *size, "importance of pid %d", values_.data(v));
    len = n < 0 ? 0 : std::min<uint32_t>(uint32_t(n), *size - 1);
    len++;
    break;
  }
  *command = MACH_VOUCHER_ATTR_NOOP;  // cannot make the value again
  *size = len;
  return KERN_SUCCESS;
}

kern_return_t ImportanceAttr::command(const ipc::VoucherCaller&, mach_voucher_attr_key_t, std::span<const uint64_t>,
                                      mach_voucher_attr_command_t command, std::span<const uint8_t> in, uint8_t*,
                                      uint32_t* out_size) {
  if (in.size() != sizeof(uint32_t) || (*out_size != 0 && *out_size != sizeof(uint32_t)))
    return KERN_INVALID_ARGUMENT;
  if (command != MACH_VOUCHER_IMPORTANCE_ATTR_DROP_EXTERNAL) return KERN_NOT_SUPPORTED;
  // Boosts to drop live on "inherit" values, which only importance
  // donation makes; machd has none (voucher_importance.h).
  return KERN_INVALID_ARGUMENT;
}

void ImportanceAttr::release_value(mach_voucher_attr_key_t, uint64_t value, uint32_t made) {
  values_.release(value, made);
}

void ImportanceAttr::task_terminating(ipc::TaskId task) {
  const uint64_t h = values_.find(task);
  if (h == 0) return;
  values_.data(h) = -1;       // its pid: gone
  values_.forget(task, h);    // a value of a gone task is no task's own any more
}

}  // namespace machd::kern
