// pagers/pager-test/content_model.cc — see content_model.h.
#include "content_model.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "mach_pager_test.h"

namespace pagerkit {

namespace {

uint64_t word_at(const uint8_t* p) {
  uint64_t w = 0;
  for (int b = 7; b >= 0; --b) w = (w << 8) | p[b];
  return w;
}

}  // namespace

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

std::string ContentModel::first_difference(uint64_t index, const uint8_t* got, const uint8_t* want) const {
  for (uint64_t i = 0; i < page_; i += 8) {
    if (memcmp(got + i, want + i, 8) == 0) continue;
    char buf[128];
    snprintf(buf, sizeof buf, "word at 0x%" PRIx64 " is 0x%016" PRIx64 ", expected 0x%016" PRIx64,
             index * page_ + i, word_at(got + i), word_at(want + i));
    return buf;
  }
  return "";
}

std::string ContentModel::check_and_keep(uint64_t index, std::vector<uint8_t> data) {
  std::string diff;
  std::vector<uint8_t> want;
  const bool from_pattern = store_.find(index) == store_.end();
  if (store_of(index, want)) {
    diff = first_difference(index, data.data(), want.data());
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
