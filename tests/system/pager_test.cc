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
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "../common/private_machd.h"
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
  bool copy_call = false;   // ready with MEMORY_OBJECT_COPY_CALL (and serve memory_object_copy)
  mach_port_t set = MACH_PORT_NULL;        // the object ports it serves
  mach_port_t copy_port = MACH_PORT_NULL;  // the object memory_object_copy gave it
  uint64_t copy_offset = 0, copy_length = 0;
  size_t returns_at_copy = 0;  // data_returns received before memory_object_copy
  bool refuse_unlock = false;  // answer data_unlock with data_error
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<bool> exited{false};  // serve() returned
  std::atomic<bool> ready{false};   // serve() is in its receive loop
  std::atomic<mach_msg_return_t> receive_error{MACH_MSG_SUCCESS};  // what ended serve() early

  std::string name;  // the object port's bootstrap name (other tasks look it up)

  // The object port is a bootstrap service port, so other tasks can map it.
  void start() {
    name = check_in_unique("pager", &port);
    ASSERT_FALSE(name.empty());
    ASSERT_EQ(mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
    ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_PORT_SET, &set), KERN_SUCCESS);
    ASSERT_EQ(mach_port_move_member(mach_task_self(), port, set), KERN_SUCCESS);
    stop = false;
    exited = false;
    ready = false;
    thread = std::thread([this] { serve(); });
    // Tests fork tasks as soon as this returns. Under gcc's ASan, a fork
    // while this thread is still being set up (its first allocations, its
    // channel to machd) copies the allocator's locks held: the child's next
    // thread (its agent) then waits on them forever.
    while (!ready) usleep(1000);
  }
  void serve();
  void finish() {
    stop = true;
    if (thread.joinable()) {
      // serve() looks at `stop` every 100 ms; a thread still inside
      // mach_msg after 10 s means machd never answered its receive: fail
      // the run now rather than hang it (the thread cannot be abandoned, it
      // uses this object).
      for (int i = 0; i < 1000 && !exited; ++i) usleep(10000);
      if (!exited) {
        fprintf(stderr, "pager_test: the pager thread is stuck in mach_msg (machd never answered it)\n");
        abort();
      }
      thread.join();
    }
    mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
    mach_port_deallocate(mach_task_self(), port);
    if (MACH_PORT_VALID(copy_port)) mach_port_mod_refs(mach_task_self(), copy_port, MACH_PORT_RIGHT_RECEIVE, -1);
    if (MACH_PORT_VALID(set)) mach_port_mod_refs(mach_task_self(), set, MACH_PORT_RIGHT_PORT_SET, -1);
    copy_port = set = MACH_PORT_NULL;
    if (MACH_PORT_VALID(control)) mach_port_deallocate(mach_task_self(), control);
    control = MACH_PORT_NULL;
  }
  // Waits up to 5 s for more than `n` data_requests.
  bool await_requests_above(size_t n) {
    for (int i = 0; i < 500 && request_count() <= n; ++i) usleep(10000);
    return request_count() > n;
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
  // The pager asks the kernel to act on [offset, offset+size) and waits for
  // lock_completed (which arrives on the object port).
  bool lock(uint64_t offset, uint64_t size, memory_object_return_t ret, bool flush, vm_prot_t lock_value) {
    mach_port_t c;
    {
      std::lock_guard<std::mutex> lk(mu);
      c = control;
    }
    const int before = lock_completions.load();
    if (memory_object_lock_request(c, offset, size, ret, flush, lock_value, port) != KERN_SUCCESS) return false;
    for (int i = 0; i < 500 && lock_completions.load() == before; ++i) usleep(10000);
    return lock_completions.load() > before;
  }
  size_t return_count() {
    std::lock_guard<std::mutex> lk(mu);
    return returns.size();
  }
  size_t request_count() {
    std::lock_guard<std::mutex> lk(mu);
    return requests.size();
  }
  int init_count() {
    std::lock_guard<std::mutex> lk(mu);
    return inits;
  }
  // Waits up to 5 s for memory_object_copy (COPY_CALL) to have reached
  // this pager's thread: vm_map returns once machd sent it, not once the
  // pager took it.
  bool await_copy() {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lk(mu);
        if (MACH_PORT_VALID(copy_port)) return true;
      }
      usleep(10000);
    }
    return false;
  }
};

TestPager* g_pager = nullptr;

// The send right to the control port each kernel message carries (MIG
// MAKE_SEND): released when the routine is done, as a pager must.
struct ControlRef {
  mach_port_t port;
  explicit ControlRef(mach_port_t p) : port(p) {}
  ~ControlRef() { mach_port_deallocate(mach_task_self(), port); }
};

void TestPager::serve() {
  union {
    mach_msg_header_t head;
    uint8_t bytes[8192];
  } in, out;
  // (The first receive returns at once: once it did, the thread's channel
  // is set up and start() may return.)
  for (mach_msg_timeout_t timeout = 0; !stop; timeout = 100) {
    mach_msg_return_t mr = mach_msg(&in.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof in,
                                    MACH_PORT_VALID(set) ? set : port, timeout, MACH_PORT_NULL);
    ready = true;
    if (mr == MACH_RCV_TIMED_OUT) continue;
    if (mr != MACH_MSG_SUCCESS) {
      receive_error = mr;
      break;
    }
    memory_object_server(&in.head, &out.head);
  }
  exited = true;
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
  return memory_object_ready(control, FALSE, g_pager->copy_call ? MEMORY_OBJECT_COPY_CALL : MEMORY_OBJECT_COPY_DELAY);
}

kern_return_t memory_object_terminate(memory_object_t object, mach_port_t control, mach_port_t name) {
  std::lock_guard<std::mutex> lk(g_pager->mu);
  ++g_pager->terminates;
  mach_port_mod_refs(mach_task_self(), control, MACH_PORT_RIGHT_RECEIVE, -1);
  if (control == g_pager->control) {  // the send right init gave us (a dead name now)
    mach_port_deallocate(mach_task_self(), control);
    g_pager->control = MACH_PORT_NULL;
  }
  mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), object);
  return KERN_SUCCESS;
}

// COPY_CALL: the kernel asks for a copy of [offset, offset+length) as the
// new object `fresh`, which this pager serves from now on (its data is the
// old object's at offset + its own offset).
kern_return_t memory_object_copy(memory_object_t, mach_port_t control, vm_offset_t offset, vm_size_t length,
                                 mach_port_t fresh) {
  ControlRef ref(control);
  std::lock_guard<std::mutex> lk(g_pager->mu);
  g_pager->copy_port = fresh;
  g_pager->copy_offset = offset;
  g_pager->copy_length = length;
  g_pager->returns_at_copy = g_pager->returns.size();
  return mach_port_move_member(mach_task_self(), fresh, g_pager->set);
}

kern_return_t memory_object_data_request(memory_object_t object, mach_port_t control, vm_offset_t offset,
                                         vm_size_t length, vm_prot_t) {
  {
    std::lock_guard<std::mutex> lk(g_pager->mu);
    g_pager->requests.emplace_back(offset, length);
  }
  ControlRef ref(control);  // every call carries a send right to the control port
  if (!g_pager->answer) return KERN_SUCCESS;
  if (g_pager->error) return memory_object_data_error(control, offset, length, KERN_FAILURE);
  const uint64_t base = object == g_pager->copy_port ? g_pager->copy_offset : 0;  // (the copy object)
  std::vector<uint8_t> buf(length);
  for (uint64_t i = 0; i < length; ++i) buf[i] = pattern(base + offset + i, g_pager->seed);
  return memory_object_data_supply(control, offset, vm_offset_t(buf.data()), mach_msg_type_number_t(length), FALSE,
                                   g_pager->supply_lock, FALSE, MACH_PORT_NULL);
}

kern_return_t memory_object_data_unlock(memory_object_t, mach_port_t control, vm_offset_t offset, vm_size_t length,
                                        vm_prot_t) {
  {
    std::lock_guard<std::mutex> lk(g_pager->mu);
    g_pager->unlocks.emplace_back(offset, length);
  }
  ControlRef ref(control);
  if (g_pager->refuse_unlock) return memory_object_data_error(control, offset, length, KERN_PROTECTION_FAILURE);
  return memory_object_lock_request(control, offset, length, MEMORY_OBJECT_RETURN_NONE, FALSE, VM_PROT_NONE,
                                    MACH_PORT_NULL);
}

kern_return_t memory_object_lock_completed(memory_object_t, mach_port_t control, vm_offset_t, vm_size_t) {
  ControlRef ref(control);
  ++g_pager->lock_completions;
  return KERN_SUCCESS;
}

kern_return_t memory_object_supply_completed(memory_object_t, mach_port_t control, vm_offset_t, vm_size_t,
                                             kern_return_t, vm_offset_t) {
  ControlRef ref(control);
  return KERN_SUCCESS;
}

