// tests/vm/memory_object_test.cc — the memory_object protocol rules of
// machd/vm/memory_object.h, with a simulated pager and simulated faults (no
// daemon, no userfaultfd: the cache is a real memfd).
#include "vm/memory_object.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

using machd::vm::MappingOps;
using machd::vm::MemoryObject;
using machd::vm::ObjectMapping;
using machd::vm::PagerLink;

namespace {

constexpr uint64_t kPage = MemoryObject::kPage;

struct Call {
  Call(std::string w, uint64_t o = 0, uint64_t l = 0, bool d = false, bool k = false)
      : what(std::move(w)), offset(o), length(l), dirty(d), keep(k) {}
  std::string what;
  uint64_t offset = 0, length = 0;
  bool dirty = false, keep = false;
  kern_return_t result = 0;
  uint64_t error_offset = 0;
  std::vector<uint8_t> data;
};

class FakePager final : public PagerLink {
 public:
  std::vector<Call> calls;
  bool refuse_returns = false;
  void init(MemoryObject&) override { calls.push_back({"init"}); }
  void data_request(MemoryObject&, uint64_t o, uint64_t l, vm_prot_t) override { calls.push_back({"request", o, l}); }
  void data_unlock(MemoryObject&, uint64_t o, uint64_t l, vm_prot_t) override { calls.push_back({"unlock", o, l}); }
  bool data_return(MemoryObject& obj, uint64_t o, uint64_t l, bool dirty, bool keep) override {
    if (refuse_returns) return false;
    Call c{"return", o, l, dirty, keep};
    c.data.resize(l);
    EXPECT_EQ(pread(obj.fd(), c.data.data(), l, off_t(o)), ssize_t(l));
    calls.push_back(std::move(c));
    return true;
  }
  void lock_completed(MemoryObject&, mach_port_name_t, mach_msg_type_name_t, uint64_t o, uint64_t l) override {
    calls.push_back({"lock_completed", o, l});
  }
  void supply_completed(MemoryObject&, mach_port_name_t, mach_msg_type_name_t, uint64_t o, uint64_t l,
                        kern_return_t r, uint64_t eo) override {
    Call c{"supply_completed", o, l};
    c.result = r;
    c.error_offset = eo;
    calls.push_back(c);
  }
  void change_completed(MemoryObject&, mach_port_name_t, mach_msg_type_name_t, bool,
                        memory_object_copy_strategy_t) override {
    calls.push_back({"change_completed"});
  }
  void terminate(MemoryObject&) override { calls.push_back({"terminate"}); }
  bool refuse_page_out = false;
  bool page_out(MemoryObject& obj, uint64_t o, uint64_t l, bool initialize) override {
    if (refuse_page_out) return false;
    Call c{initialize ? "initialize" : "page_return", o, l};
    c.data.resize(l);
    EXPECT_EQ(pread(obj.fd(), c.data.data(), l, off_t(o)), ssize_t(l));
    calls.push_back(std::move(c));
    return true;
  }

  std::vector<Call> of(const std::string& what) const {
    std::vector<Call> out;
    for (const Call& c : calls)
      if (c.what == what) out.push_back(c);
    return out;
  }
};

struct Op {
  Op(std::string w, uint64_t a, uint64_t l, bool p = false) : what(std::move(w)), addr(a), len(l), wp(p) {}
  std::string what;
  uint64_t addr, len;
  bool wp;
};

class FakeOps final : public MappingOps {
 public:
  std::vector<Op> ops;
  bool refuse_protect = false;
  bool map_cached(const ObjectMapping&, uint64_t addr, uint64_t len, bool wp) override {
    ops.push_back({"map", addr, len, wp});
    return true;
  }
  bool write_protect(const ObjectMapping&, uint64_t addr, uint64_t len, bool protect) override {
    if (protect && refuse_protect) return false;
    ops.push_back({protect ? "protect" : "unprotect", addr, len, protect});
    return true;
  }
  void unmap_pages(const ObjectMapping&, uint64_t addr, uint64_t len) override { ops.push_back({"unmap", addr, len}); }
  void fail(const ObjectMapping&, uint64_t addr, uint64_t len) override { ops.push_back({"fail", addr, len}); }
  size_t count(const std::string& what) const {
    size_t n = 0;
    for (const Op& o : ops) n += o.what == what;
    return n;
  }
};

class MemoryObjectTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kBase = 0x7000'0000'0000;

