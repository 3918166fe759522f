// tests/pagers/cxx_face_test.cc — the C++ face (mach_pager.hpp): a pager
// written as a class is served through its virtual functions.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "fake_kernel.h"
#include "mach_pager.hpp"

namespace {

using pagertest::ControlCall;
using pagertest::FakeKernel;

// Odd pages hold their page number in every byte; even pages are zero-fill.
class Numbers : public mach_pager::Pager {
 public:
  ~Numbers() override { close(); }
  std::atomic<int> writes{0};
  std::atomic<int> terminations{0};

 protected:
  kern_return_t read_page(vm_offset_t offset, void* buf, vm_size_t len) override {
    const vm_size_t n = offset / len;
    if (n % 2 == 0) return MACH_PAGER_ZERO_FILL;
    memset(buf, int(n), len);
    return KERN_SUCCESS;
  }
  kern_return_t write_page(vm_offset_t, const void*, vm_size_t) override {
    ++writes;
    return KERN_SUCCESS;
  }
  void terminated() override { ++terminations; }
};

TEST(PagerCxx, AClassPagerIsServedThroughItsVirtuals) {
  const size_t names_before = pagertest::names_in_space();
  const vm_size_t page = vm_page_size;
  {
    Numbers pager;
    ASSERT_EQ(pager.open(), KERN_SUCCESS);
    EXPECT_EQ(pager.open(), KERN_INVALID_ARGUMENT);
    ASSERT_EQ(pager.start(), KERN_SUCCESS);
    FakeKernel kernel(pager.object());
    ASSERT_EQ(kernel.init(page), KERN_SUCCESS);
    ControlCall c;
    ASSERT_TRUE(kernel.next(&c));
    EXPECT_EQ(c.id, pagertest::kReady);

    ASSERT_EQ(kernel.data_request(0, 2 * page, VM_PROT_READ), KERN_SUCCESS);
    ASSERT_TRUE(kernel.next(&c));
    EXPECT_EQ(c.id, pagertest::kDataUnavailable);
    EXPECT_EQ(c.size, page);
    ASSERT_TRUE(kernel.next(&c));
    EXPECT_EQ(c.id, pagertest::kDataSupply);
    EXPECT_EQ(c.offset, page);
    EXPECT_EQ(c.data, std::vector<uint8_t>(page, 1));

    ASSERT_EQ(kernel.data_return(page, std::vector<uint8_t>(page, 9), TRUE, FALSE), KERN_SUCCESS);
    ASSERT_EQ(kernel.terminate(), KERN_SUCCESS);
    for (int i = 0; i < 500 && pager.terminations == 0; ++i) usleep(10000);
    EXPECT_EQ(pager.writes, 1) << "the data_return was served before the terminate";
    EXPECT_EQ(pager.terminations, 1);
  }
  EXPECT_EQ(pagertest::names_in_space(), names_before);
}

}  // namespace
