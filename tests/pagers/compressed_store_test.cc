// tests/pagers/compressed_store_test.cc — compress-pager's store
// (pagers/compress-pager/compressed_store.h): no kernel involved.
#include <gtest/gtest.h>

#include <vector>

#include "compress-pager/compressed_store.h"
#include "mach_pager.h"

namespace {

constexpr size_t kPage = 4096;

std::vector<uint8_t> text_page(uint8_t seed) {
  std::vector<uint8_t> p(kPage);
  for (size_t i = 0; i < kPage; ++i) p[i] = uint8_t("a page of text "[i % 15] + seed);
  return p;
}

TEST(CompressedStore, APageNeverWrittenIsZeroFill) {
  compresspager::CompressedStore store(1);
  std::vector<uint8_t> buf(kPage);
  EXPECT_EQ(store.read_page(0, buf.data(), kPage), MACH_PAGER_ZERO_FILL);
  EXPECT_EQ(store.stats().pages_zero_filled, 1u);
}

TEST(CompressedStore, AWrittenPageReadsBackEqualAndIsStoredSmaller) {
  compresspager::CompressedStore store(1);
  const std::vector<uint8_t> page = text_page(0);
  ASSERT_EQ(store.write_page(3 * kPage, page.data(), kPage), KERN_SUCCESS);
  std::vector<uint8_t> buf(kPage);
  ASSERT_EQ(store.read_page(3 * kPage, buf.data(), kPage), KERN_SUCCESS);
  EXPECT_EQ(buf, page);
  const compresspager::CompressedStore::Stats s = store.stats();
  EXPECT_EQ(s.pages_stored, 1u);
  EXPECT_EQ(s.bytes_before, kPage);
  EXPECT_LT(s.bytes_after, kPage / 4);
}

TEST(CompressedStore, RewritingAPageReplacesItAndItsCount) {
  compresspager::CompressedStore store(1);
  ASSERT_EQ(store.write_page(0, text_page(0).data(), kPage), KERN_SUCCESS);
  ASSERT_EQ(store.write_page(0, text_page(1).data(), kPage), KERN_SUCCESS);
  std::vector<uint8_t> buf(kPage);
  ASSERT_EQ(store.read_page(0, buf.data(), kPage), KERN_SUCCESS);
  EXPECT_EQ(buf, text_page(1));
  EXPECT_EQ(store.stats().pages_stored, 1u);
  EXPECT_EQ(store.stats().bytes_before, kPage);
}

TEST(CompressedStore, APageOfZeroesLeavesTheStore) {
  compresspager::CompressedStore store(1);
  ASSERT_EQ(store.write_page(0, text_page(0).data(), kPage), KERN_SUCCESS);
  const std::vector<uint8_t> zeroes(kPage, 0);
  ASSERT_EQ(store.write_page(0, zeroes.data(), kPage), KERN_SUCCESS);
  std::vector<uint8_t> buf(kPage);
  EXPECT_EQ(store.read_page(0, buf.data(), kPage), MACH_PAGER_ZERO_FILL);
  const compresspager::CompressedStore::Stats s = store.stats();
  EXPECT_EQ(s.pages_stored, 0u);
  EXPECT_EQ(s.bytes_before, 0u);
  EXPECT_EQ(s.bytes_after, 0u);
  EXPECT_EQ(s.zero_pages, 1u);
}

TEST(CompressedStore, APartialPageKeepsTheStoredTail) {
  compresspager::CompressedStore store(1);
  ASSERT_EQ(store.write_page(0, text_page(0).data(), kPage), KERN_SUCCESS);
  const std::vector<uint8_t> head(100, 'Z');
  ASSERT_EQ(store.write_page(0, head.data(), head.size()), KERN_SUCCESS);
  std::vector<uint8_t> buf(kPage);
  ASSERT_EQ(store.read_page(0, buf.data(), kPage), KERN_SUCCESS);
  std::vector<uint8_t> want = text_page(0);
  std::fill(want.begin(), want.begin() + 100, 'Z');
  EXPECT_EQ(buf, want);
}

TEST(CompressedStore, IncompressibleDataStillRoundTrips) {
  compresspager::CompressedStore store(3);
  std::vector<uint8_t> page(kPage);
  uint32_t x = 12345;
  for (auto& b : page) b = uint8_t((x = x * 1103515245 + 12345) >> 24);
  ASSERT_EQ(store.write_page(0, page.data(), kPage), KERN_SUCCESS);
  std::vector<uint8_t> buf(kPage);
  ASSERT_EQ(store.read_page(0, buf.data(), kPage), KERN_SUCCESS);
  EXPECT_EQ(buf, page);
}

}  // namespace