kern_return_t memory_object_data_return(memory_object_t, mach_port_t control, vm_offset_t offset, vm_offset_t data,
                                        mach_msg_type_number_t dataCnt, boolean_t, boolean_t) {
  ControlRef ref(control);
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

// Whether this system lets a process have a userfaultfd at all (container
// seccomp profiles often refuse the syscall): without one no fault can reach
// a pager, and machd answers vm_map of an object KERN_NOT_SUPPORTED.
std::string userfaultfd_refused() {
  int fd = int(syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */));
  if (fd < 0) fd = int(syscall(SYS_userfaultfd, O_CLOEXEC));
  if (fd >= 0) {
    close(fd);
    return "";
  }
  return std::string("userfaultfd is refused here: ") + strerror(errno);
}

class PagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = userfaultfd_refused(); !why.empty()) GTEST_SKIP() << why;
    pager_ = std::make_unique<TestPager>();
    g_pager = pager_.get();
    pager_->start();
  }
  void TearDown() override {
    if (!pager_) return;
    pager_->finish();
    EXPECT_EQ(pager_->receive_error.load(), MACH_MSG_SUCCESS) << "the pager's thread stopped serving";
    g_pager = nullptr;
  }
  std::unique_ptr<TestPager> pager_;
};

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


TEST_F(PagerTest, AnotherTaskMappingTheObjectSeesThisTasksWritesAndViceVersa) {
  const uint64_t size = 16 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  p[2 * kPage + 1] = 0x5A;  // before the child maps it
  const std::string name = pager_->name;
  mach_port_t svc;
  const std::string back = check_in_unique("pager-peer", &svc);
  pid_t child = spawn_task([&]() -> int {
    mach_port_t obj = look_up(name);
    if (!MACH_PORT_VALID(obj)) return 2;
    uint8_t* q = map_object(obj, size);
    if (q == nullptr) return 3;
    if (q[2 * kPage + 1] != 0x5A) return 4;  // the parent's write
    if (q[7 * kPage] != pattern(7 * kPage, 1)) return 5;
    q[9 * kPage + 3] = 0xC3;                  // seen by the parent
    mach_port_t parent = look_up(back);
    return send_simple(parent, 1, "written") == MACH_MSG_SUCCESS ? 0 : 6;
  });
  SimpleRcv r{};
  ASSERT_EQ(receive_simple(svc, r, 10000), MACH_MSG_SUCCESS);
  EXPECT_EQ(p[9 * kPage + 3], 0xC3);
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(pager_->inits, 1);  // one kernel, one object
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  EXPECT_TRUE(pager_->await_terminate());
  mach_port_mod_refs(mach_task_self(), svc, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST_F(PagerTest, AForkedChildSharesAMappingInheritedShareAndItsWritesAreTracked) {
  const uint64_t size = 16 * kPage;
  mach_vm_address_t a = 0;
  ASSERT_EQ(mach_vm_map(mach_task_self(), &a, size, 0, VM_FLAGS_ANYWHERE, pager_->port, 0, FALSE, VM_PROT_DEFAULT,
                        VM_PROT_ALL, VM_INHERIT_SHARE),
            KERN_SUCCESS);
  auto* p = reinterpret_cast<volatile uint8_t*>(a);
  p[1] = 0x31;  // before the fork
  pid_t child = spawn_task([&]() -> int {
    if (p[1] != 0x31) return 2;                                  // the parent's write
    if (p[9 * kPage] != pattern(9 * kPage, 1)) return 3;         // a page nobody touched yet: from the pager
    p[5 * kPage + 2] = 0x32;                                      // seen by the parent, and dirty
    return 0;
  });
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(p[5 * kPage + 2], 0x32);
  ASSERT_TRUE(pager_->lock(0, size, MEMORY_OBJECT_RETURN_DIRTY, FALSE, VM_PROT_NONE));
  {
    std::lock_guard<std::mutex> lk(pager_->mu);
    bool child_page = false;
    for (auto& [off, data] : pager_->returns)
      if (off <= 5 * kPage && off + data.size() > 5 * kPage + 2 && data[5 * kPage + 2 - off] == 0x32) child_page = true;
    EXPECT_TRUE(child_page);  // the child's write was tracked and came back
  }
  mach_vm_deallocate(mach_task_self(), a, size);
  EXPECT_TRUE(pager_->await_terminate());
}

TEST_F(PagerTest, LockRequestReturnsExactlyTheDirtyPagesWithTheirNewContents) {
  const uint64_t size = 64 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p[0], pattern(0, 1));  // the whole cluster is resident, clean
  p[2 * kPage + 10] = 0x11;
  p[5 * kPage + 20] = 0x22;
  ASSERT_TRUE(pager_->lock(0, size, MEMORY_OBJECT_RETURN_DIRTY, FALSE, VM_PROT_NONE));
  {
    std::lock_guard<std::mutex> lk(pager_->mu);
    ASSERT_EQ(pager_->returns.size(), 2u);
    EXPECT_EQ(pager_->returns[0].first, 2 * kPage);
    ASSERT_EQ(pager_->returns[0].second.size(), kPage);
    EXPECT_EQ(pager_->returns[0].second[10], 0x11);
    EXPECT_EQ(pager_->returns[0].second[11], pattern(2 * kPage + 11, 1));
    EXPECT_EQ(pager_->returns[1].first, 5 * kPage);
    EXPECT_EQ(pager_->returns[1].second[20], 0x22);
    pager_->returns.clear();
  }
  // Clean now: a second clean returns nothing; a new write dirties one page.
  ASSERT_TRUE(pager_->lock(0, size, MEMORY_OBJECT_RETURN_DIRTY, FALSE, VM_PROT_NONE));
  EXPECT_EQ(pager_->return_count(), 0u);
  p[5 * kPage + 21] = 0x33;
  ASSERT_TRUE(pager_->lock(0, size, MEMORY_OBJECT_RETURN_DIRTY, FALSE, VM_PROT_NONE));
  {
    std::lock_guard<std::mutex> lk(pager_->mu);
    ASSERT_EQ(pager_->returns.size(), 1u);
    EXPECT_EQ(pager_->returns[0].first, 5 * kPage);
    EXPECT_EQ(pager_->returns[0].second[20], 0x22);
    EXPECT_EQ(pager_->returns[0].second[21], 0x33);
  }
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  EXPECT_TRUE(pager_->await_terminate());
}

TEST_F(PagerTest, ALargeWriteBackArrivesWholeAndExact) {
  const uint64_t size = 512 * kPage;  // 2 MiB: returned out of line, in 1 MiB messages
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  for (uint64_t off = 0; off < size; off += 8) p[off] = uint8_t(off / 8 * 13);
  ASSERT_TRUE(pager_->lock(0, size, MEMORY_OBJECT_RETURN_DIRTY, FALSE, VM_PROT_NONE));
  std::vector<uint8_t> got(size);
  std::vector<bool> seen(size / kPage, false);
  {
    std::lock_guard<std::mutex> lk(pager_->mu);
    for (auto& [off, data] : pager_->returns) {
      ASSERT_LE(off + data.size(), size);
      memcpy(got.data() + off, data.data(), data.size());
      for (uint64_t q = off / kPage; q < (off + data.size()) / kPage; ++q) seen[q] = true;
    }
    EXPECT_LE(pager_->returns.size(), 4u);  // batched, not a message per page
  }
  for (uint64_t q = 0; q < size / kPage; ++q) ASSERT_TRUE(seen[q]) << q;
  for (uint64_t off = 0; off < size; ++off)
    ASSERT_EQ(got[off], off % 8 == 0 ? uint8_t(off / 8 * 13) : pattern(off, 1)) << off;
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  EXPECT_TRUE(pager_->await_terminate());
}

TEST_F(PagerTest, VmMsyncSendsTheDirtyPagesOfTheRangeToThePager) {
  const uint64_t size = 64 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  p[2 * kPage] = 0x61;
  p[40 * kPage] = 0x62;
  ASSERT_EQ(mach_vm_msync(mach_task_self(), mach_vm_address_t(p), 8 * kPage, VM_SYNC_SYNCHRONOUS), KERN_SUCCESS);
  for (int i = 0; i < 500 && pager_->return_count() == 0; ++i) usleep(10000);  // (the pager's thread takes it)
  usleep(50000);
  {
    std::lock_guard<std::mutex> lk(pager_->mu);
    ASSERT_EQ(pager_->returns.size(), 1u);  // only the range asked for
    EXPECT_EQ(pager_->returns[0].first, 2 * kPage);
    EXPECT_EQ(pager_->returns[0].second[0], 0x61);
  }
  EXPECT_EQ(p[2 * kPage], 0x61);  // still mapped and cached
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  EXPECT_TRUE(pager_->await_terminate());
}

TEST_F(PagerTest, AFlushedPageIsAskedForAgainAndShowsThePagersNewData) {
  const uint64_t size = 64 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p[3 * kPage], pattern(3 * kPage, 1));
  const size_t asked = pager_->request_count();
  pager_->seed = 9;  // the pager's data changed behind the kernel's copy
  ASSERT_TRUE(pager_->lock(0, size, MEMORY_OBJECT_RETURN_NONE, TRUE, VM_PROT_NONE));
  EXPECT_EQ(p[3 * kPage], pattern(3 * kPage, 9));
  EXPECT_GT(pager_->request_count(), asked);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
}

