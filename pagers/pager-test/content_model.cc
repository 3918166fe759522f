// pagers/pager-test/content_model.cc — see content_model.h.
#include "content_model.h"

#include <algorithm>
#include <cstring>

#include "mach_pager_test.h"
#include "text.h"

namespace pagerkit {

ContentModel::ContentModel(ContentMode mode, uint64_t seed, uint64_t page_size)
    : mode_(mode), seed_(seed), page_(page_size) {}

bool ContentModel::store_of(uint64_t index, std::vector<uint8_t>& out) const {
  if (auto it = store_.find(index); it != store_.end()) {
    out = it->second;
    return true;
  }
  if (mode_ != ContentMode::kPattern) return false;
  out.resize(page_);
  mach_pager_test_fill(out.data(), index * page_, page_, seed_);
  return true;
}

std::string ContentModel::check_and_keep(uint64_t index, std::vector<uint8_t> data) {
  std::string diff;
  std::vector<uint8_t> want;
  const bool from_pattern = store_.find(index) == store_.end();
  if (store_of(index, want)) {
    diff = word_difference(index * page_, data.data(), want.data(), page_);
    if (!diff.empty())
      diff += from_pattern ? " (the pattern of the seed)" : " (what the kernel returned to the pager)";
  } else {
    store_[index] = data;  // any mode: the pager's content, as first seen
  }
  supplied_[index] = std::move(data);
  return diff;
}

std::string ContentModel::supplied(uint64_t index, const uint8_t* data) {
  return check_and_keep(index, std::vector<uint8_t>(data, data + page_));
}

std::string ContentModel::unavailable(uint64_t index) { return check_and_keep(index, std::vector<uint8_t>(page_, 0)); }

void ContentModel::returned(uint64_t index, const uint8_t* data, uint64_t len) {
  std::vector<uint8_t> page;
  if (len < page_ && !store_of(index, page)) page.assign(page_, 0);
  page.resize(page_);
  memcpy(page.data(), data, std::min(len, page_));
  store_[index] = std::move(page);
}

const std::vector<uint8_t>* ContentModel::last_supplied(uint64_t index) const {
  auto it = supplied_.find(index);
  return it == supplied_.end() ? nullptr : &it->second;
}

}  // namespace pagerkit
