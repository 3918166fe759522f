// pagers/pager-test/content_model.h — what the kit knows of the object's
// bytes: what the pager should hold for each page (its store) and what it
// last supplied (what the kernel's cache, and so every task, holds).
//
// Contract
//   Pattern mode: a page's store content is the pattern of the seed
//     (mach_pager_test.h) until the kernel returns it dirty; then it is
//     what was returned.
//   Any mode: a page's store content is unknown until the pager first
//     supplies it; what it supplies then is taken as its content.
//   supplied()/unavailable(): the pager answered page `index` with `data`
//     (zeroes). Returns "" if that is what its store should hold, else the
//     first difference in words ("word at 0x2008 is 0x..., expected 0x...
//     (the pattern)"). Either way the data becomes the page's
//     last-supplied content.
//   returned(): the kernel returned the page dirty (the kit forwarded it):
//     the store holds that from now on. A short tail overlays the start of
//     the page.
//   last_supplied(): the content last supplied for the page, or null if it
//     never was.
// Not thread-safe: the proxy's lock guards it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace pagerkit {

enum class ContentMode { kPattern, kAny };

class ContentModel {
 public:
  ContentModel(ContentMode mode, uint64_t seed, uint64_t page_size);

  ContentMode mode() const { return mode_; }
  uint64_t seed() const { return seed_; }
  uint64_t page_size() const { return page_; }

  std::string supplied(uint64_t index, const uint8_t* data);
  std::string unavailable(uint64_t index);
  void returned(uint64_t index, const uint8_t* data, uint64_t len);
  const std::vector<uint8_t>* last_supplied(uint64_t index) const;

 private:
  // The store's content of the page into `out`; false if unknown.
  bool store_of(uint64_t index, std::vector<uint8_t>& out) const;
  std::string check_and_keep(uint64_t index, std::vector<uint8_t> data);

  ContentMode mode_;
  uint64_t seed_;
  uint64_t page_;
  std::unordered_map<uint64_t, std::vector<uint8_t>> store_;     // known store content (not the pattern)
  std::unordered_map<uint64_t, std::vector<uint8_t>> supplied_;  // last supplied
};

}  // namespace pagerkit