  void SetUp() override {
    int fd = memfd_create("memory-object-test", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    obj_ = std::make_unique<MemoryObject>(1, fd, pager_, ops_, 1'000'000'000);
    map_ = {1, kBase, kBase + 1024 * kPage, 0, VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_NONE, obj_.get()};
    obj_->attach(&map_);
  }
  void ready() { obj_->set_attributes(true, false, MEMORY_OBJECT_COPY_DELAY); }
  // The pager answers a request with a fill byte.
  void supply(uint64_t offset, uint64_t length, uint8_t fill = 0xA5, vm_prot_t lock = VM_PROT_NONE,
              bool precious = false) {
    std::vector<uint8_t> data(length, fill);
    obj_->data_supply(offset, data.data(), length, lock, precious, 0x1234, MACH_MSG_TYPE_PORT_SEND_ONCE);
  }
  uint64_t at(uint64_t page) const { return kBase + page * kPage; }

  FakePager pager_;
  FakeOps ops_;
  std::unique_ptr<MemoryObject> obj_;
  ObjectMapping map_;
};

TEST_F(MemoryObjectTest, InitIsSentOnceWhenTheObjectIsMade) {
  EXPECT_EQ(pager_.of("init").size(), 1u);
}

TEST_F(MemoryObjectTest, FaultsBeforeReadyAreAskedForOnceTheObjectIsReady) {
  obj_->fault(map_, at(3), false, false);
  EXPECT_TRUE(pager_.of("request").empty());
  ready();
  ASSERT_EQ(pager_.of("request").size(), 1u);
}

TEST_F(MemoryObjectTest, AFaultAsksForTheAlignedClusterAroundIt) {
  ready();
  obj_->fault(map_, at(70), false, false);
  auto r = pager_.of("request");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].offset, 64 * kPage);
  EXPECT_EQ(r[0].length, 64 * kPage);
}

TEST_F(MemoryObjectTest, FaultsOnOnePageCoalesceIntoOneRequest) {
  ready();
  for (int i = 0; i < 5; ++i) obj_->fault(map_, at(7), i % 2 == 0, false);
  EXPECT_EQ(pager_.of("request").size(), 1u);
  EXPECT_NE(obj_->page_state(7 * kPage) & MemoryObject::kRequested, 0);
}

TEST_F(MemoryObjectTest, SequentialFaultsDoubleTheClusterAndReadAhead) {
  ready();
  obj_->fault(map_, at(0), false, false);  // 0..64
  supply(0, 64 * kPage);
  obj_->fault(map_, at(64), false, false);  // sequential: 64..192 and, ahead, 192..320
  auto r = pager_.of("request");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].offset, 64 * kPage);
  EXPECT_EQ(r[1].length, 128 * kPage);
  EXPECT_EQ(r[2].offset, 192 * kPage);
  EXPECT_EQ(r[2].length, 128 * kPage);
  supply(64 * kPage, 256 * kPage);
  obj_->fault(map_, at(320), false, false);  // 320..576, ahead 576..832
  r = pager_.of("request");
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[3].length, 256 * kPage);
  EXPECT_EQ(r[4].offset, 576 * kPage);
  supply(320 * kPage, 512 * kPage);
  obj_->fault(map_, at(832), false, false);  // 832..1024: the mapping ends; no read-ahead past it
  r = pager_.of("request");
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[5].offset, 832 * kPage);
  EXPECT_EQ(r[5].length, 192 * kPage);
}

TEST_F(MemoryObjectTest, ARequestNeverCoversAResidentOrRequestedPage) {
  ready();
  supply(10 * kPage, kPage);
  obj_->fault(map_, at(5), false, false);
  auto r = pager_.of("request");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].offset, 0u);
  EXPECT_EQ(r[0].length, 10 * kPage);  // stops before the resident page 10
}

