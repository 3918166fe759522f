// tests/pagers/file_store_test.cc — file-pager's store (pagers/file-pager/
// file_store.h) on a temporary file, and the name it publishes a file
// under (service_name.h): no kernel involved.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "file-pager/file_store.h"
#include "file-pager/service_name.h"
#include "mach_pager.h"

namespace {

constexpr size_t kPage = 4096;

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/file-store-test-XXXXXX";
    fd_ = mkstemp(tmpl);
    ASSERT_GE(fd_, 0);
    path_ = tmpl;
  }
  void TearDown() override {
    close(fd_);
    unlink(path_.c_str());
  }
  void fill(size_t size, uint8_t byte) {
    std::vector<uint8_t> b(size, byte);
    ASSERT_EQ(pwrite(fd_, b.data(), size, 0), ssize_t(size));
  }
  std::vector<uint8_t> contents() {
    struct stat st;
    fstat(fd_, &st);
    std::vector<uint8_t> b(size_t(st.st_size));
    EXPECT_EQ(pread(fd_, b.data(), b.size(), 0), ssize_t(b.size()));
    return b;
  }
  int fd_ = -1;
  std::string path_;
};

TEST_F(FileStoreTest, APageAcrossTheEndReadsTheFileThenZeroes) {
  fill(kPage + 10, 'a');
  filepager::FileStore store(fd_, false);
  std::vector<uint8_t> buf(kPage, 0xEE);
  ASSERT_EQ(store.read_page(kPage, buf.data(), kPage), KERN_SUCCESS);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(buf[i], 'a');
  for (size_t i = 10; i < kPage; ++i) ASSERT_EQ(buf[i], 0) << i;
}

TEST_F(FileStoreTest, APageWhollyPastTheEndIsZeroFill) {
  fill(kPage, 'a');
  filepager::FileStore store(fd_, false);
  std::vector<uint8_t> buf(kPage);
  EXPECT_EQ(store.read_page(kPage, buf.data(), kPage), MACH_PAGER_ZERO_FILL);
  EXPECT_EQ(store.read_page(5 * kPage, buf.data(), kPage), MACH_PAGER_ZERO_FILL);
  EXPECT_EQ(store.stats().pages_zero, 2u);
}

TEST_F(FileStoreTest, AWriteNeverExtendsTheFileWithoutGrow) {
  fill(kPage + 10, 'a');
  filepager::FileStore store(fd_, false);
  std::vector<uint8_t> page(kPage, 'b');
  ASSERT_EQ(store.write_page(kPage, page.data(), kPage), KERN_SUCCESS);
  ASSERT_EQ(store.write_page(3 * kPage, page.data(), kPage), KERN_SUCCESS);
  std::vector<uint8_t> f = contents();
  ASSERT_EQ(f.size(), kPage + 10);
  EXPECT_EQ(f[kPage], 'b');
  EXPECT_EQ(f[kPage + 9], 'b');
  EXPECT_EQ(f[kPage - 1], 'a');
  EXPECT_EQ(store.stats().bytes_written, 10u);
  EXPECT_EQ(store.stats().bytes_dropped, 2 * kPage - 10);
}

TEST_F(FileStoreTest, WithGrowAWriteExtendsTheFileToItsLastNonzeroByte) {
  fill(kPage + 10, 'a');
  filepager::FileStore store(fd_, true);
  std::vector<uint8_t> page(kPage, 0);
  page[0] = 'c';
  page[99] = 'd';
  ASSERT_EQ(store.write_page(2 * kPage, page.data(), kPage), KERN_SUCCESS);
  std::vector<uint8_t> f = contents();
  ASSERT_EQ(f.size(), 2 * kPage + 100);
  EXPECT_EQ(f[2 * kPage], 'c');
  EXPECT_EQ(f[2 * kPage + 99], 'd');
  EXPECT_EQ(f[kPage + 10], 0);  // the hole reads as zeroes
  // A page of zeroes past the end extends nothing.
  std::vector<uint8_t> zeroes(kPage, 0);
  ASSERT_EQ(store.write_page(5 * kPage, zeroes.data(), kPage), KERN_SUCCESS);
  EXPECT_EQ(contents().size(), 2 * kPage + 100);
}

TEST_F(FileStoreTest, AFailedWriteIsReported) {
  filepager::FileStore store(-1, false);
  std::vector<uint8_t> page(kPage, 'b');
  EXPECT_EQ(store.write_page(0, page.data(), kPage), KERN_MEMORY_FAILURE);
  EXPECT_EQ(store.read_page(0, page.data(), kPage), KERN_MEMORY_FAILURE);
  EXPECT_EQ(store.stats().errors, 2u);
}

TEST(FilePagerServiceName, IsThePrefixAndTheAbsolutePath) {
  char tmpl[] = "/tmp/service-name-XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  char real[PATH_MAX];
  ASSERT_NE(realpath(tmpl, real), nullptr);
  EXPECT_EQ(filepager::default_service_name(tmpl), std::string("file-pager:") + real);
  unlink(tmpl);
  EXPECT_EQ(filepager::default_service_name("/no/such/file"), "");
}

TEST(FilePagerServiceName, ALongPathIsShortenedToFitANameAndStaysDistinct) {
  char dir[] = "/tmp/service-name-dir-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string base = std::string(dir) + "/" + std::string(150, 'x');
  const std::string a = base + "a", b = base + "b";
  for (const std::string& p : {a, b}) close(open(p.c_str(), O_CREAT | O_WRONLY, 0600));
  const std::string na = filepager::default_service_name(a), nb = filepager::default_service_name(b);
  EXPECT_LE(na.size(), 127u);
  EXPECT_EQ(na.rfind("file-pager:", 0), 0u);
  EXPECT_EQ(na.back(), 'a');
  EXPECT_NE(na, nb);
  unlink(a.c_str());
  unlink(b.c_str());
  rmdir(dir);
}

}  // namespace
