// tests/pagers/libpager_test.cc — libmach-pager against a fake kernel over
// real Mach IPC: every kernel message goes through our mig's stubs and
// machd to the object port, every pager call is received on the control
// port and decoded by the mach.defs server stubs.  Each test ends with the
// pager destroyed and this task's name space as it was before.
#include <gtest/gtest.h>
#include <mach/mach.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_kernel.h"
#include "mach_pager.h"

using pagertest::ControlCall;
using pagertest::FakeKernel;
using pagertest::names_in_space;

namespace {

const vm_size_t kPage = vm_page_size;

uint8_t pattern(vm_offset_t offset, vm_size_t i) { return uint8_t((offset / kPage) * 7 + i); }

std::vector<uint8_t> pages_of(vm_offset_t offset, vm_size_t len) {
  std::vector<uint8_t> v(len);
  for (vm_size_t i = 0; i < len; ++i) v[i] = pattern(offset + (i / kPage) * kPage, i % kPage);
  return v;
}

// The pager's backing store and a record of the callbacks.
struct Store {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<vm_offset_t> reads;
  std::map<vm_offset_t, kern_return_t> read_result;  // absent: KERN_SUCCESS
  std::vector<std::pair<vm_offset_t, std::vector<uint8_t>>> writes;
  kern_return_t write_result = KERN_SUCCESS;
  kern_return_t unlock_result = KERN_SUCCESS;
  std::vector<vm_prot_t> unlocks;
  int terminated = 0;
  int returned = 0;
  kern_return_t returned_result = KERN_SUCCESS;
  std::vector<vm_offset_t> lock_completions;
  std::vector<kern_return_t> supply_results;
  std::function<void()> in_read;  // run inside read_page

  template <typename Pred>
  bool wait(Pred pred) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(5), pred);
  }
};

Store* store(void* ctx) { return static_cast<Store*>(ctx); }

kern_return_t read_page(void* ctx, vm_offset_t offset, void* buf, vm_size_t len) {
  Store* s = store(ctx);
  std::function<void()> hook;
  kern_return_t result = KERN_SUCCESS;
  {
    std::lock_guard<std::mutex> g(s->mu);
    s->reads.push_back(offset);
    auto it = s->read_result.find(offset);
    if (it != s->read_result.end()) result = it->second;
    hook = s->in_read;
  }
  if (hook) hook();
  auto* b = static_cast<uint8_t*>(buf);
  for (vm_size_t i = 0; i < len; ++i) b[i] = pattern(offset, i);
  return result;
}

kern_return_t write_page(void* ctx, vm_offset_t offset, const void* buf, vm_size_t len) {
  Store* s = store(ctx);
  std::lock_guard<std::mutex> g(s->mu);
  const auto* b = static_cast<const uint8_t*>(buf);
  s->writes.emplace_back(offset, std::vector<uint8_t>(b, b + len));
  return s->write_result;
}

kern_return_t unlock_page(void* ctx, vm_offset_t, vm_size_t, vm_prot_t access) {
  Store* s = store(ctx);
  std::lock_guard<std::mutex> g(s->mu);
  s->unlocks.push_back(access);
  return s->unlock_result;
}

void notify_terminate(void* ctx) {
  Store* s = store(ctx);
  std::lock_guard<std::mutex> g(s->mu);
  ++s->terminated;
  s->cv.notify_all();
}

void data_returned(void* ctx, vm_offset_t, vm_size_t, boolean_t, boolean_t, kern_return_t result) {
  Store* s = store(ctx);
  std::lock_guard<std::mutex> g(s->mu);
  ++s->returned;
  s->returned_result = result;
  s->cv.notify_all();
}

void lock_completed(void* ctx, vm_offset_t offset, vm_size_t) {
  Store* s = store(ctx);
  std::lock_guard<std::mutex> g(s->mu);
  s->lock_completions.push_back(offset);
  s->cv.notify_all();
}