TEST_F(MemoryObjectTest, SuppliedPagesAreMappedAtOnceWriteProtectedInAWritableMapping) {
  ready();
  supply(0, 4 * kPage);
  ASSERT_EQ(ops_.count("map"), 1u);
  EXPECT_EQ(ops_.ops[0].addr, at(0));
  EXPECT_EQ(ops_.ops[0].len, 4 * kPage);
  EXPECT_TRUE(ops_.ops[0].wp);
  uint8_t b = 0;
  ASSERT_EQ(pread(obj_->fd(), &b, 1, off_t(2 * kPage)), 1);
  EXPECT_EQ(b, 0xA5);
}

TEST_F(MemoryObjectTest, SupplyingAPageTheKernelHoldsIsIgnoredAndReportedPresent) {
  ready();
  supply(0, kPage, 0x11);
  supply(0, 2 * kPage, 0x22);
  auto c = pager_.of("supply_completed");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].result, KERN_SUCCESS);
  EXPECT_EQ(c[1].result, KERN_MEMORY_PRESENT);
  EXPECT_EQ(c[1].error_offset, 0u);
  uint8_t b[2] = {};
  pread(obj_->fd(), &b[0], 1, 0);
  pread(obj_->fd(), &b[1], 1, off_t(kPage));
  EXPECT_EQ(b[0], 0x11);  // kept
  EXPECT_EQ(b[1], 0x22);  // the new page taken
}

TEST_F(MemoryObjectTest, TheFirstWriteToACleanPageMakesItDirtyAndUnprotectsIt) {
  ready();
  supply(0, kPage);
  obj_->fault(map_, at(0), true, true);
  EXPECT_NE(obj_->page_state(0) & MemoryObject::kDirty, 0);
  EXPECT_EQ(ops_.count("unprotect"), 1u);
  EXPECT_TRUE(pager_.of("unlock").empty());
}

TEST_F(MemoryObjectTest, AWriteToAWriteLockedPageAsksDataUnlockOnceAndGoesOnWhenUnlocked) {
  ready();
  supply(0, kPage, 0xA5, VM_PROT_WRITE);
  obj_->fault(map_, at(0), true, true);
  obj_->fault(map_, at(0), true, true);
  ASSERT_EQ(pager_.of("unlock").size(), 1u);
  EXPECT_EQ(ops_.count("unprotect"), 0u);
  obj_->lock_request(0, kPage, MEMORY_OBJECT_RETURN_NONE, false, VM_PROT_NONE, MACH_PORT_NULL, 0);
  EXPECT_GE(ops_.count("unprotect"), 1u);
  EXPECT_NE(obj_->page_state(0) & MemoryObject::kDirty, 0);
}

TEST_F(MemoryObjectTest, LockRequestReturnsDirtyPagesThenFlushesThenAnswers) {
  ready();
  supply(0, 8 * kPage);
  obj_->fault(map_, at(1), true, true);
  obj_->fault(map_, at(2), true, true);
  obj_->fault(map_, at(6), true, true);
  pwrite(obj_->fd(), "\x42", 1, off_t(6 * kPage));
  obj_->lock_request(0, 8 * kPage, MEMORY_OBJECT_RETURN_DIRTY, true, VM_PROT_NONE, 0x99,
                     MACH_MSG_TYPE_PORT_SEND_ONCE);
  auto r = pager_.of("return");
  ASSERT_EQ(r.size(), 2u);  // pages 1-2 together, page 6
  EXPECT_EQ(r[0].offset, kPage);
  EXPECT_EQ(r[0].length, 2 * kPage);
  EXPECT_TRUE(r[0].dirty);
  EXPECT_FALSE(r[0].keep);  // flushed: the kernel keeps no copy
  EXPECT_EQ(r[1].offset, 6 * kPage);
  EXPECT_EQ(r[1].data[0], 0x42);
  EXPECT_EQ(pager_.calls.back().what, "lock_completed");
  for (uint64_t p = 0; p < 8; ++p) EXPECT_EQ(obj_->page_state(p * kPage), 0) << p;
}

