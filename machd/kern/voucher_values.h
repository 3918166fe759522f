// machd/kern/voucher_values.h — an attribute manager's values as XNU's
// managers count them: each value has a handle (never 0, the default), a
// key it is found by (equal keys are one value), data, and the made
// references the manager handed to the IPC core (ipc::VoucherAttrManager);
// the value goes when the core gives them all back.
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>
#include <variant>

namespace machd::kern {

template <typename Key, typename Data = std::monostate>
class MadeValues {
 public:
  // The value for `key` (made with `data` if there is none), one made
  // reference more; its handle.
  uint64_t make(const Key& key, const Data& data = Data{}) {
    auto [it, fresh] = by_key_.try_emplace(key, next_);
    if (fresh) values_.emplace(next_++, Entry{key, data});
    return again(it->second);
  }
  // One made reference more on the value `handle` (XNU's REDEEM of it).
  uint64_t again(uint64_t handle) {
    values_.at(handle).made++;
    return handle;
  }
  // The core gives back `made` references; at none left the value goes.
  void release(uint64_t handle, uint32_t made) {
    auto it = values_.find(handle);
    if (it == values_.end()) return;
    Entry& e = it->second;
    e.made = made >= e.made ? 0 : e.made - made;
    if (e.made != 0) return;
    forget(e.key, handle);
    values_.erase(it);
  }
  // `key` finds value `handle` no more (a later make() makes a new value).
  void forget(const Key& key, uint64_t handle) {
    if (auto k = by_key_.find(key); k != by_key_.end() && k->second == handle) by_key_.erase(k);
  }
  // The handle `key` finds (0: none).
  uint64_t find(const Key& key) const {
    auto it = by_key_.find(key);
    return it == by_key_.end() ? 0 : it->second;
  }
  const Key& key(uint64_t handle) const { return values_.at(handle).key; }
  const Data& data(uint64_t handle) const { return values_.at(handle).data; }
  Data& data(uint64_t handle) { return values_.at(handle).data; }
  size_t size() const { return values_.size(); }

 private:
  struct Entry {
    Key key;
    Data data;
    uint32_t made = 0;
  };
  std::unordered_map<uint64_t, Entry> values_;
  std::map<Key, uint64_t> by_key_;
  uint64_t next_ = 1;
};

}  // namespace machd::kern