void supply_completed(void* ctx, vm_offset_t, vm_size_t, kern_return_t result, vm_offset_t) {
  Store* s = store(ctx);
  std::lock_guard<std::mutex> g(s->mu);
  s->supply_results.push_back(result);
  s->cv.notify_all();
}

const mach_pager_ops kOps = {read_page, write_page, unlock_page, notify_terminate, data_returned, nullptr, nullptr};

void release(mach_port_t right) {
  if (MACH_PORT_VALID(right)) (void)mach_port_deallocate(mach_task_self(), right);
}

class PagerTest : public ::testing::Test {
 protected:
  void SetUp() override { names_before_ = names_in_space(); }

  void TearDown() override {
    kernel_.reset();
    EXPECT_EQ(mach_pager_destroy(pager_), KERN_SUCCESS);
    pager_ = nullptr;
    EXPECT_EQ(names_in_space(), names_before_) << "rights left in this task";
  }

  // A started pager with `ops` and `attrs`, and a kernel that initialized it
  // (its memory_object_ready already taken).
  void open(const mach_pager_attributes& attrs = MACH_PAGER_ATTRIBUTES_DEFAULT, const mach_pager_ops& ops = kOps) {
    ASSERT_EQ(mach_pager_create(&ops, &store_, &attrs, &pager_), KERN_SUCCESS);
    ASSERT_EQ(mach_pager_start(pager_), KERN_SUCCESS);
    kernel_ = std::make_unique<FakeKernel>(mach_pager_object(pager_));
    ASSERT_EQ(kernel_->init(kPage), KERN_SUCCESS);
    ControlCall ready;
    ASSERT_TRUE(kernel_->next(&ready));
    ASSERT_EQ(ready.id, pagertest::kReady);
  }

  Store store_;
  mach_pager_t* pager_ = nullptr;
  std::unique_ptr<FakeKernel> kernel_;
  size_t names_before_ = 0;
};

TEST_F(PagerTest, InitIsAnsweredWithReadyCarryingTheAttributes) {
  const mach_pager_attributes attrs = {TRUE, MEMORY_OBJECT_COPY_TEMPORARY, FALSE, VM_PROT_NONE};
  ASSERT_EQ(mach_pager_create(&kOps, &store_, &attrs, &pager_), KERN_SUCCESS);
  ASSERT_EQ(mach_pager_start(pager_), KERN_SUCCESS);
  kernel_ = std::make_unique<FakeKernel>(mach_pager_object(pager_));
  ASSERT_EQ(kernel_->init(kPage), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kReady);
  EXPECT_EQ(c.may_cache, TRUE);
  EXPECT_EQ(c.copy_strategy, MEMORY_OBJECT_COPY_TEMPORARY);
}

TEST_F(PagerTest, DataRequestReadsEveryPageAndSuppliesTheRangeInOneMessage) {
  open({FALSE, MEMORY_OBJECT_COPY_DELAY, TRUE, VM_PROT_WRITE});
  ASSERT_EQ(kernel_->data_request(2 * kPage, 4 * kPage, VM_PROT_READ), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataSupply);
  EXPECT_EQ(c.offset, 2 * kPage);
  EXPECT_EQ(c.size, 4 * kPage);
  EXPECT_EQ(c.data, pages_of(2 * kPage, 4 * kPage));
  EXPECT_EQ(c.lock_value, VM_PROT_WRITE);
  EXPECT_EQ(c.precious, TRUE);
  EXPECT_EQ(c.reply_to, MACH_PORT_NULL) << "no supply_completed hook: no completion asked";
  std::lock_guard<std::mutex> g(store_.mu);
  EXPECT_EQ(store_.reads, (std::vector<vm_offset_t>{2 * kPage, 3 * kPage, 4 * kPage, 5 * kPage}));
  EXPECT_TRUE(kernel_->quiet());
}

