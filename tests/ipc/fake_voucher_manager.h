// tests/ipc/fake_voucher_manager.h — a user-data-like attribute manager that
// records what the core asks of it, and a fixture that registers it.
//
// Values are byte strings, deduplicated: MACH_VOUCHER_ATTR_USER_DATA_STORE
// makes one from the content (empty: the default), MACH_VOUCHER_ATTR_REDEEM
// gives back the previous value. With `processing` set it also asks for the
// send and receive processing of messages and answers
// MACH_VOUCHER_ATTR_SEND_PREPROCESS / AUTO_REDEEM with the value
// "sent:<pid>" / "got:<pid>" of the task asking (its previous value kept in
// front). Each value counts its made references; release_value must give
// them all back (checked at the end of every test).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "harness.h"

namespace machd::ipc::test {

class FakeVoucherManager : public VoucherAttrManager {
 public:
  bool processing = false;
  std::vector<std::pair<uint64_t, uint32_t>> released;  // (value, made)
  std::vector<mach_voucher_attr_recipe_command_t> asked;  // get_value commands, in order

  uint32_t flags() const override { return processing ? (kSendPreprocess | kReceivePostprocess) : 0; }

  kern_return_t get_value(const VoucherCaller& who, mach_voucher_attr_key_t, mach_voucher_attr_recipe_command_t command,
                          std::span<const uint64_t> prev, std::span<const uint8_t> content, uint64_t* value,
                          bool* persist) override {
    asked.push_back(command);
    *persist = false;
    switch (command) {
      case MACH_VOUCHER_ATTR_USER_DATA_STORE:
        *value = content.empty() ? 0 : make(std::string(content.begin(), content.end()));
        return KERN_SUCCESS;
      case MACH_VOUCHER_ATTR_REDEEM:
        *value = prev.empty() ? 0 : make(values_.at(prev[0]).bytes);
        return KERN_SUCCESS;
      case MACH_VOUCHER_ATTR_SEND_PREPROCESS:
      case MACH_VOUCHER_ATTR_AUTO_REDEEM: {
        std::string before = prev.empty() ? "" : values_.at(prev[0]).bytes + "|";
        const char* what = command == MACH_VOUCHER_ATTR_SEND_PREPROCESS ? "sent:" : "got:";
        *value = make(before + what + std::to_string(who.creds.pid));
        return KERN_SUCCESS;
      }
      default:
        return KERN_INVALID_ARGUMENT;
    }
  }

  kern_return_t extract_content(const VoucherCaller&, mach_voucher_attr_key_t, std::span<const uint64_t> values,
                                mach_voucher_attr_recipe_command_t* command, uint8_t* out, uint32_t* size) override {
    const std::string& b = values_.at(values[0]).bytes;
    if (b.size() > *size) return KERN_NO_SPACE;
    std::memcpy(out, b.data(), b.size());
    *size = static_cast<uint32_t>(b.size());
    *command = MACH_VOUCHER_ATTR_USER_DATA_STORE;
    return KERN_SUCCESS;
  }

  // Command 1: the asking task's pid and how many values it was given.
  kern_return_t command(const VoucherCaller& who, mach_voucher_attr_key_t, std::span<const uint64_t> values,
                        mach_voucher_attr_command_t command, std::span<const uint8_t>, uint8_t* out,
                        uint32_t* out_size) override {
    if (command != 1) return KERN_FAILURE;
    if (*out_size < 8) return KERN_NO_SPACE;
    const uint32_t words[2] = {who.creds.pid, static_cast<uint32_t>(values.size())};
    std::memcpy(out, words, sizeof words);
    *out_size = sizeof words;
    return KERN_SUCCESS;
  }

  void release_value(mach_voucher_attr_key_t, uint64_t value, uint32_t made) override {
    released.emplace_back(value, made);
    auto it = values_.find(value);
    if (it == values_.end()) {
      ADD_FAILURE() << "release of an unknown value";
      return;
    }
    EXPECT_EQ(it->second.made, made) << "every made reference comes back in one release";
    by_bytes_.erase(it->second.bytes);
    values_.erase(it);
  }