TEST_F(PagerTest, DirtyPagesComeBackBeforeTerminate) {
  const uint64_t size = 8 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  p[kPage + 5] = 0x77;
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  ASSERT_TRUE(pager_->await_terminate());
  std::lock_guard<std::mutex> lk(pager_->mu);
  ASSERT_EQ(pager_->returns.size(), 1u);
  EXPECT_EQ(pager_->returns[0].first, kPage);
  EXPECT_EQ(pager_->returns[0].second[5], 0x77);
}

// machd's state for an object follows the pages touched, not the size
// mapped: a 1 TiB mapping of a pager's object with three pages touched
// (one written) grows machd's resident memory by far less than the 256 MiB
// a byte per page of the mapping would be; the written page still comes
// back to the pager before terminate.
TEST_F(PagerTest, AHugeMappingCostsMachdMemoryForThePagesTouchedNotForItsSize) {
  const uint64_t size = uint64_t(1) << 40;
  const uint64_t per_page_byte = size / kPage;  // 256 MiB
  const uint64_t before = holdings().rss_bytes;
  ASSERT_GT(before, 0u);
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  const uint64_t touched[] = {0, size / 2 + 5 * kPage, size - kPage};
  for (uint64_t off : touched) ASSERT_EQ(p[off + 3], pattern(off + 3, 1)) << off;
  p[touched[1] + 7] = 0x5c;
  const uint64_t mapped = holdings().rss_bytes;
  printf("machd resident: %.1f MiB before, %.1f MiB with 1 TiB of an object mapped and 3 pages touched\n",
         before / 1048576.0, mapped / 1048576.0);
  EXPECT_LT(mapped, before + per_page_byte / 8);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  ASSERT_TRUE(pager_->await_terminate());
  std::lock_guard<std::mutex> lk(pager_->mu);
  ASSERT_EQ(pager_->returns.size(), 1u);
  EXPECT_EQ(pager_->returns[0].first, touched[1]);
  EXPECT_EQ(pager_->returns[0].second[7], 0x5c);
}

TEST_F(PagerTest, AWriteToAPageSuppliedReadOnlyAsksDataUnlockThenProceeds) {
  pager_->supply_lock = VM_PROT_WRITE;
  const uint64_t size = 8 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p[kPage], pattern(kPage, 1));
  p[kPage] = 0x42;  // faults: write-protected until the pager unlocks
  EXPECT_EQ(p[kPage], 0x42);
  {
    std::lock_guard<std::mutex> lk(pager_->mu);
    ASSERT_EQ(pager_->unlocks.size(), 1u);
    EXPECT_EQ(pager_->unlocks[0].first, kPage);
  }
  p[kPage + 1] = 0x43;  // unlocked now: no second request
  EXPECT_EQ(pager_->unlocks.size(), 1u);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  EXPECT_TRUE(pager_->await_terminate());
  std::lock_guard<std::mutex> lk(pager_->mu);
  ASSERT_EQ(pager_->returns.size(), 1u);  // the unlocked, written page came back
  EXPECT_EQ(pager_->returns[0].second[0], 0x42);
}

TEST_F(PagerTest, CopyTrueIsASnapshotThatLaterWritesDoNotReach) {
  const uint64_t size = 8 * kPage;
  uint8_t* shared = map_object(pager_->port, size);
  ASSERT_NE(shared, nullptr);
  shared[4] = 0x10;
  uint8_t* copy = map_object(pager_->port, size, 0, VM_PROT_DEFAULT, TRUE);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy[4], 0x10);
  EXPECT_EQ(copy[6 * kPage], pattern(6 * kPage, 1));
  shared[4] = 0x20;       // after the copy: not in it
  shared[6 * kPage] = 1;  // a page the copy never touched before either
  EXPECT_EQ(copy[4], 0x10);
  EXPECT_EQ(copy[6 * kPage], pattern(6 * kPage, 1));
  copy[5] = 0x99;  // private
  EXPECT_NE(shared[5], 0x99);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(copy), size);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(shared), size);
  EXPECT_TRUE(pager_->await_terminate());
}

TEST_F(PagerTest, CopyTrueOfACopyCallObjectAsksThePagerForTheCopyAndMapsIt) {
  pager_->copy_call = true;
  const uint64_t size = 16 * kPage;
  uint8_t* shared = map_object(pager_->port, size);
  ASSERT_NE(shared, nullptr);
  ASSERT_EQ(shared[0], pattern(0, 1));  // ready: the strategy is known
  uint8_t* copy = map_object(pager_->port, 4 * kPage, 8 * kPage, VM_PROT_DEFAULT, TRUE);
  ASSERT_NE(copy, nullptr);
  ASSERT_TRUE(pager_->await_copy());
  {
    std::lock_guard<std::mutex> lk(pager_->mu);
    EXPECT_TRUE(MACH_PORT_VALID(pager_->copy_port));
    EXPECT_EQ(pager_->copy_offset, 8 * kPage);
    EXPECT_EQ(pager_->copy_length, 4 * kPage);
  }
  EXPECT_EQ(copy[kPage + 3], pattern(9 * kPage + 3, 1));  // served by the pager through the new object
  EXPECT_EQ(pager_->init_count(), 2);
  copy[5] = 0x77;
  EXPECT_NE(shared[8 * kPage + 5], 0x77);  // a different object
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(copy), 4 * kPage);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(shared), size);
  EXPECT_TRUE(pager_->await_terminate(2));
}

TEST_F(PagerTest, DeallocatingPartOfAMappingKeepsTheRestServed) {
  const uint64_t size = 256 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p + 64 * kPage), 64 * kPage), KERN_SUCCESS);
  EXPECT_EQ(p[10 * kPage], pattern(10 * kPage, 1));
  EXPECT_EQ(p[200 * kPage + 7], pattern(200 * kPage + 7, 1));
  EXPECT_EQ(pager_->terminates, 0);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), 64 * kPage);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p + 128 * kPage), 128 * kPage);
  EXPECT_TRUE(pager_->await_terminate());
}

// Several tasks map the object, read it and unmap it, over and over: each
// last unmap ends the object (the pager said may_cache FALSE) while another
// task's vm_map of it is often between finding the object and registering
// its mapping. Mach keeps an object while a map of it is in progress, so
// every vm_map succeeds and reads the pager's data, and every object made
// is terminated in the end (a map in progress leaks none).
TEST_F(PagerTest, AMapRacingAnotherTasksLastUnmapOfTheSameObjectSucceeds) {
  const uint64_t size = 4 * kPage;
  const std::string name = pager_->name;
  constexpr int kTasks = 3;
  constexpr int kMapsEach = 400;
  auto hammer = [&]() -> int {
    mach_port_t obj = look_up(name);
    if (!MACH_PORT_VALID(obj)) return 2;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
    for (int i = 0; i < kMapsEach && std::chrono::steady_clock::now() < until; ++i) {
      mach_vm_address_t a = 0;
      kern_return_t kr = mach_vm_map(mach_task_self(), &a, size, 0, VM_FLAGS_ANYWHERE, obj, 0, FALSE,
                                     VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_NONE);
      if (kr != KERN_SUCCESS) {
        fprintf(stderr, "pid %d: map %d of the object: %#x\n", int(getpid()), i, kr);
        return 3;
      }
      if (*reinterpret_cast<volatile uint8_t*>(a + kPage + 5) != pattern(kPage + 5, 1)) return 4;
      if (mach_vm_deallocate(mach_task_self(), a, size) != KERN_SUCCESS) return 5;
    }
    return 0;
  };
  pid_t tasks[kTasks];
  for (pid_t& t : tasks) t = spawn_task(hammer);
  for (pid_t t : tasks) EXPECT_EQ(wait_exit(t), 0) << "3: a vm_map failed (racing a last unmap), 4: wrong data";
  // Nothing maps the object any more: every object made ends.
  bool all_ended = false;
  for (int i = 0; i < 500 && !all_ended; ++i) {
    {
      std::lock_guard<std::mutex> lk(pager_->mu);
      all_ended = pager_->inits > 0 && pager_->terminates == pager_->inits;
    }
    if (!all_ended) usleep(10000);
  }
  std::lock_guard<std::mutex> lk(pager_->mu);
  EXPECT_TRUE(all_ended) << pager_->inits << " inits, " << pager_->terminates << " terminates";
}

// Runs `touch` in a child task that maps the object; returns its exit code
// (128 + signal when a signal ended it).
int touch_in_child(const std::string& name, uint64_t size, uint64_t offset_touched) {
  pid_t child = spawn_task([&]() -> int {
    mach_port_t obj = look_up(name);
    if (!MACH_PORT_VALID(obj)) return 2;
    volatile uint8_t* q = map_object(obj, size);
    if (q == nullptr) return 3;
    return q[offset_touched] == pattern(offset_touched, 1) ? 0 : 4;
  });
  return wait_exit(child);
}

TEST_F(PagerTest, DataErrorFailsTheFaultingThreadWithSigbus) {
  pager_->error = true;
  EXPECT_EQ(touch_in_child(pager_->name, 8 * kPage, 3 * kPage), 128 + SIGBUS);
}