TEST_F(PagerTest, PageOutcomesGoBackAsRunsOfSupplyUnavailableAndError) {
  open();
  store_.read_result[2 * kPage] = MACH_PAGER_ZERO_FILL;
  store_.read_result[3 * kPage] = MACH_PAGER_ZERO_FILL;
  store_.read_result[4 * kPage] = KERN_MEMORY_ERROR;
  ASSERT_EQ(kernel_->data_request(0, 6 * kPage, VM_PROT_READ), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataSupply);
  EXPECT_EQ(c.offset, 0u);
  EXPECT_EQ(c.data, pages_of(0, 2 * kPage));
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataUnavailable);
  EXPECT_EQ(c.offset, 2 * kPage);
  EXPECT_EQ(c.size, 2 * kPage);
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataError);
  EXPECT_EQ(c.offset, 4 * kPage);
  EXPECT_EQ(c.size, kPage);
  EXPECT_EQ(c.error, KERN_MEMORY_ERROR);
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataSupply);
  EXPECT_EQ(c.offset, 5 * kPage);
  EXPECT_EQ(c.data, pages_of(5 * kPage, kPage));
  EXPECT_TRUE(kernel_->quiet());
}

TEST_F(PagerTest, UnalignedDataRequestIsADataErrorWithoutReads) {
  open();
  ASSERT_EQ(kernel_->data_request(kPage / 2, kPage, VM_PROT_READ), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataError);
  EXPECT_EQ(c.error, KERN_INVALID_ARGUMENT);
  std::lock_guard<std::mutex> g(store_.mu);
  EXPECT_TRUE(store_.reads.empty());
}

TEST_F(PagerTest, GrantedUnlockLiftsTheDesiredAccessWithALockRequest) {
  open({FALSE, MEMORY_OBJECT_COPY_DELAY, FALSE, VM_PROT_WRITE | VM_PROT_EXECUTE});
  ASSERT_EQ(kernel_->data_unlock(kPage, kPage, VM_PROT_WRITE), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kLockRequest);
  EXPECT_EQ(c.offset, kPage);
  EXPECT_EQ(c.size, kPage);
  EXPECT_EQ(c.should_return, MEMORY_OBJECT_RETURN_NONE);
  EXPECT_EQ(c.should_flush, FALSE);
  EXPECT_EQ(c.lock_value, VM_PROT_EXECUTE);
  EXPECT_EQ(c.reply_to, MACH_PORT_NULL);
  std::lock_guard<std::mutex> g(store_.mu);
  EXPECT_EQ(store_.unlocks, std::vector<vm_prot_t>{VM_PROT_WRITE});
}

TEST_F(PagerTest, RefusedUnlockBecomesADataError) {
  open({FALSE, MEMORY_OBJECT_COPY_DELAY, FALSE, VM_PROT_WRITE});
  store_.unlock_result = KERN_PROTECTION_FAILURE;
  ASSERT_EQ(kernel_->data_unlock(0, kPage, VM_PROT_WRITE), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataError);
  EXPECT_EQ(c.error, KERN_PROTECTION_FAILURE);
}

TEST_F(PagerTest, DirtyReturnedPagesAreWrittenOneByOne) {
  open();
  std::vector<uint8_t> data = pages_of(7 * kPage, 2 * kPage);
  data[5] ^= 0xff;
  ASSERT_EQ(kernel_->data_return(3 * kPage, data, TRUE, FALSE), KERN_SUCCESS);
  ASSERT_TRUE(store_.wait([&] { return store_.returned == 1; }));
  std::lock_guard<std::mutex> g(store_.mu);
  ASSERT_EQ(store_.writes.size(), 2u);
  EXPECT_EQ(store_.writes[0].first, 3 * kPage);
  EXPECT_EQ(store_.writes[0].second, std::vector<uint8_t>(data.begin(), data.begin() + kPage));
  EXPECT_EQ(store_.writes[1].first, 4 * kPage);
  EXPECT_EQ(store_.writes[1].second, std::vector<uint8_t>(data.begin() + kPage, data.end()));
  EXPECT_EQ(store_.returned_result, KERN_SUCCESS);
}