  size_t live() const { return values_.size(); }
  uint32_t made_of(const std::string& bytes) const {
    auto it = by_bytes_.find(bytes);
    return it == by_bytes_.end() ? 0 : values_.at(it->second).made;
  }

 private:
  struct Value {
    std::string bytes;
    uint32_t made = 0;
  };
  uint64_t make(const std::string& bytes) {
    auto [it, fresh] = by_bytes_.try_emplace(bytes, next_);
    if (fresh) values_[next_++] = Value{bytes, 0};
    values_[it->second].made++;
    return it->second;
  }
  std::map<uint64_t, Value> values_;
  std::map<std::string, uint64_t> by_bytes_;
  uint64_t next_ = 0x100;
};

// The fake manager serves MACH_VOUCHER_ATTR_KEY_USER_DATA; no other key has one.
class VoucherTest : public IpcTest {
 protected:
  void SetUp() override { k.voucher_register(MACH_VOUCHER_ATTR_KEY_USER_DATA, &mgr); }
  void TearDown() override {
    IpcTest::TearDown();  // the leak check: vouchers die while the manager still answers
    EXPECT_EQ(mgr.live(), 0u) << "values not released to their manager";
    k.voucher_register(MACH_VOUCHER_ATTR_KEY_USER_DATA, nullptr);
  }

  // One recipe record.
  static void add(std::vector<uint8_t>& r, mach_voucher_attr_key_t key, mach_voucher_attr_recipe_command_t command,
                  mach_port_name_t previous = MACH_PORT_NULL, const std::string& content = "") {
    mach_voucher_attr_recipe_data_t h{};
    h.key = key;
    h.command = command;
    h.previous_voucher = previous;
    h.content_size = static_cast<uint32_t>(content.size());
    const auto* p = reinterpret_cast<const uint8_t*>(&h);
    r.insert(r.end(), p, p + sizeof h);
    r.insert(r.end(), content.begin(), content.end());
  }
  static std::vector<uint8_t> store(const std::string& bytes) {
    std::vector<uint8_t> r;
    add(r, MACH_VOUCHER_ATTR_KEY_USER_DATA, MACH_VOUCHER_ATTR_USER_DATA_STORE, MACH_PORT_NULL, bytes);
    return r;
  }

  // host_create_mach_voucher for `t`: the result as a send right in `t`
  // (MACH_PORT_NULL for none), the code in *kr.
  mach_port_name_t create(TaskId t, const std::vector<uint8_t>& recipes, kern_return_t* kr = nullptr) {
    mach_port_name_t kname = MACH_PORT_NULL;
    kern_return_t r = k.voucher_create(t, recipes, &kname);
    if (kr) *kr = r;
    else EXPECT_EQ(r, KERN_SUCCESS);
    if (r != KERN_SUCCESS || !MACH_PORT_VALID(kname)) return MACH_PORT_NULL;
    return extract(k.kernel_task(), kname, MACH_MSG_TYPE_MOVE_SEND, t);
  }
  mach_port_name_t voucher(TaskId t, const std::string& bytes) { return create(t, store(bytes)); }

  // The label id of the voucher `name` of `t` denotes.
  uint64_t id_of(TaskId t, mach_port_name_t name) {
    KObject ko = k.kobject_of(t, name);
    EXPECT_EQ(ko.type, kKObjectVoucherType);
    return ko.id;
  }
  // The user data `name` of `t` holds ("" for the default).
  std::string content_of(TaskId t, mach_port_name_t name) {
    uint8_t buf[256];
    uint32_t size = sizeof buf;
    EXPECT_EQ(k.voucher_extract_content(t, id_of(t, name), MACH_VOUCHER_ATTR_KEY_USER_DATA, buf, &size),
              KERN_SUCCESS);
    return std::string(buf, buf + size);
  }

  FakeVoucherManager mgr;
};

}  // namespace machd::ipc::test
