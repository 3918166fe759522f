// machd/kern/voucher.cc — see voucher.h.
#include "voucher.h"

#include <cstring>
#include <vector>

namespace machd::kern {

static_assert(uint16_t(KType::kVoucher) == ipc::kKObjectVoucherType,
              "the IPC core recognises voucher ports by this label");

namespace {
Vouchers* g_vouchers = nullptr;

void add_recipe(std::vector<uint8_t>& r, mach_voucher_attr_key_t key, mach_voucher_attr_recipe_command_t command) {
  mach_voucher_attr_recipe_data_t h{};
  h.key = key;
  h.command = command;
  const auto* p = reinterpret_cast<const uint8_t*>(&h);
  r.insert(r.end(), p, p + sizeof h);
}
}  // namespace

Vouchers& vouchers() { return *g_vouchers; }

Vouchers::Vouchers(Runtime& rt, mach_port_name_t kernel_set) : rt_(rt), importance_(rt) {
  ipc::Kernel& k = rt_.kernel();
  k.voucher_set_port_set(kernel_set);
  k.voucher_register(MACH_VOUCHER_ATTR_KEY_IMPORTANCE, &importance_);
  k.voucher_register(MACH_VOUCHER_ATTR_KEY_BANK, &bank_);
  k.voucher_register(MACH_VOUCHER_ATTR_KEY_USER_DATA, &user_data_);
  k.voucher_register(MACH_VOUCHER_ATTR_KEY_TEST, &user_data_);
  g_vouchers = this;
}

Vouchers::~Vouchers() {
  ipc::Kernel& k = rt_.kernel();
  for (mach_voucher_attr_key_t key = 1; key <= ipc::kVoucherKeys; key++) k.voucher_register(key, nullptr);
  k.voucher_set_port_set(MACH_PORT_NULL);
  if (g_vouchers == this) g_vouchers = nullptr;
}

mach_port_name_t Vouchers::for_kernel_rpc(ipc::TaskId task) {
  // The default voucher (BANK_CREATE), then its send processing by `task`
  // (SEND_PREPROCESS of the value just made: no previous voucher), in one
  // recipe run on behalf of `task`.
  std::vector<uint8_t> recipe;
  add_recipe(recipe, MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_BANK_CREATE);
  add_recipe(recipe, MACH_VOUCHER_ATTR_KEY_BANK, MACH_VOUCHER_ATTR_SEND_PREPROCESS);
  mach_port_name_t name = MACH_PORT_NULL;
  return rt_.kernel().voucher_create(task, recipe, &name) == KERN_SUCCESS ? name : MACH_PORT_NULL;
}

}  // namespace machd::kern