TEST_F(PagerTest, CleanReturnedPagesOfAPlainObjectAreNotWritten) {
  open();
  ASSERT_EQ(kernel_->data_return(0, pages_of(0, kPage), FALSE, TRUE), KERN_SUCCESS);
  ASSERT_TRUE(store_.wait([&] { return store_.returned == 1; }));
  std::lock_guard<std::mutex> g(store_.mu);
  EXPECT_TRUE(store_.writes.empty());
}

TEST_F(PagerTest, CleanReturnedPagesOfAPreciousObjectAreWritten) {
  open({FALSE, MEMORY_OBJECT_COPY_DELAY, TRUE, VM_PROT_NONE});
  ASSERT_EQ(kernel_->data_return(0, pages_of(0, kPage), FALSE, FALSE), KERN_SUCCESS);
  ASSERT_TRUE(store_.wait([&] { return store_.returned == 1; }));
  std::lock_guard<std::mutex> g(store_.mu);
  EXPECT_EQ(store_.writes.size(), 1u);
}

TEST_F(PagerTest, AWriteErrorReachesTheDataReturnedHook) {
  open();
  store_.write_result = KERN_MEMORY_ERROR;
  ASSERT_EQ(kernel_->data_return(0, pages_of(0, kPage), TRUE, FALSE), KERN_SUCCESS);
  ASSERT_TRUE(store_.wait([&] { return store_.returned == 1; }));
  std::lock_guard<std::mutex> g(store_.mu);
  EXPECT_EQ(store_.returned_result, KERN_MEMORY_ERROR);
}