TEST_F(PagerTest, APagerThatNeverAnswersCostsTheFaultingThreadSigbusAfterTheTimeout) {
  pager_->answer = false;
  EXPECT_EQ(touch_in_child(pager_->name, 8 * kPage, 0), 128 + SIGBUS);  // machd runs with --pager-timeout 2
}

TEST_F(PagerTest, APagerKilledMidFaultCostsTheFaultingThreadSigbusAndMachdCarriesOn) {
  pager_->finish();  // this test's pager is another process
  mach_port_t svc;
  const std::string ready = check_in_unique("pager-ready", &svc);
  const std::string name = "org.machd.test.dying-pager." + std::to_string(getpid());
  pid_t pager = spawn_task([&]() -> int {
    TestPager tp;
    g_pager = &tp;
    tp.answer = false;
    if (bootstrap_check_in(bootstrap_port, name.c_str(), &tp.port) != KERN_SUCCESS) return 2;
    send_simple(look_up(ready), 1, "up");
    tp.serve();
    return 0;
  });
  SimpleRcv r{};
  ASSERT_EQ(receive_simple(svc, r, 10000), MACH_MSG_SUCCESS);
  pid_t client = spawn_task([&]() -> int {
    mach_port_t obj = look_up(name);
    volatile uint8_t* q = map_object(obj, 8 * kPage);
    if (q == nullptr) return 3;
    return q[0];  // blocks: the pager does not answer
  });
  usleep(300000);
  kill(pager, SIGKILL);
  EXPECT_EQ(wait_exit(pager), 128 + SIGKILL);
  EXPECT_EQ(reap_within(client, 1500), 128 + SIGBUS);  // well before the 2 s timeout
  mach_port_mod_refs(mach_task_self(), svc, MACH_PORT_RIGHT_RECEIVE, -1);
  pager_->start();  // (TearDown finishes it)
}

TEST_F(PagerTest, ATaskKilledWhileItsThreadWaitsOnAPagerLeavesNothingBehind) {
  pager_->answer = false;
  const std::string name = pager_->name;
  pid_t client = spawn_task([&]() -> int {
    volatile uint8_t* q = map_object(look_up(name), 8 * kPage);
    return q ? q[0] : 3;
  });
  for (int i = 0; i < 300 && pager_->request_count() == 0; ++i) usleep(10000);
  ASSERT_EQ(pager_->request_count(), 1u);
  kill(client, SIGKILL);
  EXPECT_EQ(wait_exit(client), 128 + SIGKILL);
  EXPECT_TRUE(pager_->await_terminate());  // its only mapping went with it
}

namespace {

// A task that maps `pages` pages of a pager's object (by its bootstrap
// name), touches none, and lives until end() or kill(): other tasks read
// them.
struct ObjectHolder {
  pid_t pid = -1;
  mach_vm_address_t base = 0;  // where the pages are in it
  int up[2] = {-1, -1}, done[2] = {-1, -1};

  // False if the task could not be made or did not map the object.
  bool start(const std::string& name, uint64_t pages = 8) {
    if (pipe(up) != 0 || pipe(done) != 0) return false;
    pid = spawn_task([&]() -> int {
      close(up[0]);
      close(done[1]);
      uint8_t* q = map_object(look_up(name), pages * kPage);
      if (q == nullptr) return 3;
      dprintf(up[1], "%lu\n", (unsigned long)uintptr_t(q));
      char c;
      while (read(done[0], &c, 1) == 1) {
      }
      return 0;
    });
    close(up[1]);
    close(done[0]);
    if (pid <= 0) return false;
    const std::string at = read_line(up[0], 10000);
    close(up[0]);
    if (at.empty()) return false;
    base = std::stoull(at);
    return true;
  }
  // Tells it to end; its exit code (within 10 s).
  int end() {
    close(done[1]);
    return reap_within(pid, 10000);
  }
  void kill_now() {
    close(done[1]);
    kill(pid, SIGKILL);
    reap_within(pid, 10000);
  }
  // A task that reads the first two pages of the object here with
  // mach_vm_read (this task's port from task_for_pid) and writes the
  // call's result as a line; *answer gets that pipe's read end. Its pid.
  pid_t spawn_reader(int* answer) const {
    int result[2];
    if (pipe(result) != 0) return -1;
    const pid_t target = pid;
    const mach_vm_address_t at = base;
    const pid_t reader = spawn_task([result, target, at]() -> int {
      close(result[0]);
      mach_port_t task = MACH_PORT_NULL;
      if (task_for_pid(mach_task_self(), target, &task) != KERN_SUCCESS) return 2;
      vm_offset_t data = 0;
      mach_msg_type_number_t count = 0;
      dprintf(result[1], "%d\n", mach_vm_read(task, at, 2 * kPage, &data, &count));
      return 0;
    });
    close(result[1]);
    *answer = result[0];
    return reader;
  }
};

// Waits up to `ms` until machd holds no more ports, messages and
// out-of-line payloads than `before` (what a task that ended left is
// released as machd notices).
bool await_holdings_back_to(const Holdings& before, int ms) {
  for (int waited = 0;; waited += 50) {
    const Holdings h = holdings();
    if (h.ports <= before.ports && h.messages <= before.messages && h.ool_payloads <= before.ool_payloads &&
        h.tasks <= before.tasks)
      return true;
    if (waited >= ms) {
      fprintf(stderr, "machd holds ports %lu/%lu messages %lu/%lu ool %lu/%lu tasks %lu/%lu (before/now)\n",
              (unsigned long)before.ports, (unsigned long)h.ports, (unsigned long)before.messages,
              (unsigned long)h.messages, (unsigned long)before.ool_payloads, (unsigned long)h.ool_payloads,
              (unsigned long)before.tasks, (unsigned long)h.tasks);
      return false;
    }
    usleep(50000);
  }
}

}  // namespace

// vm_read of another task's pages that machd does not hold yet: the call
// waits while the pager supplies them, and answers the data the first time
// (machd serves the request again once they are in, never waiting itself).
// A pager that never answers costs the call KERN_MEMORY_ERROR once its
// request times out (--pager-timeout 2), and machd carries on.
TEST_F(PagerTest, AVmReadOfPagesThePagerHasNotSuppliedYetWaitsForThemOrFailsWithThePagerRequest) {
  // 128 pages: a first read made before machd has the pager's
  // memory_object_ready asks for the whole first cluster (64 pages) once it
  // comes; page 100 is asked for by the second read only.
  ObjectHolder holder;
  ASSERT_TRUE(holder.start(pager_->name, 128));
  const mach_vm_address_t base = holder.base;
  mach_port_t task = MACH_PORT_NULL;
  ASSERT_EQ(task_for_pid(mach_task_self(), holder.pid, &task), KERN_SUCCESS);
  ASSERT_EQ(pager_->request_count(), 0u);

  vm_offset_t data = 0;
  mach_msg_type_number_t count = 0;
  ASSERT_EQ(mach_vm_read(task, base + 2 * kPage, 2 * kPage, &data, &count), KERN_SUCCESS);
  ASSERT_EQ(count, 2 * kPage);
  for (uint64_t off = 0; off < 2 * kPage; off += 61)
    ASSERT_EQ(reinterpret_cast<const uint8_t*>(data)[off], pattern(2 * kPage + off, 1)) << off;
  vm_deallocate(mach_task_self(), data, count);
  EXPECT_GE(pager_->request_count(), 1u);

  pager_->answer = false;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(mach_vm_read(task, base + 100 * kPage, kPage, &data, &count), KERN_MEMORY_ERROR);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  pager_->answer = true;
  ASSERT_EQ(mach_vm_read(task, base, kPage, &data, &count), KERN_SUCCESS);  // and machd carries on
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(data)[5], pattern(5, 1));
  vm_deallocate(mach_task_self(), data, count);

  mach_port_deallocate(mach_task_self(), task);
  EXPECT_EQ(holder.end(), 0);
  EXPECT_TRUE(pager_->await_terminate());  // its only mapping went with it
}

// A task killed while its vm_read of another task waits for a pager: when
// the wait ends (here at --pager-timeout, the pager never answers) machd
// answers a reply port that died with the task, and holds nothing more
// than before; the page is asked for again by the next read.
TEST_F(PagerTest, ATaskKilledWhileItsVmReadWaitsForAPagerLeavesNothingInMachd) {
  ObjectHolder holder;
  ASSERT_TRUE(holder.start(pager_->name));
  pager_->answer = false;
  const Holdings before = holdings();
  const pid_t reader = spawn_task([&]() -> int {
    mach_port_t task = MACH_PORT_NULL;
    if (task_for_pid(mach_task_self(), holder.pid, &task) != KERN_SUCCESS) return 2;
    vm_offset_t data = 0;
    mach_msg_type_number_t count = 0;
    mach_vm_read(task, holder.base + 3 * kPage, kPage, &data, &count);
    return 4;  // (killed before this)
  });
  ASSERT_GT(reader, 0);
  ASSERT_TRUE(pager_->await_requests_above(0));  // its read waits on the pager now
  kill(reader, SIGKILL);
  EXPECT_EQ(reap_within(reader, 5000), 128 + SIGKILL);
  EXPECT_TRUE(await_holdings_back_to(before, 10000));

  pager_->answer = true;
  mach_port_t task = MACH_PORT_NULL;
  ASSERT_EQ(task_for_pid(mach_task_self(), holder.pid, &task), KERN_SUCCESS);
  vm_offset_t data = 0;
  mach_msg_type_number_t count = 0;
  ASSERT_EQ(mach_vm_read(task, holder.base + 3 * kPage, kPage, &data, &count), KERN_SUCCESS);
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(data)[7], pattern(3 * kPage + 7, 1));
  vm_deallocate(mach_task_self(), data, count);
  mach_port_deallocate(mach_task_self(), task);
  EXPECT_EQ(holder.end(), 0);
  EXPECT_TRUE(pager_->await_terminate());
}