TEST_F(MemoryObjectTest, ReturnAllAlsoReturnsPreciousPagesAndReturnDirtyDoesNot) {
  ready();
  supply(0, 2 * kPage, 0x5, VM_PROT_NONE, true);
  obj_->lock_request(0, 2 * kPage, MEMORY_OBJECT_RETURN_DIRTY, false, VM_PROT_NONE, MACH_PORT_NULL, 0);
  EXPECT_TRUE(pager_.of("return").empty());
  obj_->lock_request(0, 2 * kPage, MEMORY_OBJECT_RETURN_ALL, false, VM_PROT_NONE, MACH_PORT_NULL, 0);
  auto r = pager_.of("return");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].dirty);
  EXPECT_TRUE(r[0].keep);
}

TEST_F(MemoryObjectTest, APageWhoseProtectionCouldNotBeSetStaysDirtyAfterItsReturn) {
  ready();
  supply(0, kPage);
  obj_->fault(map_, at(0), true, true);
  ops_.refuse_protect = true;  // the task's map is changing
  obj_->lock_request(0, kPage, MEMORY_OBJECT_RETURN_DIRTY, false, VM_PROT_NONE, MACH_PORT_NULL, 0);
  EXPECT_EQ(pager_.of("return").size(), 1u);
  EXPECT_NE(obj_->page_state(0) & MemoryObject::kDirty, 0);  // returned again next time
}

TEST_F(MemoryObjectTest, AReturnThatCannotBeSentKeepsThePageDirtyAndUnflushed) {
  ready();
  supply(0, kPage);
  obj_->fault(map_, at(0), true, true);
  pager_.refuse_returns = true;
  obj_->lock_request(0, kPage, MEMORY_OBJECT_RETURN_DIRTY, true, VM_PROT_NONE, MACH_PORT_NULL, 0);
  EXPECT_NE(obj_->page_state(0) & MemoryObject::kResident, 0);
  EXPECT_NE(obj_->page_state(0) & MemoryObject::kDirty, 0);
}

TEST_F(MemoryObjectTest, DataErrorFailsTheWaitersAndALaterFaultAsksAgain) {
  ready();
  obj_->fault(map_, at(3), false, false);
  const Call r = pager_.of("request")[0];
  obj_->data_error(r.offset, r.length, KERN_FAILURE);
  EXPECT_EQ(ops_.count("fail"), 1u);
  obj_->fault(map_, at(3), false, false);
  EXPECT_EQ(pager_.of("request").size(), 2u);
}

TEST_F(MemoryObjectTest, ARequestUnansweredPastItsDeadlineFailsItsWaiters) {
  ready();
  obj_->fault(map_, at(0), false, false);
  obj_->fault(map_, at(1), false, false);
  ASSERT_TRUE(obj_->next_deadline().has_value());
  obj_->expire(*obj_->next_deadline() - 1);
  EXPECT_EQ(ops_.count("fail"), 0u);
  obj_->expire(*obj_->next_deadline());
  EXPECT_EQ(ops_.count("fail"), 2u);
  EXPECT_FALSE(obj_->next_deadline().has_value());
}

TEST_F(MemoryObjectTest, AFaultOnAnObjectWhosePagerNeverAnswersInitFailsAtTheDeadline) {
  obj_->fault(map_, at(0), false, false);
  ASSERT_TRUE(obj_->next_deadline().has_value());
  obj_->expire(*obj_->next_deadline());
  EXPECT_EQ(ops_.count("fail"), 1u);
  ready();
  EXPECT_TRUE(pager_.of("request").empty());  // nobody waits any more
}

TEST_F(MemoryObjectTest, LockRequestWithNoChangeKeepsEachPagesLock) {
  ready();
  supply(0, kPage, 0xA5, VM_PROT_WRITE);
  obj_->lock_request(0, kPage, MEMORY_OBJECT_RETURN_NONE, false, VM_PROT_NO_CHANGE, MACH_PORT_NULL, 0);
  EXPECT_NE(obj_->page_state(0) & MemoryObject::kLockWrite, 0);
}

