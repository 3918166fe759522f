// machd/ipc/voucher.h — vouchers inside the core (XNU osfmk/ipc/ipc_voucher.c):
// the table of attribute values per key, the deduplicated vouchers, recipe
// execution, and the voucher processing a message goes through when sent
// and when received (contracts of the public calls in kernel.h).
//
// Ownership:
//   * A Voucher owns one reference on each of its non-default values and one
//     port reference on its port. The port's receive right is in the kernel
//     task's space; the voucher lives exactly while send rights to the port
//     exist: when the port's srights fall to zero, port_srights_dec queues
//     Work::kVoucherNoSenders and the voucher, its port and its value
//     references go (voucher_no_senders).
//   * A value entry (per key, per handle) counts the vouchers (and forming
//     vouchers) that use it, and the made references its manager handed out
//     (VoucherAttrManager); at zero uses the entry goes and the manager gets
//     release_value(key, handle, made). Persistent values are never released.
//   * A send right to a voucher is an ordinary send right in flight (Port*).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <span>
#include <unordered_map>

#include "types.h"

namespace machd::ipc {

using VoucherValues = std::array<uint64_t, kVoucherKeys>;  // by key index (key - 1); 0: default

struct Voucher {
  uint64_t id = 0;
  VoucherValues values{};
  Port* port = nullptr;  // port reference (owned)
};

struct VoucherValue {
  uint32_t uses = 0;  // vouchers (and forming vouchers) holding the value
  uint32_t made = 0;  // made references received from the manager
  bool persist = false;
};

struct VoucherTable {
  std::array<VoucherAttrManager*, kVoucherKeys> managers{};
  std::array<std::unordered_map<uint64_t, VoucherValue>, kVoucherKeys> values;
  std::unordered_map<uint64_t, std::unique_ptr<Voucher>> by_id;
  std::unordered_map<const Port*, Voucher*> by_port;
  std::map<VoucherValues, Voucher*> by_values;  // dedup (XNU iv_dedup)
  uint64_t next_id = 1;
  mach_port_name_t port_set = MACH_PORT_NULL;  // kernel-task set voucher ports join
};

// The voucher `port` is the port of (null: not a live voucher's port).
Voucher* voucher_of_port(Ipc& ipc, const Port* port);
// The voucher with label id `id`, or null.
Voucher* voucher_by_id(Ipc& ipc, uint64_t id);

// ---- public calls (kernel.h) -------------------------------------------------
kern_return_t voucher_create_user(Ipc& ipc, Task& caller, std::span<const uint8_t> recipes, Port** send);
kern_return_t voucher_extract_recipe(Ipc& ipc, Task& caller, Voucher& v, mach_voucher_attr_key_t key,
                                     uint8_t* out, uint32_t* size);
kern_return_t voucher_extract_all_recipes(Ipc& ipc, Task& caller, Voucher& v, uint8_t* out, uint32_t* size);
kern_return_t voucher_extract_content(Ipc& ipc, Task& caller, Voucher& v, mach_voucher_attr_key_t key,
                                      uint8_t* out, uint32_t* size);
kern_return_t voucher_command(Ipc& ipc, Task& caller, Voucher& v, mach_voucher_attr_key_t key,
                              mach_voucher_attr_command_t command, std::span<const uint8_t> in,
                              uint8_t* out, uint32_t* out_size);

// ---- messages ---------------------------------------------------------------
// XNU ipc_voucher_send_preprocessing: `sender` (not the kernel task) is about
// to queue a message carrying the send right `voucher`. When a manager of one
// of its non-default values asks for it (kSendPreprocess), returns a send
// right to the voucher whose such values the managers re-made for the sender
// (MACH_VOUCHER_ATTR_SEND_PREPROCESS; every other value copied) and releases
// `voucher`; otherwise returns `voucher` itself.
Port* voucher_send_preprocess(Ipc& ipc, Task& sender, Port* voucher);
// XNU ipc_voucher_receive_postprocessing: the same for `receiver` taking the
// message with MACH_RCV_VOUCHER (kReceivePostprocess,
// MACH_VOUCHER_ATTR_AUTO_REDEEM).
Port* voucher_receive_postprocess(Ipc& ipc, Task& receiver, Port* voucher);

// Work::kVoucherNoSenders: if `port` (a port reference the work item held,
// released here) still has no send rights, its voucher goes.
void voucher_no_senders(Ipc& ipc, Port* port);

// Non-persistent values held, over all keys (Stats::voucher_values).
uint64_t voucher_value_count(const Ipc& ipc);

}  // namespace machd::ipc