// The task a vm_read reads killed while the read waits for its pager: the
// read answers an error once the wait ends (the pager never answers here:
// at --pager-timeout), not the data of a task that is gone, and machd
// holds nothing more than before.
TEST_F(PagerTest, AVmReadWaitingOnATaskThatIsKilledAnswersAnErrorAndLeavesNothingInMachd) {
  ObjectHolder holder;
  ASSERT_TRUE(holder.start(pager_->name));
  pager_->answer = false;
  const Holdings before = holdings();
  int answer = -1;
  const pid_t reader = holder.spawn_reader(&answer);
  ASSERT_GT(reader, 0);
  ASSERT_TRUE(pager_->await_requests_above(0));
  holder.kill_now();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string kr = read_line(answer, 10000);
  close(answer);
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(kr.empty()) << "the read never answered";
  printf("vm_read of a task killed while it waited: %s (%s) after %lld ms\n", kr.c_str(),
         mach_error_string(std::stoi(kr)), (long long)std::chrono::duration_cast<std::chrono::milliseconds>(waited).count());
  EXPECT_NE(std::stoi(kr), KERN_SUCCESS);
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_EQ(reap_within(reader, 5000), 0);
  EXPECT_TRUE(await_holdings_back_to(before, 10000));
  EXPECT_TRUE(pager_->await_terminate());
}

// GNU Mach's lock_request takes VM_PROT_NO_CHANGE for "keep each page's
// lock" (libpager's mach_pager_clean and mach_pager_flush send it): the
// request completes, and a page supplied write-locked stays so.
TEST_F(PagerTest, ALockRequestWithNoChangeCompletesAndKeepsEachPagesLock) {
  pager_->supply_lock = VM_PROT_WRITE;
  const uint64_t size = 8 * kPage;
  uint8_t* p = map_object(pager_->port, size);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p[0], pattern(0, 1));
  EXPECT_TRUE(pager_->lock(0, size, MEMORY_OBJECT_RETURN_DIRTY, FALSE, VM_PROT_NO_CHANGE));
  p[1] = 0x42;  // still write-locked: asks data_unlock
  EXPECT_EQ(pager_->unlocks.size(), 1u);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  EXPECT_TRUE(pager_->await_terminate());
}

// A pager refusing an unlock answers data_error: the writer gets SIGBUS
// (the page is resident and mapped read-only, where UFFDIO_POISON cannot
// be used: machd must not just wake it to fault again).
TEST_F(PagerTest, ARefusedUnlockCostsTheWriterSigbus) {
  pager_->supply_lock = VM_PROT_WRITE;
  pager_->refuse_unlock = true;
  const std::string name = pager_->name;
  pid_t child = spawn_task([&]() -> int {
    volatile uint8_t* q = map_object(look_up(name), 8 * kPage);
    if (q == nullptr) return 2;
    if (q[0] != pattern(0, 1)) return 3;
    q[0] = 1;  // refused
    return 0;
  });
  EXPECT_EQ(reap_within(child, 3000), 128 + SIGBUS);
}

}  // namespace

// ---- fork: each mapping as its inheritance says ---------------------------------

namespace {

// A mapping of the whole object range [0, size) made with `inherit`.
volatile uint8_t* map_inherited(mach_port_t object, uint64_t size, vm_inherit_t inherit) {
  mach_vm_address_t a = 0;
  const kern_return_t kr = mach_vm_map(mach_task_self(), &a, size, 0, VM_FLAGS_ANYWHERE, object, 0, FALSE,
                                       VM_PROT_DEFAULT, VM_PROT_ALL, inherit);
  if (kr != KERN_SUCCESS) {
    fprintf(stderr, "map_inherited: mach_vm_map of %#llx bytes: %s (%#x)\n", (unsigned long long)size,
            mach_error_string(kr), kr);
    return nullptr;
  }
  return reinterpret_cast<volatile uint8_t*>(a);
}

// Whether any data_return the pager got holds `byte` at object offset `off`.
// The inode of the file mapped at addr in this process (/proc/self/maps),
// 0 for anonymous memory or nothing mapped there.
unsigned long inode_mapped_at(uintptr_t addr) {
  FILE* f = fopen("/proc/self/maps", "r");
  if (!f) return 0;
  char line[512];
  unsigned long found = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo = 0, hi = 0, ino = 0;
    if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi, &ino) == 3 && lo <= addr && addr < hi) {
      found = ino;
      break;
    }
  }
  fclose(f);
  return found;
}

bool returned_byte(TestPager& pager, uint64_t off, uint8_t byte) {
  std::lock_guard<std::mutex> lk(pager.mu);
  for (auto& [at, data] : pager.returns)
    if (off >= at && off < at + data.size() && data[off - at] == byte) return true;
  return false;
}

// A task of its own that maps 8 pages of the pager's object inherited COPY
// (the pager made COPY_CALL, so that a copy is an object whose end it
// sees), reads the first, then runs `then`; 3 if the mapping failed. The
// pipes `done` (task to test) and `go` (test to task) are made for it.
pid_t spawn_copy_task(TestPager& pager, int done[2], int go[2], const std::function<int()>& then) {
  pager.copy_call = true;
  if (pipe(done) != 0 || pipe(go) != 0) return -1;
  const std::string name = pager.name;
  const pid_t pid = spawn_task([&]() -> int {
    mach_port_t obj = look_up(name);
    volatile uint8_t* q = MACH_PORT_VALID(obj) ? map_inherited(obj, 8 * kPage, VM_INHERIT_COPY) : nullptr;
    return q != nullptr && q[0] == pattern(0, 1) ? then() : 3;
  });
  // The test keeps its ends only: a task that ends early ends its reads.
  close(done[1]);
  close(go[0]);
  done[1] = go[0] = -1;
  return pid;
}

// From now on system call `nr` fails with `err` in this process and its
// children, unless its first argument has a bit of `unless` (a seccomp filter).
bool refuse_syscall(uint32_t nr, int err, uint32_t unless) {
  sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),  // (the low half on x86-64)
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, unless, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | uint32_t(err)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{uint16_t(sizeof f / sizeof f[0]), f};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// fork() fails with EAGAIN from now on (threads are still made).
bool make_fork_fail() { return refuse_syscall(SYS_clone, EAGAIN, CLONE_THREAD); }

}  // namespace

TEST_F(PagerTest, AForkedChildReadsACopyOfAMappingInheritedCopyAsItWasAtTheFork) {
  const uint64_t size = 256 * kPage;  // four clusters: most pages are not resident at the fork
  volatile uint8_t* p = map_inherited(pager_->port, size, VM_INHERIT_COPY);
  ASSERT_NE(p, nullptr);
  p[1] = 0x31;  // before the fork
  const size_t requests_before = pager_->request_count();
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  pid_t child = spawn_task([&]() -> int {
    char b;
    if (read(go[0], &b, 1) != 1) return 2;  // the parent has written after the fork
    for (uint64_t off = 0; off < size; ++off)
      if (p[off] != (off == 1 ? 0x31 : pattern(off, 1))) return 3;  // the parent's view at the fork, every byte
    p[3 * kPage + 9] = 0x55;  // the child's own
    return p[3 * kPage + 9] == 0x55 ? 0 : 4;
  });
  ASSERT_GT(child, 0);
  // The copy was made before fork() returned: the pages not resident then
  // were asked for.
  EXPECT_GT(pager_->request_count(), requests_before);
  p[2 * kPage] = 0x44;    // after the fork: not in the child's copy
  p[200 * kPage] = 0x45;  // a page first touched by the copy
  ASSERT_EQ(write(go[1], "g", 1), 1);
  EXPECT_EQ(wait_exit(child), 0);
  close(go[0]);
  close(go[1]);
  EXPECT_EQ(p[3 * kPage + 9], pattern(3 * kPage + 9, 1));  // the child's write is not the parent's
  EXPECT_EQ(touch_in_child(pager_->name, size, 3 * kPage + 9), 0);  // nor another task's
  ASSERT_TRUE(pager_->lock(0, size, MEMORY_OBJECT_RETURN_DIRTY, FALSE, VM_PROT_NONE));
  EXPECT_TRUE(returned_byte(*pager_, 2 * kPage, 0x44));       // the parent's writes reach the pager
  EXPECT_FALSE(returned_byte(*pager_, 3 * kPage + 9, 0x55));  // the child's never do
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  EXPECT_TRUE(pager_->await_terminate());
}