TEST_F(MemoryObjectTest, AnsweredRequestsLeaveNoDeadlineBehind) {
  ready();
  obj_->fault(map_, at(0), false, false);
  const Call r = pager_.of("request")[0];
  supply(r.offset, r.length);
  EXPECT_FALSE(obj_->next_deadline().has_value());
}

TEST_F(MemoryObjectTest, DataUnavailableZeroFillsAndMapsThePages) {
  ready();
  pwrite(obj_->fd(), "junk", 4, 0);
  obj_->fault(map_, at(0), false, false);
  obj_->data_unavailable(0, kPage);
  uint8_t b = 1;
  pread(obj_->fd(), &b, 1, 0);
  EXPECT_EQ(b, 0);
  EXPECT_EQ(ops_.count("map"), 1u);
}

TEST_F(MemoryObjectTest, TerminateReturnsDirtyAndPreciousPagesBeforeTerminate) {
  ready();
  supply(0, kPage, 1, VM_PROT_NONE, true);
  supply(kPage, kPage);
  obj_->fault(map_, at(1), true, true);
  obj_->detach(&map_);
  obj_->terminate();
  ASSERT_GE(pager_.calls.size(), 3u);
  auto r = pager_.of("return");
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(pager_.calls.back().what, "terminate");
}

TEST_F(MemoryObjectTest, ADestroyedObjectFailsItsWaitersAndEveryLaterFault) {
  ready();
  obj_->fault(map_, at(0), false, false);
  obj_->destroy(false);
  EXPECT_EQ(ops_.count("fail"), 1u);
  EXPECT_EQ(pager_.calls.back().what, "terminate");
  obj_->fault(map_, at(5), false, false);
  EXPECT_EQ(ops_.count("fail"), 2u);
  EXPECT_EQ(pager_.of("request").size(), 1u);
}

TEST_F(MemoryObjectTest, WhenResidentCallsBackOnceWhenEveryPageIsIn) {
  ready();
  supply(0, kPage);
  int called = 0;
  bool ok = false;
  obj_->when_resident(0, 3 * kPage, [&](bool r) {
    ++called;
    ok = r;
  });
  ASSERT_EQ(pager_.of("request").size(), 1u);
  EXPECT_EQ(pager_.of("request")[0].offset, kPage);
  EXPECT_EQ(called, 0);
  supply(kPage, 2 * kPage);
  EXPECT_EQ(called, 1);
  EXPECT_TRUE(ok);
}

// A snapshot's wait costs machd one waiter, however long the range (a
// waiter per page of a 4 GiB copy would be a million).
TEST_F(MemoryObjectTest, WhenResidentHoldsOneWaiterWhateverTheLength) {
  ready();
  const uint64_t len = 16 << 20;  // 4096 pages
  int called = 0;
  obj_->when_resident(0, len, [&](bool r) { called += r ? 1 : 100; });
  ASSERT_EQ(pager_.of("request").size(), 1u);
  EXPECT_EQ(pager_.of("request")[0].length, len);
  EXPECT_EQ(obj_->waiter_count(), 1u);
  obj_->data_unavailable(0, len / 2);
  EXPECT_EQ(obj_->waiter_count(), 1u);
  EXPECT_EQ(called, 0);
  obj_->data_unavailable(len / 2, len / 2);
  EXPECT_EQ(called, 1);
  EXPECT_EQ(obj_->waiter_count(), 0u);
}

// The snapshot must hold what the object holds: a page that came in and
// left the cache (flushed) before the rest arrived is asked for again, and
// the wait goes on until it is back.
TEST_F(MemoryObjectTest, WhenResidentAsksAgainForAPageThatLeftTheCacheMeanwhile) {
  ready();
  int called = 0;
  obj_->when_resident(0, 4 * kPage, [&](bool r) { called += r ? 1 : 100; });
  supply(2 * kPage, 2 * kPage);
  obj_->lock_request(3 * kPage, kPage, MEMORY_OBJECT_RETURN_NONE, true, VM_PROT_NO_CHANGE, MACH_PORT_NULL, 0);
  EXPECT_EQ(obj_->page_state(3 * kPage) & MemoryObject::kResident, 0);
  supply(0, 2 * kPage);
  EXPECT_EQ(called, 0);
  auto r = pager_.of("request");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].offset, 3 * kPage);
  EXPECT_EQ(r[1].length, kPage);
  supply(3 * kPage, kPage);
  EXPECT_EQ(called, 1);
}

