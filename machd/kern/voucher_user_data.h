// machd/kern/voucher_user_data.h — the user-data voucher attribute
// (MACH_VOUCHER_ATTR_KEY_USER_DATA and MACH_VOUCHER_ATTR_KEY_TEST), as XNU's
// built-in user data manager keeps it on macOS: a value is a byte string
// (at most kMaxBytes), deduplicated across both keys.
//
//   MACH_VOUCHER_ATTR_USER_DATA_STORE  the content is the value (empty: the
//                                      default); more than kMaxBytes is
//                                      KERN_RESOURCE_SHORTAGE
//   MACH_VOUCHER_ATTR_REDEEM           the previous value again
//   anything else                      KERN_INVALID_ARGUMENT
//
// Its recipe is USER_DATA_STORE with the bytes; mach_voucher_attr_command
// is KERN_FAILURE for every command.
#pragma once

#include <string>

#include "ipc/kernel.h"
#include "voucher_values.h"

namespace machd::kern {

class UserDataAttr final : public ipc::VoucherAttrManager {
 public:
  static constexpr uint32_t kMaxBytes = 16 * 1024;

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

  size_t live() const { return values_.size(); }

 private:
  MadeValues<std::string> values_;  // a value is its bytes
};

}  // namespace machd::kern