TEST_F(PagerTest, AForkOfACopyCallObjectMappingReturnsTheDirtyPagesThenAsksThePagerForTheCopy) {
  pager_->copy_call = true;
  const uint64_t size = 16 * kPage;
  volatile uint8_t* p = map_inherited(pager_->port, size, VM_INHERIT_COPY);
  ASSERT_NE(p, nullptr);
  p[5] = 0x66;  // ready (the strategy is known), and a dirty page
  pid_t child = spawn_task([&]() -> int {
    // The copy object's pages, served by the pager (this pager serves its
    // pattern for the copy: it keeps no returned data).
    if (p[kPage + 3] != pattern(kPage + 3, 1)) return 2;
    p[7] = 0x77;  // the copy's, not the parent's
    return p[7] == 0x77 ? 0 : 3;
  });
  ASSERT_GT(child, 0);
  EXPECT_EQ(wait_exit(child), 0);
  ASSERT_TRUE(pager_->await_copy());
  {
    std::lock_guard<std::mutex> lk(pager_->mu);
    EXPECT_EQ(pager_->copy_offset, 0u);
    EXPECT_EQ(pager_->copy_length, size);
    bool dirty_first = false;  // the parent's write reached the pager before the copy request
    for (size_t i = 0; i < pager_->returns_at_copy && i < pager_->returns.size(); ++i) {
      auto& [at, data] = pager_->returns[i];
      if (at <= 5 && at + data.size() > 5 && data[5 - at] == 0x66) dirty_first = true;
    }
    EXPECT_TRUE(dirty_first);
  }
  EXPECT_EQ(p[7], pattern(7, 1));
  EXPECT_EQ(pager_->init_count(), 2);        // the copy is an object of its own
  EXPECT_TRUE(pager_->await_terminate(1));  // and it ended with the child
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  EXPECT_TRUE(pager_->await_terminate(2));
}

TEST_F(PagerTest, AForkedChildLacksAMappingInheritedNone) {
  const uint64_t size = 8 * kPage;
  volatile uint8_t* p = map_inherited(pager_->port, size, VM_INHERIT_NONE);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p[0], pattern(0, 1));
  const unsigned long object_inode = inode_mapped_at(uintptr_t(p));  // the object's memfd
  ASSERT_NE(object_inode, 0u);
  pid_t child = spawn_task([&]() -> int {
    // Nothing of the object is mapped there. (Something else may be: the
    // child's own new mappings can land in the hole, as ASan's do.)
    for (uint64_t off = 0; off < size; off += kPage)
      if (inode_mapped_at(uintptr_t(p) + off) == object_inode) return 2;
    return 0;
  });
  EXPECT_EQ(wait_exit(child), 0);
  mach_vm_deallocate(mach_task_self(), mach_vm_address_t(p), size);
  EXPECT_TRUE(pager_->await_terminate());
}

TEST_F(PagerTest, TheCopiesOfAForkThatFailedAreReleased) {
  int done[2], go[2];
  pid_t task = spawn_copy_task(*pager_, done, go, [&]() -> int {
    if (!make_fork_fail()) return 4;
    pid_t c = fork();  // machd makes the copy, then the fork fails
    if (c == 0) _exit(0);
    if (c > 0) return 5;
    if (write(done[1], "f", 1) != 1) return 6;
    char b;
    return read(go[0], &b, 1) == 1 ? 0 : 7;  // keeps its mapping meanwhile
  });
  ASSERT_GT(task, 0);
  char b;
  ASSERT_EQ(read(done[0], &b, 1), 1);
  EXPECT_TRUE(pager_->await_copy());
  EXPECT_TRUE(pager_->await_terminate(1));  // the copy nobody claimed
  EXPECT_EQ(write(go[1], "x", 1), 1);
  EXPECT_EQ(wait_exit(task), 0);
  EXPECT_TRUE(pager_->await_terminate(2));
  for (int fd : {done[0], done[1], go[0], go[1]}) close(fd);
}

TEST_F(PagerTest, TheCopiesOfAChildThatNeverClaimsThemAreKeptWhileItLivesAndReleasedWhenItExits) {
  int done[2], go[2];
  pid_t task = spawn_copy_task(*pager_, done, go, [&]() -> int {
    // A child that cannot reach machd (connect refused) never claims its copy.
    if (!refuse_syscall(SYS_connect, ECONNREFUSED, 0)) return 4;
    int hold[2];
    if (pipe(hold) != 0) return 5;
    pid_t c = fork();
    if (c == 0) {
      close(hold[1]);
      char b;
      (void)!read(hold[0], &b, 1);
      _exit(0);
    }
    if (c < 0) return 6;
    char b;
    if (write(done[1], "f", 1) != 1 || read(go[0], &b, 1) != 1) return 7;  // the child lives meanwhile
    close(hold[1]);  // it exits
    if (waitpid(c, nullptr, 0) != c) return 8;
    if (write(done[1], "e", 1) != 1) return 9;
    return read(go[0], &b, 1) == 1 ? 0 : 10;  // keeps its own mapping until the end
  });
  ASSERT_GT(task, 0);
  char b;
  ASSERT_EQ(read(done[0], &b, 1), 1);
  EXPECT_TRUE(pager_->await_copy());
  usleep(300000);  // (machd looks at the child every 100 ms)
  {
    std::lock_guard<std::mutex> lk(pager_->mu);
    EXPECT_EQ(pager_->terminates, 0);  // kept: the child may still claim it
  }
  ASSERT_EQ(write(go[1], "g", 1), 1);
  ASSERT_EQ(read(done[0], &b, 1), 1);
  EXPECT_TRUE(pager_->await_terminate(1));  // released once the child exited
  EXPECT_EQ(write(go[1], "x", 1), 1);
  EXPECT_EQ(wait_exit(task), 0);
  EXPECT_TRUE(pager_->await_terminate(2));
  for (int fd : {done[0], done[1], go[0], go[1]}) close(fd);
}

TEST_F(PagerTest, AForkedChildsCopyHasTheProtectionTheParentsRangeHasAtTheFork) {
  const uint64_t size = 8 * kPage;
  volatile uint8_t* p = map_inherited(pager_->port, size, VM_INHERIT_COPY);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p[0], pattern(0, 1));
  const mach_vm_address_t a = mach_vm_address_t(p);
  ASSERT_EQ(mach_vm_protect(mach_task_self(), a + 2 * kPage, 2 * kPage, FALSE, VM_PROT_READ), KERN_SUCCESS);
  pid_t child = spawn_task([&]() -> int {
    // [0, 2) read-write, [2, 4) read-only, [4, 8) read-write, as the parent's.
    const std::pair<uint64_t, vm_prot_t> want[] = {{0, VM_PROT_DEFAULT}, {2, VM_PROT_READ}, {4, VM_PROT_DEFAULT}};
    for (auto [page, prot] : want) {
      mach_vm_address_t at = a + page * kPage;
      mach_vm_size_t len = 0;
      vm_region_basic_info_data_64_t info{};
      mach_msg_type_number_t n = VM_REGION_BASIC_INFO_COUNT_64;
      mach_port_t obj = MACH_PORT_NULL;
      if (mach_vm_region(mach_task_self(), &at, &len, VM_REGION_BASIC_INFO_64, reinterpret_cast<vm_region_info_t>(&info),
                         &n, &obj) != KERN_SUCCESS || at != a + page * kPage)
        return 2;
      if (info.protection != prot) return 3;
    }
    return p[3 * kPage + 1] == pattern(3 * kPage + 1, 1) ? 0 : 4;
  });
  EXPECT_EQ(wait_exit(child), 0);
  mach_vm_deallocate(mach_task_self(), a, size);
  EXPECT_TRUE(pager_->await_terminate());
}

// ---- eager copies: bounded (machd/vm/eager_copy_bound.h) ------------------------

namespace {

constexpr uint64_t kTiB = uint64_t(1) << 40;
constexpr uint64_t kEagerCopyBound = uint64_t(4) << 30;

// A task that maps `size` bytes of the object named `name` from `offset`
// copy=TRUE and reads a success back. It exits with the vm_map's result (0
// when mapped and every byte read is the pager's; 200 if one is not).
pid_t spawn_copy_task(const std::string& name, uint64_t offset, uint64_t size) {
  return spawn_task([&]() -> int {
    mach_port_t obj = look_up(name);
    if (!MACH_PORT_VALID(obj)) return 255;
    mach_vm_address_t a = 0;
    const kern_return_t kr = mach_vm_map(mach_task_self(), &a, size, 0, VM_FLAGS_ANYWHERE, obj, offset, TRUE,
                                         VM_PROT_DEFAULT, VM_PROT_ALL, VM_INHERIT_DEFAULT);
    if (kr != KERN_SUCCESS) return kr < 200 ? int(kr) : 254;
    const auto* p = reinterpret_cast<const uint8_t*>(a);
    for (uint64_t off = 0; off < size; off += 613)
      if (p[off] != pattern(offset + off, 1)) return 200;
    return 0;
  });
}

// In a task of its own, so that a machd stalled on the request cannot hang
// this test: vm_map copy=TRUE of `size` bytes of the object named `name`
// (spawn_copy_task). Its result, or -1 if it had not answered within
// timeout_ms; *ms: how long it took.
int copy_map_in_task(const std::string& name, uint64_t size, int timeout_ms, int64_t* ms) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t task = spawn_copy_task(name, 0, size);
  if (task <= 0) return 253;
  const int code = reap_within(task, timeout_ms);
  *ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  return code;
}

}  // namespace