TEST_F(MemoryObjectTest, WhenResidentFailsOnceWhenThePagerFailsAPage) {
  ready();
  int called = 0;
  bool ok = true;
  obj_->when_resident(0, 4 * kPage, [&](bool r) {
    ++called;
    ok = r;
  });
  obj_->data_error(kPage, kPage, KERN_FAILURE);
  supply(0, kPage);
  supply(2 * kPage, 2 * kPage);
  EXPECT_EQ(called, 1);
  EXPECT_FALSE(ok);
  EXPECT_EQ(obj_->waiter_count(), 0u);
}

TEST_F(MemoryObjectTest, WhenResidentBeforeReadyAsksOnceTheObjectIsReadyAndCompletes) {
  int called = 0;
  obj_->when_resident(0, 200 * kPage, [&](bool r) { called += r ? 1 : 100; });
  EXPECT_TRUE(pager_.of("request").empty());
  ready();
  ASSERT_FALSE(pager_.of("request").empty());
  // The pager answers every request it gets until the range is in.
  for (size_t n = 0; n < pager_.of("request").size() && called == 0; ++n) {
    const Call c = pager_.of("request")[n];
    supply(c.offset, c.length);
  }
  EXPECT_EQ(called, 1);
  for (uint64_t p = 0; p < 200; ++p) EXPECT_NE(obj_->page_state(p * kPage) & MemoryObject::kResident, 0) << p;
}

TEST_F(MemoryObjectTest, AWaitOnADestroyedObjectFails) {
  ready();
  int called = 0;
  obj_->when_resident(0, 4 * kPage, [&](bool r) { called += r ? 100 : 1; });
  obj_->destroy(false);
  EXPECT_EQ(called, 1);
  obj_->when_resident(0, 4 * kPage, [&](bool r) { called += r ? 100 : 1; });
  EXPECT_EQ(called, 2);
}

TEST_F(MemoryObjectTest, AReadLockedPageIsUnmappedAndAReadAsksForUnlock) {
  ready();
  supply(0, kPage);
  obj_->lock_request(0, kPage, MEMORY_OBJECT_RETURN_NONE, false, VM_PROT_READ, MACH_PORT_NULL, 0);
  EXPECT_EQ(ops_.count("unmap"), 1u);
  obj_->fault(map_, at(0), false, false);
  EXPECT_EQ(pager_.of("unlock").size(), 1u);
}

// An object may be mapped far larger than what is touched (here 128 TiB,
// 2^35 pages: neither a byte per page nor a page-by-page walk would
// finish). The operations over all of it (data_error, flush with return,
// terminate) act on exactly the pages touched.
TEST_F(MemoryObjectTest, OperationsOverAHugeMappingActOnlyOnItsTouchedPages) {
  const uint64_t size = uint64_t(1) << 47, pages = size / kPage;
  ObjectMapping big{1, kBase, kBase + size, 0, VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_NONE, obj_.get()};
  obj_->detach(&map_);
  obj_->attach(&big);
  ready();
  EXPECT_EQ(obj_->size(), size);
  supply(0, kPage);
  supply(pages / 2 * kPage, 2 * kPage);
  obj_->fault(big, big.address_of(pages / 2 * kPage), true, true);  // the first write: dirty
  obj_->fault(big, big.address_of((pages - 1) * kPage), false, false);
  ASSERT_EQ(pager_.of("request").size(), 1u);
  obj_->data_error(0, size, KERN_FAILURE);
  EXPECT_EQ(ops_.count("fail"), 1u);
  EXPECT_EQ(obj_->page_state((pages - 1) * kPage), 0);
  obj_->lock_request(0, size, MEMORY_OBJECT_RETURN_DIRTY, true, VM_PROT_NONE, MACH_PORT_NULL, 0);
  auto r = pager_.of("return");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].offset, pages / 2 * kPage);
  EXPECT_EQ(r[0].length, kPage);
  EXPECT_EQ(obj_->resident_pages(), 0u) << "every resident page was flushed";
  supply(3 * kPage, kPage);
  obj_->fault(big, big.address_of(3 * kPage), true, true);
  obj_->detach(&big);
  obj_->terminate();
  r = pager_.of("return");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].offset, 3 * kPage);
  EXPECT_EQ(r[1].length, kPage);
  EXPECT_EQ(pager_.calls.back().what, "terminate");
}

