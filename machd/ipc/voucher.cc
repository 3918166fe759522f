// machd/ipc/voucher.cc — see voucher.h. The recipe rules and the codes are
// XNU's (ipc_create_mach_voucher_internal, ipc_execute_voucher_recipe_command,
// mach_voucher_extract_*, mach_voucher_attr_command).
#include "voucher.h"

#include <cstring>

#include "ipc.h"
#include "kobject.h"
#include "mach_port.h"
#include "port.h"
#include "right.h"
#include "space.h"

namespace machd::ipc {

namespace {

constexpr uint32_t kRecipeHeader = sizeof(mach_voucher_attr_recipe_data_t);
static_assert(kRecipeHeader == 16);

// XNU iv_key_to_index: keys 1..kVoucherKeys have a slot; KEY_NONE, KEY_ALL
// and larger keys have none (kNoSlot).
constexpr uint32_t kNoSlot = UINT32_MAX;
uint32_t slot_of(mach_voucher_attr_key_t key) {
  if (key == MACH_VOUCHER_ATTR_KEY_ALL || key == MACH_VOUCHER_ATTR_KEY_NONE || key > kVoucherKeys) return kNoSlot;
  return key - 1;
}

VoucherAttrManager* manager_of(Ipc& ipc, uint32_t slot) {
  return slot < kVoucherKeys ? ipc.vouchers.managers[slot] : nullptr;
}

VoucherCaller caller_of(const Task& t) { return VoucherCaller{t.id, t.creds}; }

std::span<const uint64_t> one_or_none(const uint64_t& value) {
  return value == 0 ? std::span<const uint64_t>{} : std::span<const uint64_t>{&value, 1};
}

// ---- value references --------------------------------------------------------

// One more use of a value some voucher already holds (XNU ivace_reference_by_index).
void value_use(Ipc& ipc, uint32_t slot, uint64_t value) {
  if (value == 0) return;
  auto it = ipc.vouchers.values[slot].find(value);
  if (it != ipc.vouchers.values[slot].end() && !it->second.persist) it->second.uses++;
}

// A value a manager just made (XNU ivace_reference_by_value): the entry for
// it gains a use and a made reference, or is created. Returns `value`.
uint64_t value_made(Ipc& ipc, uint32_t slot, uint64_t value, bool persist) {
  if (value == 0) return 0;
  auto [it, fresh] = ipc.vouchers.values[slot].try_emplace(value);
  VoucherValue& e = it->second;
  if (fresh) {
    e.uses = 1;
    e.made = 1;
    e.persist = persist;
  } else if (!e.persist) {
    e.uses++;
    e.made++;
  }
  return value;
}

// XNU ivace_release: the last use of a non-persistent value hands its made
// references back to the manager.
void value_release(Ipc& ipc, uint32_t slot, uint64_t value) {
  if (value == 0) return;
  auto& table = ipc.vouchers.values[slot];
  auto it = table.find(value);
  if (it == table.end() || it->second.persist || --it->second.uses > 0) return;
  const uint32_t made = it->second.made;
  table.erase(it);
  if (VoucherAttrManager* m = manager_of(ipc, slot)) m->release_value(slot + 1, value, made);
}

void release_all(Ipc& ipc, VoucherValues& values) {
  for (uint32_t i = 0; i < kVoucherKeys; i++) {
    value_release(ipc, i, values[i]);
    values[i] = 0;
  }
}

// ---- vouchers ------------------------------------------------------------------

// A send right to the voucher holding exactly `values` (whose uses it
// consumes): the existing one (XNU iv_dedup), or a new one with a new port
// in the kernel task. Null when no port can be had (values released).
Port* voucher_make_send(Ipc& ipc, VoucherValues&& values) {
  VoucherTable& vt = ipc.vouchers;
  if (auto it = vt.by_values.find(values); it != vt.by_values.end()) {
    release_all(ipc, values);  // the voucher holds its own
    return right_make_send(*it->second->port);
  }
  Task* kernel = ipc.task(ipc.kernel);
  const uint64_t id = vt.next_id;
  mach_port_name_t name = MACH_PORT_NULL;
  if (!kernel || kobject_alloc(ipc, ipc.kernel, KObject{kKObjectVoucherType, id}, &name) != KERN_SUCCESS) {
    release_all(ipc, values);
    return nullptr;
  }
  vt.next_id++;
  Port* port = kernel->space.lookup(name)->port();
  if (MACH_PORT_VALID(vt.port_set)) mp_insert_member(ipc, *kernel, name, vt.port_set);
  port->refs++;  // the voucher's reference
  auto v = std::make_unique<Voucher>();
  v->id = id;
  v->values = values;
  v->port = port;
  vt.by_port[port] = v.get();
  vt.by_values[values] = v.get();
  vt.by_id[id] = std::move(v);
  return right_make_send(*port);
}

void voucher_destroy(Ipc& ipc, Voucher* v) {
  VoucherTable& vt = ipc.vouchers;
  Port* port = v->port;
  VoucherValues values = v->values;
  const uint64_t id = v->id;
  vt.by_port.erase(port);
  vt.by_values.erase(values);
  vt.by_id.erase(id);  // frees v
  Task* kernel = ipc.task(ipc.kernel);
  if (kernel && port->active() && port->receiver == kernel->id)
    right_destroy(ipc, kernel->space, MACH_PORT_INDEX(port->receiver_name));
  release_all(ipc, values);
  port_release(ipc, port);
}

// The voucher a send right `name` of `space` denotes (XNU
// convert_port_name_to_voucher), or null.
Voucher* voucher_named(Ipc& ipc, Space& space, mach_port_name_t name) {
  Entry* e = MACH_PORT_VALID(name) ? space.lookup(name) : nullptr;
  if (!e || !(e->type() & MACH_PORT_TYPE_SEND)) return nullptr;
  return voucher_of_port(ipc, e->port());
}

// ---- recipes -------------------------------------------------------------------

// XNU ipc_replace_voucher_value: the manager of `key` makes the new value of
// the forming voucher `f` from the previous value (`prev`'s, else `f`'s own).
kern_return_t replace_value(Ipc& ipc, const Task& caller, VoucherValues& f, mach_voucher_attr_key_t key,
                            mach_voucher_attr_recipe_command_t command, const Voucher* prev,
                            std::span<const uint8_t> content) {
  const uint32_t slot = slot_of(key);
  VoucherAttrManager* m = manager_of(ipc, slot);
  if (!m) return KERN_INVALID_ARGUMENT;
  const uint64_t saved = f[slot];
  const uint64_t previous = prev ? prev->values[slot] : saved;
  uint64_t value = 0;
  bool persist = false;
  kern_return_t kr = m->get_value(caller_of(caller), key, command, one_or_none(previous), content, &value, &persist);
  if (kr != KERN_SUCCESS) return kr;
  f[slot] = value_made(ipc, slot, value, persist);
  value_release(ipc, slot, saved);  // last, so that an unchanged value never churns
  return KERN_SUCCESS;
}

// XNU ipc_execute_voucher_recipe_command for a user recipe (no attribute
// control, so no key privilege).
kern_return_t execute(Ipc& ipc, const Task& caller, VoucherValues& f, mach_voucher_attr_key_t key,
                      mach_voucher_attr_recipe_command_t command, const Voucher* prev,
                      std::span<const uint8_t> content) {
  switch (command) {
    case MACH_VOUCHER_ATTR_COPY: {
      if (!content.empty()) return KERN_INVALID_ARGUMENT;
      if (!prev) return KERN_SUCCESS;
      auto copy = [&](uint32_t slot) {
        value_use(ipc, slot, prev->values[slot]);
        value_release(ipc, slot, f[slot]);
        f[slot] = prev->values[slot];
      };
      if (key == MACH_VOUCHER_ATTR_KEY_ALL) {
        for (uint32_t i = 0; i < kVoucherKeys; i++) copy(i);
      } else {
        const uint32_t slot = slot_of(key);
        if (slot == kNoSlot) return KERN_INVALID_ARGUMENT;
        copy(slot);
      }
      return KERN_SUCCESS;
    }
    case MACH_VOUCHER_ATTR_REMOVE: {
      if (!content.empty()) return KERN_INVALID_ARGUMENT;
      // With a previous voucher, only a value equal to its value goes.
      auto remove = [&](uint32_t slot) {
        if (prev && f[slot] != prev->values[slot]) return;
        value_release(ipc, slot, f[slot]);
        f[slot] = 0;
      };
      if (key == MACH_VOUCHER_ATTR_KEY_ALL) {
        for (uint32_t i = 0; i < kVoucherKeys; i++) remove(i);
      } else {
        const uint32_t slot = slot_of(key);
        if (slot == kNoSlot) return KERN_INVALID_ARGUMENT;
        remove(slot);
      }
      return KERN_SUCCESS;
    }
    case MACH_VOUCHER_ATTR_SET_VALUE_HANDLE:
      // Only a manager's attribute control may set a handle directly; a user
      // recipe never comes with one.
      return KERN_INVALID_CAPABILITY;
    case MACH_VOUCHER_ATTR_REDEEM:
      if (key == MACH_VOUCHER_ATTR_KEY_ALL) {
        // Every key is redeemed, a key without a manager included (which
        // fails, as on XNU).
        for (uint32_t i = 0; i < kVoucherKeys; i++) {
          kern_return_t kr = replace_value(ipc, caller, f, i + 1, command, prev, content);
          if (kr != KERN_SUCCESS) return kr;
        }
        return KERN_SUCCESS;
      }
      [[fallthrough]];
    default:
      return replace_value(ipc, caller, f, key, command, prev, content);
  }
}

// The send/receive processing of a message's voucher (voucher.h).
Port* process(Ipc& ipc, Task& task, Port* right, uint32_t flag, mach_voucher_attr_recipe_command_t command) {
  Voucher* v = voucher_of_port(ipc, right);
  if (!v) return right;
  bool needed = false;
  for (uint32_t i = 0; i < kVoucherKeys; i++) {
    VoucherAttrManager* m = manager_of(ipc, i);
    if (v->values[i] != 0 && m && (m->flags() & flag)) needed = true;
  }
  if (!needed) return right;
  VoucherValues f = v->values;  // MACH_VOUCHER_ATTR_COPY of every key
  for (uint32_t i = 0; i < kVoucherKeys; i++) value_use(ipc, i, f[i]);
  for (uint32_t i = 0; i < kVoucherKeys; i++) {
    VoucherAttrManager* m = manager_of(ipc, i);
    if (v->values[i] == 0 || !m || !(m->flags() & flag)) continue;
    if (replace_value(ipc, task, f, i + 1, command, v, {}) != KERN_SUCCESS) {
      release_all(ipc, f);  // XNU asserts this cannot happen; keep the voucher as sent
      return right;
    }
  }
  Port* out = voucher_make_send(ipc, std::move(f));
  if (!out) return right;
  right_release(ipc, right, kPortSend);
  return out;
}

void write_recipe_header(uint8_t* at, mach_voucher_attr_key_t key, mach_voucher_attr_recipe_command_t command,
                         uint32_t content_size) {
  mach_voucher_attr_recipe_data_t r{};
  r.key = key;
  r.command = command;
  r.previous_voucher = MACH_VOUCHER_NAME_NULL;
  r.content_size = content_size;
  std::memcpy(at, &r, kRecipeHeader);
}

uint64_t value_of(const Voucher& v, mach_voucher_attr_key_t key) {
  const uint32_t slot = slot_of(key);
  return slot == kNoSlot ? 0 : v.values[slot];
}

}  // namespace

Voucher* voucher_of_port(Ipc& ipc, const Port* port) {
  if (!port_valid(port) || !port->active()) return nullptr;
  auto it = ipc.vouchers.by_port.find(port);
  return it == ipc.vouchers.by_port.end() ? nullptr : it->second;
}

Voucher* voucher_by_id(Ipc& ipc, uint64_t id) {
  auto it = ipc.vouchers.by_id.find(id);
  return it == ipc.vouchers.by_id.end() || !it->second->port->active() ? nullptr : it->second.get();
}

kern_return_t voucher_create_user(Ipc& ipc, Task& caller, std::span<const uint8_t> recipes, Port** send) {
  *send = nullptr;
  if (recipes.empty()) return KERN_SUCCESS;  // no voucher
  VoucherValues f{};
  kern_return_t kr = KERN_SUCCESS;
  size_t used = 0;
  while (used < recipes.size()) {
    const size_t left = recipes.size() - used;
    if (left < kRecipeHeader) {
      kr = KERN_INVALID_ARGUMENT;
      break;
    }
    mach_voucher_attr_recipe_data_t r;
    std::memcpy(&r, recipes.data() + used, kRecipeHeader);
    if (left - kRecipeHeader < r.content_size) {
      kr = KERN_INVALID_ARGUMENT;
      break;
    }
    const Voucher* prev = nullptr;
    if (r.previous_voucher != MACH_PORT_NULL) {
      prev = voucher_named(ipc, caller.space, r.previous_voucher);
      if (!prev) {
        kr = KERN_INVALID_CAPABILITY;
        break;
      }
    }
    const std::span<const uint8_t> content = recipes.subspan(used + kRecipeHeader, r.content_size);
    used += kRecipeHeader + r.content_size;
    kr = execute(ipc, caller, f, r.key, r.command, prev, content);
    if (kr != KERN_SUCCESS) break;
  }
  if (kr != KERN_SUCCESS) {
    release_all(ipc, f);
    return kr;
  }
  *send = voucher_make_send(ipc, std::move(f));
  return *send ? KERN_SUCCESS : KERN_RESOURCE_SHORTAGE;
}

kern_return_t voucher_extract_recipe(Ipc& ipc, Task& caller, Voucher& v, mach_voucher_attr_key_t key,
                                     uint8_t* out, uint32_t* size) {
  const uint64_t value = value_of(v, key);
  if (value == 0) {
    *size = 0;
    return KERN_SUCCESS;
  }
  if (*size < kRecipeHeader) return KERN_NO_SPACE;
  VoucherAttrManager* m = manager_of(ipc, slot_of(key));
  if (!m) return KERN_INVALID_ARGUMENT;
  mach_voucher_attr_recipe_command_t command = MACH_VOUCHER_ATTR_NOOP;
  uint32_t content = *size - kRecipeHeader;
  kern_return_t kr = m->extract_content(caller_of(caller), key, one_or_none(value), &command,
                                        out + kRecipeHeader, &content);
  if (kr != KERN_SUCCESS) return kr;
  write_recipe_header(out, key, command, content);
  *size = kRecipeHeader + content;
  return KERN_SUCCESS;
}

kern_return_t voucher_extract_all_recipes(Ipc& ipc, Task& caller, Voucher& v, uint8_t* out, uint32_t* size) {
  const uint32_t capacity = *size;
  uint32_t used = 0;
  for (uint32_t i = 0; i < kVoucherKeys; i++) {
    const uint64_t value = v.values[i];
    if (value == 0) continue;
    if (capacity - used < kRecipeHeader) return KERN_NO_SPACE;
    VoucherAttrManager* m = manager_of(ipc, i);
    if (!m) continue;
    mach_voucher_attr_recipe_command_t command = MACH_VOUCHER_ATTR_NOOP;
    uint32_t content = capacity - used - kRecipeHeader;
    kern_return_t kr = m->extract_content(caller_of(caller), i + 1, one_or_none(value), &command,
                                          out + used + kRecipeHeader, &content);
    if (kr != KERN_SUCCESS) return kr;
    write_recipe_header(out + used, i + 1, command, content);
    used += kRecipeHeader + content;
  }
  *size = used;
  return KERN_SUCCESS;
}

kern_return_t voucher_extract_content(Ipc& ipc, Task& caller, Voucher& v, mach_voucher_attr_key_t key,
                                      uint8_t* out, uint32_t* size) {
  const uint64_t value = value_of(v, key);
  if (value == 0) {
    *size = 0;
    return KERN_SUCCESS;
  }
  VoucherAttrManager* m = manager_of(ipc, slot_of(key));
  if (!m) return KERN_INVALID_ARGUMENT;
  mach_voucher_attr_recipe_command_t command = MACH_VOUCHER_ATTR_NOOP;
  return m->extract_content(caller_of(caller), key, one_or_none(value), &command, out, size);
}

kern_return_t voucher_command(Ipc& ipc, Task& caller, Voucher& v, mach_voucher_attr_key_t key,
                              mach_voucher_attr_command_t command, std::span<const uint8_t> in,
                              uint8_t* out, uint32_t* out_size) {
  VoucherAttrManager* m = manager_of(ipc, slot_of(key));
  if (!m) return KERN_INVALID_ARGUMENT;
  const uint64_t value = value_of(v, key);
  return m->command(caller_of(caller), key, one_or_none(value), command, in, out, out_size);
}

Port* voucher_send_preprocess(Ipc& ipc, Task& sender, Port* voucher) {
  return process(ipc, sender, voucher, VoucherAttrManager::kSendPreprocess, MACH_VOUCHER_ATTR_SEND_PREPROCESS);
}

Port* voucher_receive_postprocess(Ipc& ipc, Task& receiver, Port* voucher) {
  return process(ipc, receiver, voucher, VoucherAttrManager::kReceivePostprocess, MACH_VOUCHER_ATTR_AUTO_REDEEM);
}

void voucher_no_senders(Ipc& ipc, Port* port) {
  auto it = ipc.vouchers.by_port.find(port);
  // A send right made since the count fell to zero keeps the voucher.
  if (it != ipc.vouchers.by_port.end() && port->srights == 0) voucher_destroy(ipc, it->second);
  port_release(ipc, port);
}

uint64_t voucher_value_count(const Ipc& ipc) {
  uint64_t n = 0;
  for (const auto& table : ipc.vouchers.values)
    for (const auto& [value, e] : table) n += e.persist ? 0 : 1;
  return n;
}

}  // namespace machd::ipc