// A copy=TRUE vm_map of a pager's object (not COPY_CALL) is a snapshot that
// makes the whole range resident: past the bound it is refused at once,
// KERN_RESOURCE_SHORTAGE, with nothing asked of the pager and nothing held
// by machd (per page waiters for 1 TiB would be tens of GiB).
TEST_F(PagerTest, AnEagerCopyLargerThanTheBoundIsRefusedAtOnce) {
  pager_->answer = false;  // (a request would never be answered: none may be made)
  const uint64_t before = holdings().rss_bytes;
  ASSERT_GT(before, 0u);
  const size_t requests = pager_->request_count();
  int64_t ms = 0;
  EXPECT_EQ(copy_map_in_task(pager_->name, kTiB, 10000, &ms), KERN_RESOURCE_SHORTAGE);
  EXPECT_LT(ms, 3000);
  int64_t ms_just_over = 0;
  EXPECT_EQ(copy_map_in_task(pager_->name, kEagerCopyBound + kPage, 10000, &ms_just_over), KERN_RESOURCE_SHORTAGE);
  EXPECT_LT(ms_just_over, 3000);
  const uint64_t after = holdings().rss_bytes;
  printf("vm_map copy=TRUE of 1 TiB refused in %lld ms (4 GiB + 1 page: %lld ms); machd resident %.1f MiB before, "
         "%.1f MiB after\n",
         (long long)ms, (long long)ms_just_over, before / 1048576.0, after / 1048576.0);
  EXPECT_LT(after, before + (16 << 20));
  EXPECT_EQ(pager_->request_count(), requests);
  EXPECT_TRUE(pager_->await_terminate(2));  // each object, unused, ended at once
}

// Within the bound the snapshot is made, also of an object nothing else
// maps (it ends once copied: the supply that completed the copy must not
// end it under itself).
TEST_F(PagerTest, AnEagerCopyWithinTheBoundOfAnObjectNothingElseMapsIsMade) {
  int64_t ms = 0;
  EXPECT_EQ(copy_map_in_task(pager_->name, 256 * kPage, 10000, &ms), 0);
  EXPECT_TRUE(pager_->await_terminate());
  EXPECT_GE(pager_->request_count(), 1u);
}

// fork: the snapshots of the ranges inherited COPY add up to at most the
// bound; a range past it is left out of the child (as a copy that could not
// be made is), nothing asked of the pager for it, while a range that fits
// is still copied.
TEST_F(PagerTest, AForkedChildLacksARangeInheritedCopyPastTheEagerCopyBound) {
  const std::string name = pager_->name;
  const uint64_t small = 8 * kPage;
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const uint64_t before = holdings().rss_bytes;
  const size_t requests = pager_->request_count();
  pid_t task = spawn_task([&]() -> int {
    mach_port_t obj = look_up(name);
    if (!MACH_PORT_VALID(obj)) return 2;
    volatile uint8_t* s = map_inherited(obj, small, VM_INHERIT_COPY);
    if (s == nullptr) return 3;
    volatile uint8_t* h = map_inherited(obj, kTiB, VM_INHERIT_COPY);
    if (h == nullptr) return 12;  // (the 1 TiB mapping: map_inherited printed why)
    if (s[0] != pattern(0, 1)) return 4;
    s[1] = 0x31;
    const unsigned long object_inode = inode_mapped_at(uintptr_t(h));
    if (object_inode == 0) return 5;
    const auto t0 = std::chrono::steady_clock::now();
    pid_t c = fork();
    if (c == 0) {
      for (uint64_t off = 0; off < small; ++off)
        if (s[off] != (off == 1 ? 0x31 : pattern(off, 1))) _exit(10);  // the copy that fits, as at the fork
      for (uint64_t off : {uint64_t(0), kTiB / 2, kTiB - kPage})
        if (inode_mapped_at(uintptr_t(h) + off) == object_inode) _exit(11);  // nothing of the object
      _exit(0);
    }
    if (c < 0) return 6;
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (write(report[1], &ms, sizeof ms) != ssize_t(sizeof ms)) return 7;
    int status = 0;
    if (waitpid(c, &status, 0) != c) return 8;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 9;
  });
  ASSERT_GT(task, 0);
  close(report[1]);  // (a task that died without reporting: the read ends)
  EXPECT_EQ(reap_within(task, 20000), 0);
  int64_t ms = -1;
  pollfd pfd{report[0], POLLIN, 0};
  if (poll(&pfd, 1, 1000) == 1) {
    EXPECT_EQ(read(report[0], &ms, sizeof ms), ssize_t(sizeof ms));
  }
  close(report[0]);
  const uint64_t after = holdings().rss_bytes;
  printf("fork with 1 TiB + 8 pages inherited COPY: %lld ms; machd resident %.1f MiB before, %.1f MiB after\n",
         (long long)ms, before / 1048576.0, after / 1048576.0);
  EXPECT_TRUE(ms >= 0 && ms < 3000) << ms << " ms (-1: the task never forked)";
  EXPECT_LT(after, before + (16 << 20));
  std::lock_guard<std::mutex> lk(pager_->mu);
  for (size_t i = requests; i < pager_->requests.size(); ++i)  // the small range's first fault only
    EXPECT_LE(pager_->requests[i].first + pager_->requests[i].second, 64 * kPage) << i;
}

// ---- eager copies: bounded per user (machd/vm/eager_copy_quota.h) ---------------

namespace {

constexpr uint64_t kMiB = uint64_t(1) << 20;

// A TestPager in a task of its own, so that it serves a private machd (this
// test's process is a task of the suite's). It holds the data_requests it
// receives (answers none) until answer(); it is told what to do over a pipe.
class PagerTask {
 public:
  // Starts it on the machd MACHD_SOCKET names now; false if it did not
  // say its object's name.
  bool start() {
    int cmd[2], rep[2];
    if (pipe(cmd) != 0 || pipe(rep) != 0) return false;
    pid_ = spawn_task([&] {
      close(cmd[1]);
      close(rep[0]);
      return serve(cmd[0], rep[1]);
    });
    close(cmd[0]);
    close(rep[1]);
    to_ = cmd[1];
    from_ = rep[0];
    name_ = read_line(from_, 10000);
    return pid_ > 0 && !name_.empty();
  }
  ~PagerTask() {
    if (pid_ > 0) quit();
  }
  const std::string& name() const { return name_; }
  // The data_requests it has received so far; -1 if it did not say.
  long requests() {
    const std::string n = ask('c');
    return n.empty() ? -1 : std::stol(n);
  }
  // Waits up to 10 s for it to have received more than `than` requests.
  bool await_requests_above(long than) {
    for (int i = 0; i < 1000; ++i) {
      if (requests() > than) return true;
      usleep(10000);
    }
    return false;
  }
  // Answers the requests held so far, and those that come from now on.
  bool answer() { return ask('a') == "ok"; }
  // Holds the requests that come from now on.
  bool hold() { return ask('h') == "ok"; }
  // Ends it (its object port dies with it); its exit code.
  int quit() {
    if (pid_ <= 0) return -1;
    close(to_);  // (end of commands)
    const int code = reap_within(pid_, 20000);
    close(from_);
    pid_ = -1;
    return code;
  }