// ---- anonymous memory (internal objects) -------------------------------------

class InternalObjectTest : public MemoryObjectTest {
 protected:
  void SetUp() override {
    int fd = memfd_create("internal-object-test", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    obj_ = std::make_unique<MemoryObject>(2, fd, pager_, ops_, 1'000'000'000, true);
    map_ = {1, kBase, kBase + 128 * kPage, 0, VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_COPY, obj_.get()};
    obj_->attach(&map_);
  }
  // A thread writes `fill` over page i (the fault, then the write itself).
  void write_page(uint64_t i, uint8_t fill) {
    obj_->fault(map_, at(i), true, false);
    std::vector<uint8_t> data(kPage, fill);
    ASSERT_EQ(pwrite(obj_->fd(), data.data(), kPage, off_t(i * kPage)), ssize_t(kPage));
  }
  uint8_t byte_at(uint64_t off) const {
    uint8_t b = 0xEE;
    EXPECT_EQ(pread(obj_->fd(), &b, 1, off_t(off)), 1);
    return b;
  }
};

TEST_F(InternalObjectTest, AnonymousMemoryIsZeroFilledWithoutAskingAnyPager) {
  EXPECT_TRUE(pager_.of("init").empty());
  obj_->fault(map_, at(5), false, false);
  EXPECT_TRUE(pager_.calls.empty());
  EXPECT_NE(obj_->page_state(5 * kPage) & MemoryObject::kResident, 0);
  EXPECT_EQ(byte_at(5 * kPage + 17), 0);
  EXPECT_GE(ops_.count("map"), 1u);
  EXPECT_GE(obj_->resident_pages(), 1u);
}

TEST_F(InternalObjectTest, AFirstWriteToAnonymousMemoryIsDirtyWithoutASecondFault) {
  obj_->fault(map_, at(3), true, false);
  EXPECT_NE(obj_->page_state(3 * kPage) & MemoryObject::kDirty, 0);
  EXPECT_EQ(ops_.count("unprotect"), 1u);
}

TEST_F(InternalObjectTest, EvictSendsDirtyPagesToTheManagerAndDropsCleanZeroPages) {
  for (uint64_t i = 0; i < 4; ++i) write_page(i, uint8_t(0x10 + i));
  const uint64_t resident = obj_->resident_pages();
  ASSERT_GE(resident, 4u);
  EXPECT_EQ(obj_->evict(resident), resident);
  EXPECT_EQ(obj_->resident_pages(), 0u);
  auto init = pager_.of("initialize");
  ASSERT_EQ(init.size(), 1u);  // one run of the dirty pages, the manager never had them
  EXPECT_EQ(init[0].offset, 0u);
  EXPECT_EQ(init[0].length, 4 * kPage);
  EXPECT_EQ(init[0].data[2 * kPage], 0x12);
  EXPECT_TRUE(pager_.of("page_return").empty());
  EXPECT_EQ(obj_->page_state(2 * kPage), MemoryObject::kPagedOut);
  EXPECT_EQ(obj_->page_state(10 * kPage), 0);  // clean zeroes: just dropped
  EXPECT_GE(ops_.count("protect"), 1u);       // write-protected before they were read
}

TEST_F(InternalObjectTest, APagedOutPageIsAskedOfTheManagerAndTheRestAreZeroes) {
  write_page(1, 0x42);
  obj_->evict(obj_->resident_pages());
  pager_.calls.clear();
  obj_->fault(map_, at(1), false, false);
  auto r = pager_.of("request");
  ASSERT_EQ(r.size(), 1u);  // only the page the manager holds
  EXPECT_EQ(r[0].offset, kPage);
  EXPECT_EQ(r[0].length, kPage);
  EXPECT_NE(obj_->page_state(0), 0);  // its neighbours were filled with zeroes
  supply(kPage, kPage, 0x42);
  EXPECT_EQ(byte_at(kPage), 0x42);
  EXPECT_EQ(obj_->page_state(kPage) & (MemoryObject::kResident | MemoryObject::kPagedOut | MemoryObject::kDirty),
            MemoryObject::kResident | MemoryObject::kPagedOut);
}

TEST_F(InternalObjectTest, ACleanPageTheManagerHoldsIsDroppedAndADirtyOneReturned) {
  write_page(1, 0x42);
  write_page(2, 0x43);
  obj_->evict(obj_->resident_pages());
  obj_->fault(map_, at(1), false, false);
  supply(kPage, 2 * kPage, 0x42);
  pager_.calls.clear();
  obj_->fault(map_, at(2), false, true);  // the first write after the page came back
  obj_->evict(obj_->resident_pages());
  EXPECT_TRUE(pager_.of("initialize").empty());
  auto r = pager_.of("page_return");
  ASSERT_EQ(r.size(), 1u);  // page 2 only: page 1 is clean and the manager has it
  EXPECT_EQ(r[0].offset, 2 * kPage);
  EXPECT_EQ(r[0].length, kPage);
}

TEST_F(InternalObjectTest, WithoutAManagerEvictStallsAndKeepsTheDirtyPages) {
  write_page(0, 0x77);
  pager_.refuse_page_out = true;
  bool stalled = false;
  EXPECT_EQ(obj_->evict(1, &stalled), 0u);
  EXPECT_TRUE(stalled);
  EXPECT_NE(obj_->page_state(0) & MemoryObject::kDirty, 0);
  EXPECT_EQ(byte_at(0), 0x77);
}

TEST_F(InternalObjectTest, AnonymousMemoryIsNotReturnedWhenItsObjectEnds) {
  write_page(0, 0x77);
  obj_->detach(&map_);
  obj_->terminate();
  EXPECT_TRUE(pager_.of("return").empty());
  EXPECT_TRUE(pager_.of("initialize").empty());
  EXPECT_EQ(pager_.of("terminate").size(), 1u);
}

// The clock of evict goes round a huge anonymous object (128 TiB) and finds
// its few resident pages, stepping over the untouched rest.
TEST_F(InternalObjectTest, EvictGoesRoundAHugeObjectToItsFewResidentPages) {
  const uint64_t size = uint64_t(1) << 47, pages = size / kPage;
  ObjectMapping big{1, kBase, kBase + size, 0, VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_COPY, obj_.get()};
  obj_->detach(&map_);
  obj_->attach(&big);
  obj_->fault(big, big.address_of(5 * kPage), true, false);  // zero-fills its cluster, page 5 dirty
  obj_->fault(big, big.address_of((pages - 3) * kPage), true, false);
  const uint64_t resident = obj_->resident_pages();
  ASSERT_EQ(resident, 2 * uint64_t(MemoryObject::kMinClusterPages));
  EXPECT_EQ(obj_->evict(UINT64_MAX), resident);
  EXPECT_EQ(obj_->resident_pages(), 0u);
  auto in = pager_.of("initialize");
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0].offset, 5 * kPage);
  EXPECT_EQ(in[1].offset, (pages - 3) * kPage);
  obj_->detach(&big);
}

TEST_F(MemoryObjectTest, AnExternalObjectIsNeverEvicted) {
  ready();
  supply(0, 4 * kPage);
  bool stalled = false;
  EXPECT_EQ(obj_->evict(4, &stalled), 0u);
  EXPECT_FALSE(stalled);
  EXPECT_EQ(obj_->resident_pages(), 4u);
}

}  // namespace
