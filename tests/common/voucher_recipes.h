// tests/common/voucher_recipes.h — a recipe array for host_create_mach_voucher
// built record by record (mach_voucher_attr_recipe_data_t, then its content).
#pragma once

#include <mach/mach_voucher_types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace testsupport {

struct Recipes {
  std::vector<uint8_t> bytes;
  Recipes& add(mach_voucher_attr_key_t key, mach_voucher_attr_recipe_command_t command,
               mach_voucher_name_t previous = MACH_VOUCHER_NAME_NULL, const std::string& content = "") {
    mach_voucher_attr_recipe_data_t h{};
    h.key = key;
    h.command = command;
    h.previous_voucher = previous;
    h.content_size = uint32_t(content.size());
    const auto* p = reinterpret_cast<const uint8_t*>(&h);
    bytes.insert(bytes.end(), p, p + sizeof h);
    bytes.insert(bytes.end(), content.begin(), content.end());
    return *this;
  }
};

}  // namespace testsupport