 private:
  std::string ask(char c) {
    if (write(to_, &c, 1) != 1) return "";
    return read_line(from_, 10000);
  }
  static void say(int fd, const std::string& line) {
    const std::string l = line + "\n";
    if (write(fd, l.data(), l.size()) != ssize_t(l.size())) _exit(3);
  }
  // The pager task's body: serve commands until the pipe ends.
  static int serve(int in, int out) {
    TestPager p;
    g_pager = &p;
    p.answer = false;
    p.start();
    if (p.name.empty()) return 2;
    say(out, p.name);
    size_t answered = 0;
    char c;
    while (read(in, &c, 1) == 1) {
      if (c == 'c') {
        say(out, std::to_string(p.request_count()));
      } else if (c == 'h') {
        p.answer = false;
        answered = p.request_count();
        say(out, "ok");
      } else if (c == 'a') {
        p.answer = true;  // (a request coming meanwhile may be supplied twice: the second is ignored)
        std::vector<std::pair<uint64_t, uint64_t>> held;
        mach_port_t control;
        {
          std::lock_guard<std::mutex> lk(p.mu);
          held.assign(p.requests.begin() + long(answered), p.requests.end());
          answered = p.requests.size();
          control = p.control;
        }
        kern_return_t kr = KERN_SUCCESS;
        for (auto [offset, length] : held) {
          std::vector<uint8_t> buf(length);
          for (uint64_t i = 0; i < length; ++i) buf[i] = pattern(offset + i, p.seed);
          if (memory_object_data_supply(control, offset, vm_offset_t(buf.data()), mach_msg_type_number_t(length),
                                        FALSE, VM_PROT_NONE, FALSE, MACH_PORT_NULL) != KERN_SUCCESS)
            kr = KERN_FAILURE;
        }
        say(out, kr == KERN_SUCCESS ? "ok" : "failed");
      }
    }
    p.finish();
    g_pager = nullptr;
    return 0;
  }

  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  std::string name_;
};

// MACHD_SOCKET names `socket` while it lives: the tasks this test forks
// meanwhile connect there.
struct TasksOf {
  explicit TasksOf(const std::string& socket) : saved(getenv("MACHD_SOCKET") ? getenv("MACHD_SOCKET") : "") {
    setenv("MACHD_SOCKET", socket.c_str(), 1);
  }
  ~TasksOf() { setenv("MACHD_SOCKET", saved.c_str(), 1); }
  std::string saved;
};

// A private machd whose users may have 1 MiB of eager copies in flight and
// whose pagers may take their time (--pager-timeout 600), with a PagerTask
// serving it; the tasks forked while it lives are its.
struct SmallEagerCopyBudget {
  // False if machd or the pager did not start.
  bool start() {
    const char* bin = getenv("MACHD_BIN");
    if (bin == nullptr ||
        !machd.start(bin, "error", nullptr, {"--max-eager-copy-per-user", "1M", "--pager-timeout", "600"}))
      return false;
    tasks.emplace(machd.socket());
    return pager.start();
  }
  testsupport::PrivateMachd machd;
  std::optional<TasksOf> tasks;
  PagerTask pager;  // (ends first, then MACHD_SOCKET is restored, then machd stops)
};

}  // namespace

// The eager copies one user's tasks have in flight are bounded together
// (machd --max-eager-copy-per-user; here a private machd at 1 MiB, whose
// pagers may take their time: --pager-timeout 600). A task whose 1 MiB
// snapshot waits on the pager holds the user's whole budget: another task
// of the same user is refused even one page at once, KERN_RESOURCE_SHORTAGE,
// nothing asked of the pager; once the first copy is mapped the same copy is
// made. A task killed while its copy waits on a pager that never answers
// gives its share back at its end, not at the pager's timeout.
TEST_F(PagerTest, AUsersSecondEagerCopyPastItsBoundIsRefusedUntilTheFirstEnds) {
  SmallEagerCopyBudget machd;
  ASSERT_TRUE(machd.start());
  PagerTask& pager = machd.pager;

  // The first copy takes the whole budget, and waits on the pager.
  const pid_t first = spawn_copy_task(pager.name(), 0, kMiB);
  ASSERT_GT(first, 0);
  ASSERT_TRUE(pager.await_requests_above(0)) << "the first copy never asked the pager";
  const long asked = pager.requests();
  EXPECT_EQ(reap_within(spawn_copy_task(pager.name(), 2 * kMiB, kPage), 10000), KERN_RESOURCE_SHORTAGE);
  EXPECT_EQ(pager.requests(), asked) << "the refused copy asked the pager";
  // The first one ends (mapped): its share comes back.
  ASSERT_TRUE(pager.answer());
  EXPECT_EQ(reap_within(first, 20000), 0);
  EXPECT_EQ(reap_within(spawn_copy_task(pager.name(), 2 * kMiB, kPage), 20000), 0);

  // A task killed while its copy waits on a pager that never answers.
  ASSERT_TRUE(pager.hold());
  const long before = pager.requests();
  const pid_t killed = spawn_copy_task(pager.name(), 0, kMiB);
  ASSERT_GT(killed, 0);
  ASSERT_TRUE(pager.await_requests_above(before)) << "the copy never asked the pager";
  kill(killed, SIGKILL);
  EXPECT_EQ(wait_exit(killed), 128 + SIGKILL);
  // Until machd has seen that task end, another copy may still be refused;
  // once it has, the next one is made (it asks the pager for its page).
  pid_t next = -1;
  bool admitted = false;
  for (int attempt = 0; attempt < 100 && !admitted; ++attempt) {
    const long seen = pager.requests();
    next = spawn_copy_task(pager.name(), 4 * kMiB, kPage);
    ASSERT_GT(next, 0);
    int code = -1;
    for (int i = 0; i < 1000 && code < 0 && !admitted; ++i) {
      admitted = pager.requests() > seen;
      if (!admitted) code = wait_exit_for(next, 10);
    }
    if (admitted) break;
    ASSERT_EQ(code, KERN_RESOURCE_SHORTAGE) << "attempt " << attempt;
    usleep(100000);
  }
  ASSERT_TRUE(admitted) << "the killed task's share never came back";
  ASSERT_TRUE(pager.answer());
  EXPECT_EQ(reap_within(next, 20000), 0);
  EXPECT_EQ(pager.quit(), 0);
}

// A vm_read waiting on a pager for the pages of a task ends when that task
// ends, not at the pager's timeout: its memory is gone. (A private machd
// whose pagers may take 600 s; the read must answer well before.)
TEST_F(PagerTest, AVmReadWaitingOnATasksPagesEndsWithTheTaskNotAtThePagersTimeout) {
  SmallEagerCopyBudget machd;
  ASSERT_TRUE(machd.start());
  PagerTask& pager = machd.pager;
  ASSERT_TRUE(pager.hold());
  ObjectHolder holder;
  ASSERT_TRUE(holder.start(pager.name()));
  const long before = pager.requests();
  int answer = -1;
  const pid_t reader = holder.spawn_reader(&answer);
  ASSERT_GT(reader, 0);
  ASSERT_TRUE(pager.await_requests_above(before)) << "the read never asked the pager";
  holder.kill_now();
  const std::string kr = read_line(answer, 60000);
  close(answer);
  ASSERT_FALSE(kr.empty()) << "the read still waited a minute after the task it reads had ended";
  EXPECT_EQ(std::stoi(kr), KERN_INVALID_ARGUMENT);  // the task port names no task now
  EXPECT_EQ(reap_within(reader, 5000), 0);
}

// fork draws on the same budget: while another task's snapshot holds all of
// it, a fork's snapshot of a range inherited COPY is left out of the child
// (as one past the bound per request is), and once that copy has ended the
// next fork's child has the range, as it was.
TEST_F(PagerTest, AForkedChildLacksARangeInheritedCopyWhileItsUserHasNoEagerCopyBudgetLeft) {
  SmallEagerCopyBudget machd;
  ASSERT_TRUE(machd.start());
  PagerTask& pager = machd.pager;
  ASSERT_TRUE(pager.answer());
  const std::string name = pager.name();
  int go[2], report[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(report), 0);
  // A task with 8 pages inherited COPY (resident) that forks at each byte
  // on `go` and reports how its child found the range: 10 nothing there,
  // 11 the pager's bytes in a copy, 12 the object itself, 13 other bytes.
  const pid_t forker = spawn_task([&]() -> int {
    close(go[1]);
    close(report[0]);
    mach_port_t obj = look_up(name);
    if (!MACH_PORT_VALID(obj)) return 2;
    volatile uint8_t* p = map_inherited(obj, 8 * kPage, VM_INHERIT_COPY);
    if (p == nullptr || p[0] != pattern(0, 1) || p[7 * kPage] != pattern(7 * kPage, 1)) return 3;
    const unsigned long object_inode = inode_mapped_at(uintptr_t(p));
    dprintf(report[1], "ready\n");
    char c;
    while (read(go[0], &c, 1) == 1) {
      const pid_t child = fork();
      if (child == 0) {
        const unsigned long inode = inode_mapped_at(uintptr_t(p));
        if (inode == 0) _exit(10);
        if (inode == object_inode) _exit(12);
        for (uint64_t off = 0; off < 8 * kPage; off += 97)
          if (p[off] != pattern(off, 1)) _exit(13);
        _exit(11);
      }
      int status = 0;
      if (child < 0 || waitpid(child, &status, 0) != child) return 4;
      dprintf(report[1], "%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    return 0;
  });
  close(go[0]);
  close(report[1]);
  ASSERT_GT(forker, 0);
  ASSERT_EQ(read_line(report[0], 10000), "ready");

  // Another task's 1 MiB snapshot waits on the pager: the budget is all taken.
  ASSERT_TRUE(pager.hold());
  const long before = pager.requests();
  const pid_t copier = spawn_copy_task(name, 2 * kMiB, kMiB);
  ASSERT_GT(copier, 0);
  ASSERT_TRUE(pager.await_requests_above(before)) << "the copy never asked the pager";
  ASSERT_EQ(write(go[1], "f", 1), 1);
  EXPECT_EQ(read_line(report[0], 10000), "10") << "the child has the range though the user's budget was taken";
  // That copy ends: the next fork's child has its copy.
  ASSERT_TRUE(pager.answer());
  EXPECT_EQ(reap_within(copier, 20000), 0);
  ASSERT_EQ(write(go[1], "f", 1), 1);
  EXPECT_EQ(read_line(report[0], 10000), "11");
  close(go[1]);
  EXPECT_EQ(reap_within(forker, 10000), 0);
  close(report[0]);
  EXPECT_EQ(pager.quit(), 0);
}
