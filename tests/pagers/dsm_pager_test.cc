// tests/pagers/dsm_pager_test.cc — the dsm-pager program against two or
// three fake kernels (fake_kernel.h), each with its own control port, as
// machds on several hosts would be: no kernel is supplied a page another
// kernel may still write; the writer's page comes back before a reader
// gets it; a kernel that never answers is cut off after the bound.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <unistd.h>

#include <mach/mach_vm.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "../system/pager_program.h"
#include "../system/support.h"
#include "fake_kernel.h"

namespace {

using pagertest::ControlCall;
using pagertest::FakeKernel;

const vm_size_t kPage = vm_page_size;

class DsmPagerKernels : public ::testing::Test {
 protected:
  // Starts dsm-pager (1 MiB) and finds its object.
  void start(const std::vector<std::string>& extra = {}) {
    name_ = "org.machd.test.dsm-pager." + std::to_string(getpid()) + "." + std::to_string(++serial_);
    std::vector<std::string> args = {"--name", name_, "--size", "1M"};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(pager_.start("DSM_PAGER", args)) << "dsm-pager did not start";
    ASSERT_EQ(bootstrap_look_up(bootstrap_port, name_.c_str(), &object_), KERN_SUCCESS);
  }
  void TearDown() override {
    kernels_.clear();
    if (pager_.pid() > 0) {
      pager_.signal(SIGTERM);
      EXPECT_EQ(pager_.wait_exit(), 0);
    }
    if (MACH_PORT_VALID(object_)) (void)mach_port_deallocate(mach_task_self(), object_);
  }
  // A new kernel of the object that sent memory_object_init and was
  // answered memory_object_ready.
  FakeKernel& kernel() {
    EXPECT_EQ(mach_port_mod_refs(mach_task_self(), object_, MACH_PORT_RIGHT_SEND, 1), KERN_SUCCESS);
    kernels_.push_back(std::make_unique<FakeKernel>(object_));
    FakeKernel& k = *kernels_.back();
    EXPECT_EQ(k.init(kPage), KERN_SUCCESS);
    ControlCall c;
    EXPECT_TRUE(k.next(&c));
    EXPECT_EQ(c.id, pagertest::kReady);
    EXPECT_FALSE(c.may_cache);
    return k;
  }
  // The next call on `k`'s control port, which must be `id`.
  static ControlCall expect(FakeKernel& k, mach_msg_id_t id, int timeout_ms = 5000) {
    ControlCall c;
    EXPECT_TRUE(k.next(&c, timeout_ms)) << "no call came";
    EXPECT_EQ(c.id, id);
    return c;
  }