TEST_F(PagerTest, CleanReturnsOnlyAfterThePagesTheKernelReturnedWereWritten) {
  open();
  auto clean = std::async(std::launch::async, [&] {
    return mach_pager_clean(pager_, 0, 2 * kPage, MACH_PAGER_WAIT_FOREVER);
  });
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  ASSERT_EQ(c.id, pagertest::kLockRequest);
  EXPECT_EQ(c.should_return, MEMORY_OBJECT_RETURN_DIRTY);
  EXPECT_EQ(c.should_flush, FALSE);
  EXPECT_EQ(c.lock_value, VM_PROT_NO_CHANGE);
  ASSERT_TRUE(MACH_PORT_VALID(c.reply_to));
  // As a kernel does: the dirty page first, then the completion.
  ASSERT_EQ(kernel_->data_return(kPage, pages_of(kPage, kPage), TRUE, TRUE), KERN_SUCCESS);
  ASSERT_EQ(kernel_->lock_completed(c.reply_to, 0, 2 * kPage), KERN_SUCCESS);
  ASSERT_EQ(clean.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(clean.get(), KERN_SUCCESS);
  std::lock_guard<std::mutex> g(store_.mu);
  ASSERT_EQ(store_.writes.size(), 1u);
  EXPECT_EQ(store_.writes[0].first, kPage);
}

TEST_F(PagerTest, FlushAsksTheKernelToDropThePagesWithoutReturningThem) {
  open();
  ASSERT_EQ(mach_pager_flush(pager_, kPage, 3 * kPage, MACH_PAGER_NO_WAIT), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kLockRequest);
  EXPECT_EQ(c.offset, kPage);
  EXPECT_EQ(c.size, 3 * kPage);
  EXPECT_EQ(c.should_return, MEMORY_OBJECT_RETURN_NONE);
  EXPECT_EQ(c.should_flush, TRUE);
  EXPECT_EQ(c.lock_value, VM_PROT_NO_CHANGE);
  EXPECT_EQ(c.reply_to, MACH_PORT_NULL) << "no wait and no hook: no completion asked";
}

TEST_F(PagerTest, AnUnwaitedLockCompletionReachesTheHook) {
  mach_pager_ops ops = kOps;
  ops.lock_completed = lock_completed;
  open(MACH_PAGER_ATTRIBUTES_DEFAULT, ops);
  ASSERT_EQ(mach_pager_lock_request(pager_, 0, kPage, MEMORY_OBJECT_RETURN_ALL, TRUE, VM_PROT_ALL,
                                    MACH_PAGER_NO_WAIT),
            KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  ASSERT_TRUE(MACH_PORT_VALID(c.reply_to));
  EXPECT_EQ(c.should_return, MEMORY_OBJECT_RETURN_ALL);
  EXPECT_EQ(c.lock_value, VM_PROT_ALL);
  ASSERT_EQ(kernel_->lock_completed(c.reply_to, 0, kPage), KERN_SUCCESS);
  ASSERT_TRUE(store_.wait([&] { return store_.lock_completions.size() == 1; }));
}

TEST_F(PagerTest, AWaitThatIsNeverAnsweredTimesOut) {
  open();
  EXPECT_EQ(mach_pager_flush(pager_, 0, kPage, 100), KERN_OPERATION_TIMED_OUT);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  release(c.reply_to);  // the kernel drops it: a send-once notification the pager ignores
}

TEST_F(PagerTest, CallsWithoutAKernelAreRefused) {
  ASSERT_EQ(mach_pager_create(&kOps, &store_, nullptr, &pager_), KERN_SUCCESS);
  EXPECT_EQ(mach_pager_flush(pager_, 0, kPage, MACH_PAGER_NO_WAIT), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mach_pager_destroy_object(pager_, KERN_SUCCESS), KERN_INVALID_ARGUMENT);
}

TEST_F(PagerTest, TerminateReleasesTheRightsWakesWaitersAndNotifies) {
  open();
  const mach_port_t control = kernel_->control();
  auto flush = std::async(std::launch::async, [&] {
    return mach_pager_flush(pager_, 0, kPage, MACH_PAGER_WAIT_FOREVER);
  });
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  ASSERT_EQ(kernel_->terminate(), KERN_SUCCESS);
  ASSERT_EQ(flush.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(flush.get(), KERN_TERMINATED);
  ASSERT_TRUE(store_.wait([&] { return store_.terminated == 1; }));
  mach_port_type_t type = 0;
  EXPECT_EQ(mach_port_type(mach_task_self(), control, &type), KERN_INVALID_NAME) << "control port still here";
  release(c.reply_to);
  EXPECT_EQ(mach_pager_flush(pager_, 0, kPage, MACH_PAGER_NO_WAIT), KERN_INVALID_ARGUMENT);
}

TEST_F(PagerTest, TheObjectCanBeInitializedAgainAfterTerminate) {
  open();
  ASSERT_EQ(kernel_->terminate(), KERN_SUCCESS);
  ASSERT_TRUE(store_.wait([&] { return store_.terminated == 1; }));
  kernel_ = std::make_unique<FakeKernel>(mach_pager_object(pager_));
  ASSERT_EQ(kernel_->init(kPage), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kReady);
  ASSERT_EQ(kernel_->data_request(0, kPage, VM_PROT_READ), KERN_SUCCESS);
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataSupply);
}

TEST_F(PagerTest, ASecondKernelIsRefusedWithDestroy) {
  open();
  FakeKernel second(mach_pager_object(pager_));
  ASSERT_EQ(second.init(kPage), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(second.next(&c));
  EXPECT_EQ(c.id, pagertest::kDestroy);
  EXPECT_EQ(c.error, KERN_INVALID_ARGUMENT);
  // The first kernel is still served.
  ASSERT_EQ(kernel_->data_request(0, kPage, VM_PROT_READ), KERN_SUCCESS);
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataSupply);
}

TEST_F(PagerTest, RequestsNamingAnotherControlPortAreDropped) {
  open();
  FakeKernel stranger(mach_pager_object(pager_));
  ASSERT_EQ(stranger.data_request(0, kPage, VM_PROT_READ), KERN_SUCCESS);
  ASSERT_EQ(stranger.data_return(0, pages_of(0, kPage), TRUE, FALSE), KERN_SUCCESS);
  EXPECT_TRUE(stranger.quiet());
  EXPECT_TRUE(kernel_->quiet());
  std::lock_guard<std::mutex> g(store_.mu);
  EXPECT_TRUE(store_.reads.empty());
  EXPECT_TRUE(store_.writes.empty());
}

TEST_F(PagerTest, ChangeAttributesWaitsForItsCompletionAndHoldsForLaterInits) {
  open();
  auto change = std::async(std::launch::async, [&] {
    return mach_pager_change_attributes(pager_, TRUE, MEMORY_OBJECT_COPY_NONE, MACH_PAGER_WAIT_FOREVER);
  });
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  ASSERT_EQ(c.id, pagertest::kChangeAttributes);
  EXPECT_EQ(c.may_cache, TRUE);
  EXPECT_EQ(c.copy_strategy, MEMORY_OBJECT_COPY_NONE);
  ASSERT_TRUE(MACH_PORT_VALID(c.reply_to));
  ASSERT_EQ(kernel_->change_completed(c.reply_to, TRUE, MEMORY_OBJECT_COPY_NONE), KERN_SUCCESS);
  ASSERT_EQ(change.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(change.get(), KERN_SUCCESS);

  ASSERT_EQ(kernel_->terminate(), KERN_SUCCESS);
  ASSERT_TRUE(store_.wait([&] { return store_.terminated == 1; }));
  kernel_ = std::make_unique<FakeKernel>(mach_pager_object(pager_));
  ASSERT_EQ(kernel_->init(kPage), KERN_SUCCESS);
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kReady);
  EXPECT_EQ(c.may_cache, TRUE);
  EXPECT_EQ(c.copy_strategy, MEMORY_OBJECT_COPY_NONE);
}

TEST_F(PagerTest, WithASupplyHookEverySupplyAsksForItsCompletion) {
  mach_pager_ops ops = kOps;
  ops.supply_completed = supply_completed;
  open(MACH_PAGER_ATTRIBUTES_DEFAULT, ops);
  ASSERT_EQ(kernel_->data_request(0, kPage, VM_PROT_READ), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  ASSERT_EQ(c.id, pagertest::kDataSupply);
  ASSERT_TRUE(MACH_PORT_VALID(c.reply_to));
  ASSERT_EQ(kernel_->supply_completed(c.reply_to, 0, kPage, KERN_MEMORY_PRESENT, 0), KERN_SUCCESS);
  ASSERT_TRUE(store_.wait([&] { return store_.supply_results.size() == 1; }));
  EXPECT_EQ(store_.supply_results[0], KERN_MEMORY_PRESENT);
}

TEST_F(PagerTest, DestroyObjectSendsMemoryObjectDestroy) {
  open();
  ASSERT_EQ(mach_pager_destroy_object(pager_, KERN_MEMORY_ERROR), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDestroy);
  EXPECT_EQ(c.error, KERN_MEMORY_ERROR);
}

TEST_F(PagerTest, WaitingOrDestroyingFromACallbackIsRefused) {
  open();
  kern_return_t wait_kr = KERN_SUCCESS, destroy_kr = KERN_SUCCESS;
  store_.in_read = [&] {
    wait_kr = mach_pager_flush(pager_, 0, kPage, MACH_PAGER_WAIT_FOREVER);
    destroy_kr = mach_pager_destroy(pager_);
  };
  ASSERT_EQ(kernel_->data_request(0, kPage, VM_PROT_READ), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataSupply);
  EXPECT_EQ(wait_kr, KERN_INVALID_ARGUMENT);
  EXPECT_EQ(destroy_kr, KERN_INVALID_ARGUMENT);
}

TEST_F(PagerTest, CopyCallObjectsCannotBeCreated) {
  const mach_pager_attributes attrs = {FALSE, MEMORY_OBJECT_COPY_CALL, FALSE, VM_PROT_NONE};
  mach_pager_t* p = nullptr;
  EXPECT_EQ(mach_pager_create(&kOps, &store_, &attrs, &p), KERN_INVALID_ARGUMENT);
  mach_pager_ops no_read = kOps;
  no_read.read_page = nullptr;
  EXPECT_EQ(mach_pager_create(&no_read, &store_, nullptr, &p), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(p, nullptr);
}

TEST_F(PagerTest, ServeOnTheCallersThreadEndsWithSuccessAtDestroy) {
  ASSERT_EQ(mach_pager_create(&kOps, &store_, nullptr, &pager_), KERN_SUCCESS);
  auto serve = std::async(std::launch::async, [&] { return mach_pager_serve(pager_); });
  kernel_ = std::make_unique<FakeKernel>(mach_pager_object(pager_));
  ASSERT_EQ(kernel_->init(kPage), KERN_SUCCESS);
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kReady);
  EXPECT_EQ(mach_pager_start(pager_), KERN_INVALID_ARGUMENT) << "already served";
  kernel_.reset();
  ASSERT_EQ(mach_pager_destroy(pager_), KERN_SUCCESS);
  pager_ = nullptr;
  ASSERT_EQ(serve.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(serve.get(), KERN_SUCCESS);
}

// The demultiplexer on a hand-made message, with no serving thread: a
// data_request as a kernel lays it out, answered on the control port.
TEST_F(PagerTest, TheDemuxServesAHandMadeDataRequest) {
  ASSERT_EQ(mach_pager_create(&kOps, &store_, nullptr, &pager_), KERN_SUCCESS);
  kernel_ = std::make_unique<FakeKernel>(mach_pager_object(pager_));
  ASSERT_EQ(kernel_->init(kPage), KERN_SUCCESS);
  union {
    mach_msg_header_t head;
    uint8_t bytes[512];
  } in{}, out{};
  ASSERT_EQ(mach_msg(&in.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof in, mach_pager_port(pager_), 5000,
                     MACH_PORT_NULL),
            MACH_MSG_SUCCESS);
  ASSERT_TRUE(mach_pager_demux(&in.head, &out.head));  // the init
  ControlCall c;
  ASSERT_TRUE(kernel_->next(&c));
  ASSERT_EQ(c.id, pagertest::kReady);

#pragma pack(push, 4)
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t control;
    NDR_record_t ndr;
    vm_offset_t offset;
    vm_size_t length;
    vm_prot_t desired_access;
  } req{};
#pragma pack(pop)
  static_assert(sizeof req == 68, "memory_object_data_request's request");
  ASSERT_EQ(mach_port_insert_right(mach_task_self(), kernel_->control(), kernel_->control(), MACH_MSG_TYPE_MAKE_SEND),
            KERN_SUCCESS);  // the right a received descriptor would carry
  req.head.msgh_bits = MACH_MSGH_BITS_COMPLEX | MACH_MSGH_BITS(MACH_MSG_TYPE_PORT_SEND, 0);
  req.head.msgh_size = sizeof req;
  req.head.msgh_local_port = mach_pager_port(pager_);
  req.head.msgh_id = 2203;
  req.body.msgh_descriptor_count = 1;
  req.control.name = kernel_->control();
  req.control.disposition = MACH_MSG_TYPE_PORT_SEND;
  req.control.type = MACH_MSG_PORT_DESCRIPTOR;
  req.ndr = NDR_record;
  req.offset = 3 * kPage;
  req.length = kPage;
  req.desired_access = VM_PROT_READ;
  ASSERT_TRUE(mach_pager_demux(&req.head, &out.head));
  EXPECT_EQ(reinterpret_cast<mig_reply_error_t*>(&out.head)->RetCode, KERN_SUCCESS);
  ASSERT_TRUE(kernel_->next(&c));
  EXPECT_EQ(c.id, pagertest::kDataSupply);
  EXPECT_EQ(c.offset, 3 * kPage);
  EXPECT_EQ(c.data, pages_of(3 * kPage, kPage));

  req.head.msgh_id = 2299;  // no such routine
  EXPECT_FALSE(mach_pager_demux(&req.head, &out.head));
  EXPECT_EQ(reinterpret_cast<mig_reply_error_t*>(&out.head)->RetCode, MIG_BAD_ID);
}

}  // namespace
