// tests/system/pager_test.cc — memory objects on real page faults: a pager
// (a thread of this test task serving its object port with the server
// stubs our mig generates from mach/memory_object.defs, as a pager on GNU
// Mach is built) and client tasks (forked) that vm_map the object and
// touch it. Every byte is checked against what the pager supplied.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "support.h"

extern "C" {
#include "memory_objectServer.h"
}

using namespace systest;

namespace {

constexpr uint64_t kPage = 4096;

// The byte the pager puts at object offset `off` (a fixed pattern).
uint8_t pattern(uint64_t off, uint8_t seed) { return uint8_t((off / kPage) * 7 + (off % 251) + seed); }

// A pager: what it was asked and what it got back, and how it answers.
struct TestPager {
  mach_port_t port = MACH_PORT_NULL;  // receive right = the memory object port
  std::mutex mu;
  mach_port_t control = MACH_PORT_NULL;
  int inits = 0, terminates = 0;
  std::vector<std::pair<uint64_t, uint64_t>> requests;  // (offset, length)
  std::vector<std::pair<uint64_t, uint64_t>> unlocks;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> returns;  // (offset, data)
  std::atomic<int> lock_completions{0};
  uint8_t seed = 1;
  vm_prot_t supply_lock = VM_PROT_NONE;
  bool answer = true;       // false: never answer data_request
  bool error = false;       // answer with data_error
  std::thread thread;
  std::atomic<bool> stop{false};

  void start() {
    ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port), KERN_SUCCESS);
    ASSERT_EQ(mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
    thread = std::thread([this] { serve(); });
  }
  void serve();
  void finish() {
    stop = true;
    if (thread.joinable()) thread.join();
    mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
    mach_port_deallocate(mach_task_self(), port);
  }
  // Waits up to 5 s for the kernel's memory_object_terminate.
  bool await_terminate(int n = 1) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lk(mu);
        if (terminates >= n) return true;
      }
      usleep(10000);
    }
    return false;
  }
  size_t request_count() {
    std::lock_guard<std::mutex> lk(mu);
    return requests.size();
  }
};

TestPager* g_pager = nullptr;

void TestPager::serve() {
  union {
    mach_msg_header_t head;
    uint8_t bytes[8192];
  } in, out;
  while (!stop) {
    mach_msg_return_t mr = mach_msg(&in.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof in, port, 100, MACH_PORT_NULL);
    if (mr == MACH_RCV_TIMED_OUT) continue;
    if (mr != MACH_MSG_SUCCESS) break;
    memory_object_server(&in.head, &out.head);
  }
}

}  // namespace

// ---- the pager's server routines (memory_object.defs) --------------------------
extern "C" {

kern_return_t memory_object_init(memory_object_t, mach_port_t control, mach_port_t name, vm_size_t page_size) {
  EXPECT_EQ(page_size, kPage);
  {
    std::lock_guard<std::mutex> lk(g_pager->mu);
    ++g_pager->inits;
    g_pager->control = control;
  }
  mach_port_deallocate(mach_task_self(), name);
  return memory_object_ready(control, FALSE, MEMORY_OBJECT_COPY_DELAY);
}

kern_return_t memory_object_terminate(memory_object_t object, mach_port_t control, mach_port_t name) {
  std::lock_guard<std::mutex> lk(g_pager->mu);
  ++g_pager->terminates;
  mach_port_mod_refs(mach_task_self(), control, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), object);
  return KERN_SUCCESS;
}

kern_return_t memory_object_copy(memory_object_t, mach_port_t, vm_offset_t, vm_size_t, mach_port_t) {
  return KERN_FAILURE;
}

kern_return_t memory_object_data_request(memory_object_t, mach_port_t control, vm_offset_t offset, vm_size_t length,
                                         vm_prot_t) {
  {
    std::lock_guard<std::mutex> lk(g_pager->mu);
    g_pager->requests.emplace_back(offset, length);
  }
  if (!g_pager->answer) return KERN_SUCCESS;
  if (g_pager->error) return memory_object_data_error(control, offset, length, KERN_FAILURE);
  std::vector<uint8_t> buf(length);
  for (uint64_t i = 0; i < length; ++i) buf[i] = pattern(offset + i, g_pager->seed);
  return memory_object_data_supply(control, offset, vm_offset_t(buf.data()), mach_msg_type_number_t(length), FALSE,
                                   g_pager->supply_lock, FALSE, MACH_PORT_NULL);
}

