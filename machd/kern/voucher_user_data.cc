// machd/kern/voucher_user_data.cc — see voucher_user_data.h.
#include "voucher_user_data.h"

#include <cstring>

namespace machd::kern {

kern_return_t UserDataAttr::get_value(const ipc::VoucherCaller&, mach_voucher_attr_key_t,
                                      mach_voucher_attr_recipe_command_t command, std::span<const uint64_t> prev,
                                      std::span<const uint8_t> content, uint64_t* value, bool* persist) {
  *persist = false;
  switch (command) {
    case MACH_VOUCHER_ATTR_REDEEM:
      *value = prev.empty() ? 0 : values_.again(prev[0]);  // the default redeems to the default
      return KERN_SUCCESS;
    case MACH_VOUCHER_ATTR_USER_DATA_STORE: {
      if (content.size() > kMaxBytes) return KERN_RESOURCE_SHORTAGE;
      const std::string bytes(content.begin(), content.end());
      *value = bytes.empty() ? 0 : values_.make(bytes);
      return KERN_SUCCESS;
    }
    default:
      return KERN_INVALID_ARGUMENT;
  }
}

kern_return_t UserDataAttr::extract_content(const ipc::VoucherCaller&, mach_voucher_attr_key_t,
                                            std::span<const uint64_t> values,
                                            mach_voucher_attr_recipe_command_t* command, uint8_t* out,
                                            uint32_t* size) {
  // The values' bytes, one after the other (a voucher holds one per key).
  uint32_t used = 0;
  for (size_t i = 0; i < values.size() && *size > 0; i++) {
    const std::string& b = values_.key(values[i]);
    if (used + b.size() > *size) return KERN_NO_SPACE;
    std::memcpy(out + used, b.data(), b.size());
    used += static_cast<uint32_t>(b.size());
  }
  *command = MACH_VOUCHER_ATTR_USER_DATA_STORE;
  *size = used;
  return KERN_SUCCESS;
}

kern_return_t UserDataAttr::command(const ipc::VoucherCaller&, mach_voucher_attr_key_t, std::span<const uint64_t>,
                                    mach_voucher_attr_command_t, std::span<const uint8_t>, uint8_t*, uint32_t*) {
  return KERN_FAILURE;  // the user data manager has no commands
}

void UserDataAttr::release_value(mach_voucher_attr_key_t, uint64_t value, uint32_t made) {
  values_.release(value, made);  // a value held under both keys stays until both give it back
}

}  // namespace machd::kern