  static inline int serial_ = 0;
  std::string name_;
  systest::PagerProgram pager_;
  mach_port_t object_ = MACH_PORT_NULL;
  std::vector<std::unique_ptr<FakeKernel>> kernels_;
};

TEST_F(DsmPagerKernels, EachKernelIsReadyAndReadsZeroesReadOnly) {
  start();
  FakeKernel& a = kernel();
  FakeKernel& b = kernel();
  for (FakeKernel* k : {&a, &b}) {
    ASSERT_EQ(k->data_request(0, 16 * kPage, VM_PROT_READ), KERN_SUCCESS);
    const ControlCall c = expect(*k, pagertest::kDataSupply);
    EXPECT_EQ(c.offset, 0u);
    EXPECT_EQ(c.data, std::vector<uint8_t>(16 * kPage, 0)) << "one supply for the cluster";
    EXPECT_EQ(c.lock_value, VM_PROT_WRITE);
  }
}

TEST_F(DsmPagerKernels, AReaderIsSuppliedOnlyAfterTheWriterGaveItsPageBack) {
  start();
  FakeKernel& writer = kernel();
  FakeKernel& reader = kernel();
  ASSERT_EQ(writer.data_request(kPage, kPage, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);
  EXPECT_EQ(expect(writer, pagertest::kDataSupply).lock_value, VM_PROT_NONE);

  ASSERT_EQ(reader.data_request(kPage, kPage, VM_PROT_READ), KERN_SUCCESS);
  const ControlCall lock = expect(writer, pagertest::kLockRequest);
  EXPECT_EQ(lock.offset, kPage);
  EXPECT_EQ(lock.size, kPage);
  EXPECT_EQ(lock.should_return, MEMORY_OBJECT_RETURN_DIRTY);
  EXPECT_FALSE(lock.should_flush) << "a downgrade: the writer keeps reading";
  EXPECT_EQ(lock.lock_value, VM_PROT_WRITE);
  ASSERT_TRUE(MACH_PORT_VALID(lock.reply_to)) << "the pager waits for lock_completed";
  EXPECT_EQ(lock.reply_to_type, MACH_MSG_TYPE_PORT_SEND)
      << "a send right to the object port: on another host, lock_completed takes the data_returns' route";
  EXPECT_TRUE(reader.quiet(300)) << "supplied before the writer answered";

  const std::vector<uint8_t> written(kPage, 0xa5);
  ASSERT_EQ(writer.data_return(kPage, written, TRUE, FALSE), KERN_SUCCESS);
  ASSERT_EQ(writer.lock_completed(lock.reply_to, lock.offset, lock.size, lock.reply_to_type), KERN_SUCCESS);
  const ControlCall c = expect(reader, pagertest::kDataSupply);
  EXPECT_EQ(c.offset, kPage);
  EXPECT_EQ(c.data, written) << "the reader sees the writer's data";
  EXPECT_EQ(c.lock_value, VM_PROT_WRITE);
}

TEST_F(DsmPagerKernels, AWriteIsGrantedOnlyAfterEveryOtherReaderFlushedThePage) {
  start();
  FakeKernel& a = kernel();
  FakeKernel& b = kernel();
  FakeKernel& c = kernel();
  for (FakeKernel* k : {&a, &b, &c}) {
    ASSERT_EQ(k->data_request(2 * kPage, kPage, VM_PROT_READ), KERN_SUCCESS);
    expect(*k, pagertest::kDataSupply);
  }
  ASSERT_EQ(c.data_unlock(2 * kPage, kPage, VM_PROT_WRITE), KERN_SUCCESS);
  const ControlCall fa = expect(a, pagertest::kLockRequest);
  const ControlCall fb = expect(b, pagertest::kLockRequest);
  for (const ControlCall* f : {&fa, &fb}) {
    EXPECT_TRUE(f->should_flush);
    EXPECT_EQ(f->offset, 2 * kPage);
    ASSERT_TRUE(MACH_PORT_VALID(f->reply_to));
  }
  ASSERT_EQ(a.lock_completed(fa.reply_to, fa.offset, fa.size, fa.reply_to_type), KERN_SUCCESS);
  EXPECT_TRUE(c.quiet(300)) << "granted while kernel b may still read the old page";
  ASSERT_EQ(b.lock_completed(fb.reply_to, fb.offset, fb.size, fb.reply_to_type), KERN_SUCCESS);
  const ControlCall g = expect(c, pagertest::kLockRequest);
  EXPECT_EQ(g.offset, 2 * kPage);
  EXPECT_EQ(g.lock_value, VM_PROT_NONE) << "the write lock lifted";
  EXPECT_FALSE(g.should_flush);
  EXPECT_EQ(g.should_return, MEMORY_OBJECT_RETURN_NONE);
}

TEST_F(DsmPagerKernels, AClusterAskedForWritingIsWritableOnlyWhereNoOtherKernelHoldsIt) {
  start();
  FakeKernel& a = kernel();
  FakeKernel& b = kernel();
  ASSERT_EQ(a.data_request(4 * kPage, kPage, VM_PROT_READ), KERN_SUCCESS);
  expect(a, pagertest::kDataSupply);
  ASSERT_EQ(b.data_request(0, 8 * kPage, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);
  const ControlCall before = expect(b, pagertest::kDataSupply);
  const ControlCall held = expect(b, pagertest::kDataSupply);
  const ControlCall after = expect(b, pagertest::kDataSupply);
  EXPECT_EQ(before.offset, 0u);
  EXPECT_EQ(before.size, 4 * kPage);
  EXPECT_EQ(before.lock_value, VM_PROT_NONE);
  EXPECT_EQ(held.offset, 4 * kPage);
  EXPECT_EQ(held.size, kPage);
  EXPECT_EQ(held.lock_value, VM_PROT_WRITE) << "kernel a reads page 4: b gets it read-only";
  EXPECT_EQ(after.offset, 5 * kPage);
  EXPECT_EQ(after.size, 3 * kPage);
  EXPECT_EQ(after.lock_value, VM_PROT_NONE);
  EXPECT_TRUE(a.quiet(300)) << "kernel a's page was flushed for a cluster";
  // A single page asked for writing is a write: the reader is flushed.
  ASSERT_EQ(b.data_request(4 * kPage, kPage, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);
  const ControlCall flush = expect(a, pagertest::kLockRequest);
  EXPECT_TRUE(flush.should_flush);
  ASSERT_EQ(a.lock_completed(flush.reply_to, flush.offset, flush.size, flush.reply_to_type), KERN_SUCCESS);
  EXPECT_EQ(expect(b, pagertest::kDataSupply).lock_value, VM_PROT_NONE);
}

TEST_F(DsmPagerKernels, ADirtyPageFromAKernelThatIsNotTheWriterIsDropped) {
  start();
  FakeKernel& a = kernel();
  FakeKernel& b = kernel();
  ASSERT_EQ(a.data_request(3 * kPage, kPage, VM_PROT_READ), KERN_SUCCESS);
  expect(a, pagertest::kDataSupply);
  ASSERT_EQ(a.data_return(3 * kPage, std::vector<uint8_t>(kPage, 0x77), TRUE, FALSE), KERN_SUCCESS);
  ASSERT_EQ(b.data_request(3 * kPage, kPage, VM_PROT_READ), KERN_SUCCESS);
  EXPECT_EQ(expect(b, pagertest::kDataSupply).data, std::vector<uint8_t>(kPage, 0));
}

TEST_F(DsmPagerKernels, ATerminatedKernelsPagesAreKeptAndTheOthersAreServedWithoutIt) {
  start();
  FakeKernel& a = kernel();
  FakeKernel& b = kernel();
  ASSERT_EQ(a.data_request(0, kPage, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);
  expect(a, pagertest::kDataSupply);
  ASSERT_EQ(b.data_request(kPage, kPage, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);
  expect(b, pagertest::kDataSupply);
  // As a kernel's last mapping goes: its dirty pages, then terminate.
  ASSERT_EQ(a.data_return(0, std::vector<uint8_t>(kPage, 0x3c), TRUE, FALSE), KERN_SUCCESS);
  ASSERT_EQ(a.terminate(), KERN_SUCCESS);
  ASSERT_EQ(b.data_request(0, kPage, VM_PROT_READ), KERN_SUCCESS);
  EXPECT_EQ(expect(b, pagertest::kDataSupply).data, std::vector<uint8_t>(kPage, 0x3c))
      << "supplied without asking the terminated kernel";
  FakeKernel& c = kernel();
  ASSERT_EQ(c.data_request(kPage, kPage, VM_PROT_READ), KERN_SUCCESS);
  const ControlCall lock = expect(b, pagertest::kLockRequest);
  EXPECT_FALSE(lock.should_flush) << "kernel b still writes page 1: a downgrade";
  if (MACH_PORT_VALID(lock.reply_to)) (void)mach_port_deallocate(mach_task_self(), lock.reply_to);
}

TEST_F(DsmPagerKernels, AKernelThatNeverAnswersIsCutOffAfterTheBoundAndTheOthersGoOn) {
  start({"--revoke-timeout", "300"});
  FakeKernel& silent = kernel();
  FakeKernel& reader = kernel();
  ASSERT_EQ(silent.data_request(0, kPage, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);
  expect(silent, pagertest::kDataSupply);
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_EQ(reader.data_request(0, kPage, VM_PROT_READ), KERN_SUCCESS);
  const ControlCall lock = expect(silent, pagertest::kLockRequest);
  ControlCall c;
  ASSERT_TRUE(reader.next(&c, 5000));
  const auto waited = std::chrono::steady_clock::now() - asked;
  EXPECT_EQ(c.id, pagertest::kDataSupply);
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_LT(waited, std::chrono::milliseconds(3000));
  const ControlCall destroy = expect(silent, pagertest::kDestroy);
  EXPECT_EQ(destroy.error, KERN_OPERATION_TIMED_OUT);
  // Its late answer and later requests are refused; the pager serves on.
  ASSERT_EQ(silent.lock_completed(lock.reply_to, lock.offset, lock.size, lock.reply_to_type), KERN_SUCCESS);
  ASSERT_EQ(silent.data_request(kPage, kPage, VM_PROT_READ), KERN_SUCCESS);
  EXPECT_TRUE(silent.quiet(300));
  ASSERT_EQ(silent.terminate(), KERN_SUCCESS);
  ASSERT_EQ(reader.data_request(kPage, kPage, VM_PROT_READ), KERN_SUCCESS);
  expect(reader, pagertest::kDataSupply);
  pager_.signal(SIGUSR1);
  EXPECT_NE(pager_.wait_line("1 kernels cut off"), "");
}

TEST_F(DsmPagerKernels, AKernelWhoseQueueStaysFullIsCutOffWithoutHoldingTheOthers) {
  start({"--revoke-timeout", "300"});  // sends wait for room at most as long
  ASSERT_EQ(mach_port_mod_refs(mach_task_self(), object_, MACH_PORT_RIGHT_SEND, 1), KERN_SUCCESS);
  kernels_.push_back(std::make_unique<FakeKernel>(object_));
  FakeKernel& stuck = *kernels_.back();
  mach_port_limits_t limits{1};
  ASSERT_EQ(mach_port_set_attributes(mach_task_self(), stuck.control(), MACH_PORT_LIMITS_INFO,
                                     reinterpret_cast<mach_port_info_t>(&limits), MACH_PORT_LIMITS_INFO_COUNT),
            KERN_SUCCESS);
  ASSERT_EQ(stuck.init(kPage), KERN_SUCCESS);  // its ready fills the queue
  ASSERT_EQ(stuck.data_request(0, kPage, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);  // no room for the supply
  FakeKernel& other = kernel();
  ASSERT_EQ(other.data_request(0, kPage, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);
  EXPECT_EQ(expect(other, pagertest::kDataSupply).lock_value, VM_PROT_NONE) << "nothing left to revoke";
  const std::string s = pager_.signal_until(
      SIGUSR1, "stats: ", [](const std::string& l) { return l.find(" 1 kernels cut off") != std::string::npos; });
  EXPECT_NE(s.find(" 1 kernels cut off"), std::string::npos) << s;
  EXPECT_EQ(expect(stuck, pagertest::kReady).id, pagertest::kReady);
  EXPECT_TRUE(stuck.quiet(300)) << "the supply that found no room was not sent";
}

TEST_F(DsmPagerKernels, AKernelWhoseControlPortDiesIsRemovedWithoutWaitingForTheBound) {
  start({"--revoke-timeout", "60000"});
  FakeKernel& writer = kernel();
  FakeKernel& reader = kernel();
  ASSERT_EQ(writer.data_request(0, kPage, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);
  expect(writer, pagertest::kDataSupply);
  kernels_.front().reset();  // the writer's kernel dies: its control and name ports with it
  const std::string s = pager_.signal_until(
      SIGUSR1, "stats: ", [](const std::string& l) { return l.find(" 1 kernels (2 inits)") != std::string::npos; });
  EXPECT_NE(s.find(" 1 kernels (2 inits)"), std::string::npos) << "the dead-name notification removed it: " << s;
  ASSERT_EQ(reader.data_request(0, kPage, VM_PROT_READ), KERN_SUCCESS);
  const ControlCall c = expect(reader, pagertest::kDataSupply, 2000);
  EXPECT_EQ(c.lock_value, VM_PROT_WRITE);
}

// machd (this task's kernel, through real faults) and a fake kernel share
// page 0: machd's writes reach the fake kernel through a downgrade, and
// machd's write to the page it was left read-only waits until the fake
// kernel flushed its copy.
TEST_F(DsmPagerKernels, MachdAndAFakeKernelSeeEachOthersPagesThroughRevocations) {
  start();
  const vm_size_t size = 16 * kPage;
  mach_port_t object = MACH_PORT_NULL;
  volatile uint8_t* p = systest::map_named_object(name_, size, &object);
  ASSERT_NE(p, nullptr);
  p[0] = 'A';  // machd's write fault: page 0 writable there
  FakeKernel& fake = kernel();
  ASSERT_EQ(fake.data_request(0, kPage, VM_PROT_READ), KERN_SUCCESS);
  ControlCall c = expect(fake, pagertest::kDataSupply);
  ASSERT_EQ(c.data.size(), kPage);
  EXPECT_EQ(c.data[0], 'A') << "machd gave its dirty page back before the fake kernel read it";

  // machd holds page 0 read-only now: its next write asks (data_unlock),
  // and is granted once the fake kernel let go of its copy.
  std::atomic<bool> written{false};
  auto writer = std::async(std::launch::async, [&] {
    p[0] = 'B';
    written = true;
  });
  const ControlCall flush = expect(fake, pagertest::kLockRequest);
  EXPECT_TRUE(flush.should_flush);
  EXPECT_EQ(flush.offset, 0u);
  EXPECT_FALSE(written) << "machd wrote while the fake kernel could still read the old page";
  ASSERT_EQ(fake.lock_completed(flush.reply_to, flush.offset, flush.size, flush.reply_to_type), KERN_SUCCESS);
  ASSERT_EQ(writer.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "machd's write was not granted";
  EXPECT_TRUE(written);

  ASSERT_EQ(fake.data_request(0, kPage, VM_PROT_READ), KERN_SUCCESS);
  c = expect(fake, pagertest::kDataSupply);
  ASSERT_EQ(c.data.size(), kPage);
  EXPECT_EQ(c.data[0], 'B');
  EXPECT_EQ(p[0], 'B');
  ASSERT_EQ(fake.terminate(), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size), KERN_SUCCESS);
  EXPECT_EQ(mach_port_deallocate(mach_task_self(), object), KERN_SUCCESS);
}

TEST_F(DsmPagerKernels, TheObjectsPagesAreSuppliedAndThosePastItsEndAnsweredWithAnError) {
  start();
  FakeKernel& a = kernel();
  ASSERT_EQ(a.data_request(1 << 20, kPage, VM_PROT_READ), KERN_SUCCESS);
  EXPECT_EQ(expect(a, pagertest::kDataError).error, KERN_INVALID_ADDRESS);
  // A cluster across the end: its pages inside are served.
  ASSERT_EQ(a.data_request((1 << 20) - 2 * kPage, 4 * kPage, VM_PROT_READ), KERN_SUCCESS);
  const ControlCall error = expect(a, pagertest::kDataError);
  EXPECT_EQ(error.offset, vm_offset_t(1 << 20));
  EXPECT_EQ(error.size, 2 * kPage);
  EXPECT_EQ(error.error, KERN_INVALID_ADDRESS);
  const ControlCall supply = expect(a, pagertest::kDataSupply);
  EXPECT_EQ(supply.offset, (1u << 20) - 2 * kPage);
  EXPECT_EQ(supply.size, 2 * kPage);
}

}  // namespace