kern_return_t memory_object_data_unlock(memory_object_t, mach_port_t control, vm_offset_t offset, vm_size_t length,
                                        vm_prot_t) {
  {
    std::lock_guard<std::mutex> lk(g_pager->mu);
    g_pager->unlocks.emplace_back(offset, length);
  }
  return memory_object_lock_request(control, offset, length, MEMORY_OBJECT_RETURN_NONE, FALSE, VM_PROT_NONE,
                                    MACH_PORT_NULL);
}

kern_return_t memory_object_lock_completed(memory_object_t, mach_port_t, vm_offset_t, vm_size_t) {
  ++g_pager->lock_completions;
  return KERN_SUCCESS;
}

kern_return_t memory_object_supply_completed(memory_object_t, mach_port_t, vm_offset_t, vm_size_t, kern_return_t,
                                             vm_offset_t) {
  return KERN_SUCCESS;
}

kern_return_t memory_object_data_return(memory_object_t, mach_port_t, vm_offset_t offset, vm_offset_t data,
                                        mach_msg_type_number_t dataCnt, boolean_t, boolean_t) {
  {
    std::lock_guard<std::mutex> lk(g_pager->mu);
    const auto* p = reinterpret_cast<const uint8_t*>(data);
    g_pager->returns.emplace_back(offset, std::vector<uint8_t>(p, p + dataCnt));
  }
  vm_deallocate(mach_task_self(), data, dataCnt);
  return KERN_SUCCESS;
}

kern_return_t memory_object_change_completed(memory_object_t, boolean_t, memory_object_copy_strategy_t) {
  return KERN_SUCCESS;
}

}  // extern "C"

namespace {

class PagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pager_ = std::make_unique<TestPager>();
    g_pager = pager_.get();
    pager_->start();
  }
  void TearDown() override {
    pager_->finish();
    g_pager = nullptr;
  }
  std::unique_ptr<TestPager> pager_;
};

// Maps the pager's object into this task (copy=FALSE); nullptr on failure.
uint8_t* map_object(mach_port_t object, uint64_t size, uint64_t offset = 0, vm_prot_t prot = VM_PROT_DEFAULT,
                    boolean_t copy = FALSE, kern_return_t* out = nullptr) {
  mach_vm_address_t a = 0;
  kern_return_t kr =
      mach_vm_map(mach_task_self(), &a, size, 0, VM_FLAGS_ANYWHERE, object, offset, copy, prot, VM_PROT_ALL,
                  VM_INHERIT_DEFAULT);
  if (out) *out = kr;
  return kr == KERN_SUCCESS ? reinterpret_cast<uint8_t*>(a) : nullptr;
}

TEST_F(PagerTest, AReadFaultIsServedByThePagerWithItsData) {
  const uint64_t size = 64 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  for (uint64_t off = 0; off < size; off += 613) ASSERT_EQ(p[off], pattern(off, 1)) << off;
  EXPECT_GE(pager_->request_count(), 1u);
  EXPECT_EQ(pager_->inits, 1);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  EXPECT_TRUE(pager_->await_terminate());  // the last mapping went and the pager said may_cache FALSE
}

TEST_F(PagerTest, FaultsOnOnePageCoalesceIntoOneRequestAndAClusterServesItsNeighbours) {
  const uint64_t size = 256 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      if (p[5 * kPage + 17] != pattern(5 * kPage + 17, 1)) ++bad;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
  ASSERT_EQ(pager_->request_count(), 1u);
  EXPECT_GE(pager_->requests[0].second, 64 * kPage);  // a 256 KiB cluster
  for (uint64_t off = 0; off < 64 * kPage; off += kPage) ASSERT_EQ(p[off], pattern(off, 1));
  EXPECT_EQ(pager_->request_count(), 1u);  // the whole cluster came with the first answer
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
}

TEST_F(PagerTest, TwoMappingsOfOneObjectShareOneCacheAndOneInit) {
  const uint64_t size = 16 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p[0], pattern(0, 1));
  // Another mapping in this task at another address: one cache.
  uint8_t* q = map_object(pager_->port, size);
  ASSERT_NE(q, nullptr);
  p[3 * kPage + 9] = 0xAB;
  EXPECT_EQ(q[3 * kPage + 9], 0xAB);
  EXPECT_EQ(pager_->inits, 1);  // one object, one init
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(q), size);
  EXPECT_TRUE(pager_->await_terminate());
}

}  // namespace
