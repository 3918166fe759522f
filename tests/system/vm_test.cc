// tests/system/vm_test.cc — address spaces of any task: the calls the library
// serves for the task itself (allocate, deallocate, protect, inherit: XNU's
// argument checks and answers), the calls machd serves on any task's map
// (read, read_overwrite, write, copy, region, region_recurse), a controller
// acting on a forked worker's memory, and inheritance across fork().
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <mach/vm_map.h>
#include <mach/host_priv.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support.h"

using namespace systest;

namespace {

const mach_vm_size_t kPage = mach_vm_size_t(sysconf(_SC_PAGESIZE));

// A worker task forked from this one, its task port held here, parked until
// release(): memory the worker allocated before fork is at the same address
// in both, with the worker's own contents.
class Worker {
 public:
  // `setup` runs in the worker before it hands over its task port; after
  // release() `check` runs there and its result is the worker's exit code.
  Worker(std::function<void()> setup, std::function<int()> check = [] { return 0; }) {
    std::string name = check_in_unique("vm-controller", &port_);
    if (pipe(go_) != 0) ADD_FAILURE() << "pipe";
    pid_ = spawn_task([&, name]() -> int {
      close(go_[1]);
      setup();
      mach_port_t controller = look_up(name);
      if (send_right(controller, mach_task_self(), MACH_MSG_TYPE_COPY_SEND) != MACH_MSG_SUCCESS) return 90;
      char c;
      if (read(go_[0], &c, 1) != 1) return 91;
      return check();
    });
    close(go_[0]);
    task_ = receive_right(port_);
    EXPECT_NE(task_, MACH_PORT_NULL);
  }
  ~Worker() {
    if (!released_) release();
    if (task_ != MACH_PORT_NULL) mach_port_deallocate(mach_task_self(), task_);
    mach_port_mod_refs(mach_task_self(), port_, MACH_PORT_RIGHT_RECEIVE, -1);
  }
  mach_port_t task() const { return task_; }
  pid_t pid() const { return pid_; }
  // Lets the worker run its check; returns its exit code.
  int release() {
    released_ = true;
    char c = 'g';
    if (write(go_[1], &c, 1) != 1) ADD_FAILURE() << "write";
    close(go_[1]);
    return reap_within(pid_, 10000);
  }

 private:
  mach_port_t port_ = MACH_PORT_NULL, task_ = MACH_PORT_NULL;
  int go_[2] = {-1, -1};
  pid_t pid_ = -1;
  bool released_ = false;
};

mach_vm_address_t alloc(mach_vm_size_t size) {
  mach_vm_address_t a = 0;
  EXPECT_EQ(mach_vm_allocate(mach_task_self(), &a, size, VM_FLAGS_ANYWHERE), KERN_SUCCESS);
  return a;
}

vm_region_basic_info_data_64_t basic_info(mach_port_t task, mach_vm_address_t* addr, mach_vm_size_t* size,
                                          kern_return_t* kr_out = nullptr) {
  vm_region_basic_info_data_64_t info{};
  mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
  mach_port_t object = MACH_PORT_NULL;
  kern_return_t kr = mach_vm_region(task, addr, size, VM_REGION_BASIC_INFO_64, reinterpret_cast<vm_region_info_t>(&info),
                                    &count, &object);
  if (kr_out) *kr_out = kr;
  else EXPECT_EQ(kr, KERN_SUCCESS);
  return info;
}

bool mapped(mach_vm_address_t a, mach_vm_size_t n) {
  std::vector<unsigned char> v(n / kPage + 1);
  return mincore(reinterpret_cast<void*>(a), n, v.data()) == 0;
}

// Whether all `n` bytes at `a` in this process read back as `byte`; false
// where nothing readable is mapped (process_vm_readv of this process: no
// fault, whatever is or is not there).
bool holds_bytes(mach_vm_address_t a, mach_vm_size_t n, char byte) {
  std::vector<char> buf(n);
  iovec local{buf.data(), n}, remote{reinterpret_cast<void*>(a), n};
  if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != ssize_t(n)) return false;
  for (char c : buf)
    if (c != byte) return false;
  return true;
}

}  // namespace

// ---- the task itself: XNU's argument checks (vm_sanitize) -------------------

TEST(VmSelf, AllocateFixedAtUnalignedAddressRoundsDown) {
  mach_vm_address_t a = alloc(4 * kPage);
  ASSERT_EQ(mach_vm_deallocate(mach_task_self(), a, 4 * kPage), KERN_SUCCESS);
  mach_vm_address_t want = a + kPage + 123;
  EXPECT_EQ(mach_vm_allocate(mach_task_self(), &want, 100, VM_FLAGS_FIXED), KERN_SUCCESS);
  EXPECT_EQ(want, a + kPage);
  EXPECT_TRUE(mapped(a + kPage, kPage));
  EXPECT_EQ(mach_vm_deallocate(mach_task_self(), want, kPage), KERN_SUCCESS);
}

TEST(VmSelf, AllocateFixedAtAddressZeroIsInvalidAddress) {
  mach_vm_address_t a = 0;
  EXPECT_EQ(mach_vm_allocate(mach_task_self(), &a, kPage, VM_FLAGS_FIXED), KERN_INVALID_ADDRESS);
  vm_address_t b = 0;
  EXPECT_EQ(vm_allocate(mach_task_self(), &b, kPage, VM_FLAGS_FIXED), KERN_INVALID_ADDRESS);
}

TEST(VmSelf, ZeroSizeAllocationAnswersAddressZero) {
  mach_vm_address_t a = 0x123456000;
  EXPECT_EQ(mach_vm_allocate(mach_task_self(), &a, 0, VM_FLAGS_FIXED), KERN_SUCCESS);
  EXPECT_EQ(a, 0u);
  a = 0x123456000;
  EXPECT_EQ(mach_vm_allocate(mach_task_self(), &a, 0, VM_FLAGS_ANYWHERE), KERN_SUCCESS);
  EXPECT_EQ(a, 0u);
}

TEST(VmSelf, KernelOnlyAndIncompatibleFlagsAreInvalidArgument) {
  mach_vm_address_t a = 0;
  EXPECT_EQ(mach_vm_allocate(mach_task_self(), &a, kPage, VM_FLAGS_ANYWHERE | VM_FLAGS_RETURN_DATA_ADDR),
            KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mach_vm_allocate(mach_task_self(), &a, kPage, VM_FLAGS_ANYWHERE | 0x00000800 /* kernel-only bit */),
            KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mach_vm_allocate(mach_task_self(), &a, kPage, VM_FLAGS_ANYWHERE | VM_FLAGS_OVERWRITE),
            KERN_INVALID_ARGUMENT);
}

TEST(VmSelf, CallsOnANullMapFailAsAMessageToANullPort) {
  mach_vm_address_t a = 0;
  EXPECT_EQ(mach_vm_allocate(MACH_PORT_NULL, &a, kPage, VM_FLAGS_ANYWHERE), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(mach_vm_deallocate(MACH_PORT_NULL, 0x10000, kPage), MACH_SEND_INVALID_DEST);
  EXPECT_EQ(mach_vm_protect(MACH_PORT_NULL, 0x10000, kPage, FALSE, VM_PROT_READ), MACH_SEND_INVALID_DEST);
  vm_offset_t data = 0;
  mach_msg_type_number_t n = 0;
  EXPECT_EQ(mach_vm_read(MACH_PORT_NULL, 0x10000, kPage, &data, &n), MACH_SEND_INVALID_DEST);
}

TEST(VmSelf, ProtectWithWrappingRangeIsInvalidArgument) {
  EXPECT_EQ(mach_vm_protect(mach_task_self(), 0x1, ~mach_vm_size_t(0), FALSE, VM_PROT_READ), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mach_vm_protect(mach_task_self(), 0x1, 0, FALSE, VM_PROT_READ), KERN_SUCCESS);  // size 0: nothing
  EXPECT_EQ(mach_vm_protect(mach_task_self(), alloc(kPage), kPage, FALSE, 0x100 /* no such bit */),
            KERN_INVALID_ARGUMENT);
}

TEST(VmSelf, ProtectAboveTheMaximumIsProtectionFailure) {
  mach_vm_address_t a = alloc(2 * kPage);
  ASSERT_EQ(mach_vm_protect(mach_task_self(), a, kPage, TRUE, VM_PROT_READ), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_protect(mach_task_self(), a, kPage, FALSE, VM_PROT_READ | VM_PROT_WRITE), KERN_PROTECTION_FAILURE);
  EXPECT_EQ(mach_vm_protect(mach_task_self(), a, 2 * kPage, FALSE, VM_PROT_READ), KERN_SUCCESS);
  // Lowering the maximum lowered the current protection too.
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  vm_region_basic_info_data_64_t info = basic_info(mach_task_self(), &r, &s);
  EXPECT_EQ(info.protection, VM_PROT_READ);
  EXPECT_EQ(mach_vm_deallocate(mach_task_self(), a, 2 * kPage), KERN_SUCCESS);
}

TEST(VmSelf, ProtectOfUnmappedMemoryIsInvalidAddress) {
  mach_vm_address_t a = alloc(3 * kPage);
  ASSERT_EQ(mach_vm_deallocate(mach_task_self(), a + kPage, kPage), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_protect(mach_task_self(), a, 3 * kPage, FALSE, VM_PROT_READ), KERN_INVALID_ADDRESS);
  // Nothing changed before the hole: the first page is still writable.
  *reinterpret_cast<volatile char*>(a) = 1;
  mach_vm_deallocate(mach_task_self(), a, 3 * kPage);
}

TEST(VmSelf, ReadOfUnmappedMemoryIsInvalidAddress) {
  mach_vm_address_t a = alloc(kPage);
  ASSERT_EQ(mach_vm_deallocate(mach_task_self(), a, kPage), KERN_SUCCESS);
  vm_offset_t data = 0;
  mach_msg_type_number_t n = 0;
  EXPECT_EQ(mach_vm_read(mach_task_self(), a, kPage, &data, &n), KERN_INVALID_ADDRESS);
}

TEST(VmSelf, ProtectionErrorsAreProtectionFailure) {
  mach_vm_address_t a = alloc(kPage);
  ASSERT_EQ(mach_vm_protect(mach_task_self(), a, kPage, FALSE, VM_PROT_NONE), KERN_SUCCESS);
  vm_offset_t data = 0;
  mach_msg_type_number_t n = 0;
  EXPECT_EQ(mach_vm_read(mach_task_self(), a, kPage, &data, &n), KERN_PROTECTION_FAILURE);
  ASSERT_EQ(mach_vm_protect(mach_task_self(), a, kPage, FALSE, VM_PROT_READ), KERN_SUCCESS);
  char buf[64] = "x";
  EXPECT_EQ(mach_vm_write(mach_task_self(), a, vm_offset_t(buf), sizeof buf), KERN_PROTECTION_FAILURE);
  mach_vm_address_t unreadable = alloc(kPage);
  ASSERT_EQ(mach_vm_protect(mach_task_self(), unreadable, kPage, FALSE, VM_PROT_NONE), KERN_SUCCESS);
  mach_vm_address_t dst = alloc(kPage);
  EXPECT_EQ(mach_vm_write(mach_task_self(), dst, vm_offset_t(unreadable), mach_msg_type_number_t(kPage)),
            MACH_SEND_INVALID_MEMORY);
  for (mach_vm_address_t p : {a, unreadable, dst}) mach_vm_deallocate(mach_task_self(), p, kPage);
}

TEST(VmSelf, PermanentMemoryStaysWithNoAccessAfterDeallocateOrOverwrite) {
  mach_vm_address_t a = 0;
  ASSERT_EQ(mach_vm_allocate(mach_task_self(), &a, kPage, VM_FLAGS_ANYWHERE | VM_FLAGS_PERMANENT), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_deallocate(mach_task_self(), a, kPage), KERN_SUCCESS);
  EXPECT_TRUE(mapped(a, kPage));
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  vm_region_basic_info_data_64_t info = basic_info(mach_task_self(), &r, &s);
  EXPECT_EQ(r, a);
  EXPECT_EQ(info.protection, VM_PROT_NONE);
  EXPECT_EQ(mach_vm_protect(mach_task_self(), a, kPage, FALSE, VM_PROT_READ), KERN_PROTECTION_FAILURE);

  mach_vm_address_t b = 0;
  ASSERT_EQ(mach_vm_allocate(mach_task_self(), &b, kPage, VM_FLAGS_ANYWHERE | VM_FLAGS_PERMANENT), KERN_SUCCESS);
  mach_vm_address_t over = b;
  EXPECT_NE(mach_vm_allocate(mach_task_self(), &over, kPage, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE), KERN_SUCCESS);
  EXPECT_TRUE(mapped(b, kPage));
  EXPECT_EQ(mach_vm_protect(mach_task_self(), b, kPage, FALSE, VM_PROT_READ), KERN_PROTECTION_FAILURE);
}

// ---- a controller acting on a worker task's memory ------------------------------

TEST(VmRemote, ControllerReadsWritesAndCopiesInAWorker) {
  const mach_vm_size_t size = 4 * kPage;
  mach_vm_address_t a = alloc(size);
  memset(reinterpret_cast<void*>(a), 'c', size);  // the controller's copy
  Worker w(
      [&] { memset(reinterpret_cast<void*>(a), 'w', size); },
      [&] {
        const char* p = reinterpret_cast<const char*>(a);
        // The controller wrote "hello" at page 1 and copied page 1 to page 3.
        if (memcmp(p + kPage, "hello", 5) != 0) return 1;
        if (memcmp(p + 3 * kPage, "hello", 5) != 0) return 2;
        return p[0] == 'w' ? 0 : 3;
      });
  ASSERT_NE(w.task(), MACH_PORT_NULL);

  vm_offset_t data = 0;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(mach_vm_read(w.task(), a, size, &data, &n), KERN_SUCCESS);
  ASSERT_EQ(n, size);
  EXPECT_EQ(reinterpret_cast<char*>(data)[0], 'w');
  EXPECT_EQ(reinterpret_cast<char*>(data)[size - 1], 'w');
  mach_vm_deallocate(mach_task_self(), data, n);

  std::vector<char> local(kPage, 0);
  mach_vm_size_t out = 0;
  ASSERT_EQ(mach_vm_read_overwrite(w.task(), a + 10, 100, mach_vm_address_t(local.data()), &out), KERN_SUCCESS);
  EXPECT_EQ(out, 100u);
  EXPECT_EQ(local[0], 'w');
  EXPECT_EQ(local[99], 'w');
  EXPECT_EQ(local[100], 0);

  const char hello[] = "hello";
  ASSERT_EQ(mach_vm_write(w.task(), a + kPage, vm_offset_t(hello), sizeof hello), KERN_SUCCESS);
  ASSERT_EQ(mach_vm_copy(w.task(), a + kPage, kPage, a + 3 * kPage), KERN_SUCCESS);
  EXPECT_EQ(reinterpret_cast<char*>(a)[kPage], 'c');  // our own copy is untouched

  // Unmapped memory of the worker: XNU's answers.
  EXPECT_EQ(mach_vm_read(w.task(), 0x1000, kPage, &data, &n), KERN_INVALID_ADDRESS);
  EXPECT_EQ(mach_vm_write(w.task(), 0x1000, vm_offset_t(hello), sizeof hello), KERN_INVALID_ADDRESS);

  // The 32-bit-named forms reach the same routines.
  vm_offset_t d32 = 0;
  mach_msg_type_number_t n32 = 0;
  ASSERT_EQ(vm_read(w.task(), vm_address_t(a), 16, &d32, &n32), KERN_SUCCESS);
  EXPECT_EQ(reinterpret_cast<char*>(d32)[0], 'w');
  vm_deallocate(mach_task_self(), d32, n32);

  EXPECT_EQ(w.release(), 0);
  mach_vm_deallocate(mach_task_self(), a, size);
}

TEST(VmRemote, ReadListCopiesRangesOfAWorkerIntoTheCaller) {
  const mach_vm_size_t size = 4 * kPage;
  mach_vm_address_t a = alloc(size);
  Worker w([&] {
    memset(reinterpret_cast<void*>(a), 'w', size);
    strcpy(reinterpret_cast<char*>(a + kPage + 5), "second");
  });
  mach_vm_read_entry_t list{};
  list[0] = {a, 100};
  list[1] = {0, 0};  // empty: left alone
  list[2] = {a + kPage + 5, 7};
  ASSERT_EQ(mach_vm_read_list(w.task(), list, 3), KERN_SUCCESS);
  ASSERT_NE(list[0].address, 0u);
  EXPECT_NE(list[0].address, a);  // a copy in this task
  EXPECT_EQ(reinterpret_cast<char*>(list[0].address)[0], 'w');
  EXPECT_EQ(reinterpret_cast<char*>(list[0].address)[99], 'w');
  EXPECT_EQ(list[1].address, 0u);
  EXPECT_EQ(list[2].address % kPage, 5u);  // same offset in its page as the source
  EXPECT_STREQ(reinterpret_cast<char*>(list[2].address), "second");
  EXPECT_EQ(mach_vm_deallocate(mach_task_self(), list[0].address, 100), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_deallocate(mach_task_self(), list[2].address, 7), KERN_SUCCESS);

  mach_vm_read_entry_t bad{};
  bad[0] = {a, 10};
  bad[1] = {0x1000, 10};  // unmapped, and the last: its answer is the call's
  EXPECT_EQ(mach_vm_read_list(w.task(), bad, 2), KERN_INVALID_ADDRESS);
  EXPECT_EQ(mach_vm_read_list(w.task(), bad, VM_MAP_ENTRY_MAX + 1), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(w.release(), 0);
  mach_vm_deallocate(mach_task_self(), a, size);
}

TEST(VmRemote, RegionsOfAWorkerReportItsProtections) {
  const mach_vm_size_t size = 2 * kPage;
  mach_vm_address_t a = alloc(size);
  Worker w([&] { mach_vm_protect(mach_task_self(), a, kPage, FALSE, VM_PROT_READ); });
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  vm_region_basic_info_data_64_t info = basic_info(w.task(), &r, &s);
  EXPECT_EQ(r, a);
  EXPECT_EQ(info.protection, VM_PROT_READ);
  EXPECT_EQ(info.inheritance, VM_INHERIT_COPY);
  // Here the same page is still read-write.
  r = a;
  info = basic_info(mach_task_self(), &r, &s);
  EXPECT_EQ(info.protection, VM_PROT_READ | VM_PROT_WRITE);
  EXPECT_EQ(w.release(), 0);
  mach_vm_deallocate(mach_task_self(), a, size);
}

TEST(VmRemote, ControllerAllocatesProtectsAndDeallocatesInAWorkerThroughItsAgent) {
  Worker w([] {});
  mach_vm_address_t a = 0;
  ASSERT_EQ(mach_vm_allocate(w.task(), &a, 2 * kPage, VM_FLAGS_ANYWHERE), KERN_SUCCESS);
  ASSERT_NE(a, 0u);
  const char msg[] = "remote";
  ASSERT_EQ(mach_vm_write(w.task(), a, vm_offset_t(msg), sizeof msg), KERN_SUCCESS);
  char back[sizeof msg] = {};
  mach_vm_size_t out = 0;
  ASSERT_EQ(mach_vm_read_overwrite(w.task(), a, sizeof msg, mach_vm_address_t(back), &out), KERN_SUCCESS);
  EXPECT_STREQ(back, "remote");

  ASSERT_EQ(mach_vm_protect(w.task(), a, kPage, FALSE, VM_PROT_READ), KERN_SUCCESS);
  mach_vm_address_t r = a;
  mach_vm_size_t s = 0;
  EXPECT_EQ(basic_info(w.task(), &r, &s).protection, VM_PROT_READ);
  EXPECT_EQ(mach_vm_write(w.task(), a, vm_offset_t(msg), sizeof msg), KERN_PROTECTION_FAILURE);
  ASSERT_EQ(mach_vm_inherit(w.task(), a, 2 * kPage, VM_INHERIT_NONE), KERN_SUCCESS);
  r = a;
  EXPECT_EQ(basic_info(w.task(), &r, &s).inheritance, VM_INHERIT_NONE);

  ASSERT_EQ(mach_vm_deallocate(w.task(), a, 2 * kPage), KERN_SUCCESS);
  vm_offset_t data = 0;
  mach_msg_type_number_t n = 0;
  EXPECT_EQ(mach_vm_read(w.task(), a, kPage, &data, &n), KERN_INVALID_ADDRESS);
  EXPECT_EQ(mach_vm_protect(w.task(), a, kPage, FALSE, VM_PROT_READ), KERN_INVALID_ADDRESS);
  // FIXED where it was, then FIXED again without OVERWRITE: no space.
  mach_vm_address_t again = a;
  ASSERT_EQ(mach_vm_allocate(w.task(), &again, kPage, VM_FLAGS_FIXED), KERN_SUCCESS);
  EXPECT_EQ(again, a);
  EXPECT_EQ(mach_vm_allocate(w.task(), &again, kPage, VM_FLAGS_FIXED), KERN_NO_SPACE);
  // The same argument checks as for the task itself.
  EXPECT_EQ(mach_vm_allocate(w.task(), &again, kPage, VM_FLAGS_ANYWHERE | VM_FLAGS_OVERWRITE), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mach_vm_protect(w.task(), 0x1, ~mach_vm_size_t(0), FALSE, VM_PROT_READ), KERN_INVALID_ARGUMENT);
  mach_vm_address_t zero = 0x123000;
  EXPECT_EQ(mach_vm_allocate(w.task(), &zero, 0, VM_FLAGS_FIXED), KERN_SUCCESS);
  EXPECT_EQ(zero, 0u);
  EXPECT_EQ(w.release(), 0);
}

// A task stopped by SIGSTOP (job control, a debugger) cannot run its agent:
// a call that needs it waits until the task is continued, as a Mach kernel
// would do it at once, rather than fail at the agent's 2 s deadline as if
// the task were gone (kern/agent.h).
TEST(VmRemote, AllocateInAWorkerStoppedBySigstopCompletesOnceItContinues) {
  Worker w([] {});
  ASSERT_EQ(kill(w.pid(), SIGSTOP), 0);
  int status = 0;
  ASSERT_EQ(waitpid(w.pid(), &status, WUNTRACED), w.pid());
  ASSERT_TRUE(WIFSTOPPED(status));
  std::thread cont([&] {
    usleep(3000 * 1000);
    kill(w.pid(), SIGCONT);
  });
  const auto t0 = std::chrono::steady_clock::now();
  mach_vm_address_t a = 0;
  const kern_return_t kr = mach_vm_allocate(w.task(), &a, 2 * kPage, VM_FLAGS_ANYWHERE);
  const auto waited = std::chrono::steady_clock::now() - t0;
  cont.join();
  ASSERT_EQ(kr, KERN_SUCCESS) << mach_error_string(kr);
  EXPECT_GE(waited, std::chrono::milliseconds(2900)) << "it answered while the worker was stopped";
  const char msg[] = "continued";
  EXPECT_EQ(mach_vm_write(w.task(), a, vm_offset_t(msg), sizeof msg), KERN_SUCCESS);
  EXPECT_EQ(w.release(), 0);
}

TEST(VmRemote, WhatOnlyTheTaskItselfCanDoIsNotSupportedRemotely) {
  Worker w([] {});
  mach_vm_address_t a = 0;
  ASSERT_EQ(mach_vm_allocate(w.task(), &a, kPage, VM_FLAGS_ANYWHERE), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_protect(w.task(), a, kPage, TRUE, VM_PROT_READ), KERN_NOT_SUPPORTED);
  EXPECT_EQ(mach_vm_inherit(w.task(), a, kPage, VM_INHERIT_SHARE), KERN_NOT_SUPPORTED);
  // An alignment beyond a page would need the task to reserve the range.
  EXPECT_EQ(mach_vm_map(w.task(), &a, kPage, 0xFFFFF, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE, VM_PROT_DEFAULT,
                        VM_PROT_ALL, VM_INHERIT_DEFAULT),
            KERN_NOT_SUPPORTED);
  EXPECT_EQ(w.release(), 0);
}

// XNU vm_map on another task: anonymous memory (zero-filled, cur_protection),
// or a memory entry shared with every other mapping of it (copy=TRUE: a
// private copy); range and rights checked as for the task itself.
TEST(VmRemote, MapPutsAnonymousMemoryAndAMemoryEntryIntoAWorker) {
  const Holdings before = holdings();
  {
    Worker w([] {});
    mach_vm_address_t a = 0;
    ASSERT_EQ(mach_vm_map(w.task(), &a, 2 * kPage, 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE, VM_PROT_READ,
                          VM_PROT_ALL, VM_INHERIT_DEFAULT),
              KERN_SUCCESS);
    ASSERT_NE(a, 0u);
    mach_vm_address_t r = a;
    mach_vm_size_t s = 0;
    EXPECT_EQ(basic_info(w.task(), &r, &s).protection, VM_PROT_READ);
    char zero[8] = {1};
    mach_vm_size_t out = 0;
    ASSERT_EQ(mach_vm_read_overwrite(w.task(), a, sizeof zero, mach_vm_address_t(zero), &out), KERN_SUCCESS);
    EXPECT_EQ(zero[0], 0);
    ASSERT_EQ(mach_vm_deallocate(w.task(), a, 2 * kPage), KERN_SUCCESS);

    // A named entry, mapped here and in the worker: one set of pages.
    memory_object_size_t size = kPage;
    mach_port_t entry = MACH_PORT_NULL;
    ASSERT_EQ(mach_make_memory_entry_64(mach_task_self(), &size, 0, MAP_MEM_NAMED_CREATE | VM_PROT_DEFAULT, &entry,
                                        MACH_PORT_NULL),
              KERN_SUCCESS);
    mach_vm_address_t mine = 0;
    ASSERT_EQ(mach_vm_map(mach_task_self(), &mine, kPage, 0, VM_FLAGS_ANYWHERE, entry, 0, FALSE, VM_PROT_DEFAULT,
                          VM_PROT_DEFAULT, VM_INHERIT_DEFAULT),
              KERN_SUCCESS);
    strcpy(reinterpret_cast<char*>(mine), "shared");
    mach_vm_address_t theirs = 0;
    ASSERT_EQ(mach_vm_map(w.task(), &theirs, kPage, 0, VM_FLAGS_ANYWHERE, entry, 0, FALSE, VM_PROT_DEFAULT,
                          VM_PROT_DEFAULT, VM_INHERIT_DEFAULT),
              KERN_SUCCESS);
    char back[8] = {};
    ASSERT_EQ(mach_vm_read_overwrite(w.task(), theirs, 7, mach_vm_address_t(back), &out), KERN_SUCCESS);
    EXPECT_STREQ(back, "shared");
    ASSERT_EQ(mach_vm_write(w.task(), theirs, vm_offset_t("worker"), 7), KERN_SUCCESS);
    EXPECT_STREQ(reinterpret_cast<char*>(mine), "worker") << "the worker's write is seen here";

    mach_vm_address_t copy = 0;
    ASSERT_EQ(mach_vm_map(w.task(), &copy, kPage, 0, VM_FLAGS_ANYWHERE, entry, 0, TRUE, VM_PROT_DEFAULT,
                          VM_PROT_DEFAULT, VM_INHERIT_DEFAULT),
              KERN_SUCCESS);
    ASSERT_EQ(mach_vm_write(w.task(), copy, vm_offset_t("copied"), 7), KERN_SUCCESS);
    EXPECT_STREQ(reinterpret_cast<char*>(mine), "worker") << "a copy's write stays in the copy";

    // Checks: beyond the entry, zero size, a foreign port.
    mach_vm_address_t bad = 0;
    EXPECT_EQ(mach_vm_map(w.task(), &bad, 2 * kPage, 0, VM_FLAGS_ANYWHERE, entry, 0, FALSE, VM_PROT_DEFAULT,
                          VM_PROT_DEFAULT, VM_INHERIT_DEFAULT),
              KERN_INVALID_ARGUMENT);
    EXPECT_EQ(mach_vm_map(w.task(), &bad, 0, 0, VM_FLAGS_ANYWHERE, MACH_PORT_NULL, 0, FALSE, VM_PROT_DEFAULT,
                          VM_PROT_DEFAULT, VM_INHERIT_DEFAULT),
              KERN_INVALID_ARGUMENT);
    EXPECT_EQ(mach_vm_map(w.task(), &bad, kPage, 0, VM_FLAGS_ANYWHERE, w.task(), 0, FALSE, VM_PROT_DEFAULT,
                          VM_PROT_DEFAULT, VM_INHERIT_DEFAULT),
              KERN_INVALID_ARGUMENT);
    mach_port_urefs_t refs = 0;
    ASSERT_EQ(mach_port_get_refs(mach_task_self(), entry, MACH_PORT_RIGHT_SEND, &refs), KERN_SUCCESS);
    EXPECT_EQ(refs, 1u) << "the caller's right is copied (COPY_SEND), machd drops its copy";
    mach_vm_deallocate(mach_task_self(), mine, kPage);
    mach_port_deallocate(mach_task_self(), entry);
    EXPECT_EQ(w.release(), 0);
  }
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  const Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.memfd_payloads, before.memfd_payloads);
}

// ---- vm_region flavors --------------------------------------------------------------

TEST(VmRegion, FlavorsReportProtectionInheritanceAndShareMode) {
  const mach_vm_size_t size = 2 * kPage;
  mach_vm_address_t a = alloc(size);
  memset(reinterpret_cast<void*>(a), 1, size);
  ASSERT_EQ(mach_vm_protect(mach_task_self(), a, size, FALSE, VM_PROT_READ), KERN_SUCCESS);
  ASSERT_EQ(mach_vm_inherit(mach_task_self(), a, size, VM_INHERIT_NONE), KERN_SUCCESS);

  mach_vm_address_t r = a - 1;  // below it (if nothing is there), or in the entry before
  mach_vm_size_t s = 0;
  r = a;
  vm_region_basic_info_data_64_t b = basic_info(mach_task_self(), &r, &s);
  EXPECT_EQ(r, a);
  EXPECT_GE(s, size);
  EXPECT_EQ(b.protection, VM_PROT_READ);
  EXPECT_EQ(b.max_protection & VM_PROT_READ, VM_PROT_READ);
  EXPECT_EQ(b.inheritance, VM_INHERIT_NONE);
  EXPECT_FALSE(b.shared);

  vm_region_extended_info_data_t x{};
  mach_msg_type_number_t count = VM_REGION_EXTENDED_INFO_COUNT;
  mach_port_t obj = MACH_PORT_NULL;
  r = a;
  ASSERT_EQ(mach_vm_region(mach_task_self(), &r, &s, VM_REGION_EXTENDED_INFO, vm_region_info_t(&x), &count, &obj),
            KERN_SUCCESS);
  EXPECT_EQ(count, VM_REGION_EXTENDED_INFO_COUNT);
  EXPECT_EQ(x.protection, VM_PROT_READ);
  EXPECT_EQ(x.share_mode, SM_PRIVATE);
  EXPECT_GE(x.pages_resident, 2u);

  vm_region_top_info_data_t t{};
  count = VM_REGION_TOP_INFO_COUNT;
  r = a;
  ASSERT_EQ(mach_vm_region(mach_task_self(), &r, &s, VM_REGION_TOP_INFO, vm_region_info_t(&t), &count, &obj),
            KERN_SUCCESS);
  EXPECT_EQ(t.share_mode, SM_PRIVATE);
  EXPECT_GE(t.private_pages_resident, 2u);

  vm_region_basic_info_data_t b32{};
  count = VM_REGION_BASIC_INFO_COUNT;
  r = a;
  ASSERT_EQ(mach_vm_region(mach_task_self(), &r, &s, VM_REGION_BASIC_INFO, vm_region_info_t(&b32), &count, &obj),
            KERN_SUCCESS);
  EXPECT_EQ(b32.protection, VM_PROT_READ);

  // A count too small, an unknown flavor: invalid argument.
  count = 1;
  EXPECT_EQ(mach_vm_region(mach_task_self(), &r, &s, VM_REGION_BASIC_INFO_64, vm_region_info_t(&b), &count, &obj),
            KERN_INVALID_ARGUMENT);
  count = VM_REGION_BASIC_INFO_COUNT_64;
  EXPECT_EQ(mach_vm_region(mach_task_self(), &r, &s, 777, vm_region_info_t(&b), &count, &obj), KERN_INVALID_ARGUMENT);
  // Nothing at or above the top of the address space.
  r = 0x7ffffffff000ull;
  count = VM_REGION_BASIC_INFO_COUNT_64;
  kern_return_t kr = KERN_SUCCESS;
  mach_vm_address_t top = ~mach_vm_address_t(0) - kPage;
  basic_info(mach_task_self(), &top, &s, &kr);
  EXPECT_EQ(kr, KERN_INVALID_ADDRESS);

  // region_recurse: no submaps, depth 0.
  vm_region_submap_info_data_64_t sub{};
  natural_t depth = 0;
  count = VM_REGION_SUBMAP_INFO_COUNT_64;
  r = a;
  ASSERT_EQ(mach_vm_region_recurse(mach_task_self(), &r, &s, &depth, vm_region_recurse_info_t(&sub), &count),
            KERN_SUCCESS);
  EXPECT_EQ(r, a);
  EXPECT_EQ(depth, 0u);
  EXPECT_FALSE(sub.is_submap);
  EXPECT_EQ(sub.protection, VM_PROT_READ);
  EXPECT_EQ(sub.inheritance, VM_INHERIT_NONE);
  vm_region_submap_short_info_data_64_t shortinfo{};
  count = VM_REGION_SUBMAP_SHORT_INFO_COUNT_64;
  r = a;
  ASSERT_EQ(mach_vm_region_recurse(mach_task_self(), &r, &s, &depth, vm_region_recurse_info_t(&shortinfo), &count),
            KERN_SUCCESS);
  EXPECT_EQ(count, VM_REGION_SUBMAP_SHORT_INFO_COUNT_64);
  EXPECT_EQ(shortinfo.protection, VM_PROT_READ);

  mach_vm_deallocate(mach_task_self(), a, size);
}

// ---- inheritance across fork() --------------------------------------------------------

namespace {

// Allocates `size` bytes (small: anonymous; large: memfd-backed) set to 'p'
// with inheritance `inh`.
mach_vm_address_t inheriting(mach_vm_size_t size, vm_inherit_t inh) {
  mach_vm_address_t a = alloc(size);
  memset(reinterpret_cast<void*>(a), 'p', size);
  EXPECT_EQ(mach_vm_inherit(mach_task_self(), a, size, inh), KERN_SUCCESS);
  return a;
}

void check_inheritance(mach_vm_size_t size) {
  mach_vm_address_t share = inheriting(size, VM_INHERIT_SHARE);
  mach_vm_address_t copy = inheriting(size, VM_INHERIT_COPY);
  mach_vm_address_t none = inheriting(size, VM_INHERIT_NONE);
  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  pid_t pid = spawn_task([&]() -> int {
    char c;
    // NONE: not there. (Whatever the child maps after fork may land in the
    // hole, so the test is for the parent's bytes, not for a mapping.)
    if (holds_bytes(none, size, 'p')) return 1;
    if (reinterpret_cast<char*>(copy)[0] != 'p') return 2;             // COPY: the contents at fork
    reinterpret_cast<char*>(share)[size - 1] = 'k';                    // SHARE: the parent sees this
    reinterpret_cast<char*>(copy)[1] = 'k';                            // COPY: the parent does not
    if (write(to_parent[1], "1", 1) != 1) return 3;
    if (read(to_child[0], &c, 1) != 1) return 4;
    if (reinterpret_cast<char*>(share)[0] != 'P') return 5;            // and we see the parent's
    if (reinterpret_cast<char*>(copy)[0] != 'p') return 6;             // but not on COPY
    return 0;
  });
  // (Only the child's ends of the pipes stay open in it: a child that
  // fails early ends this read.)
  close(to_parent[1]);
  close(to_child[0]);
  char c;
  ASSERT_EQ(read(to_parent[0], &c, 1), 1) << "the child exited with " << wait_exit(pid);
  EXPECT_EQ(reinterpret_cast<char*>(share)[size - 1], 'k');
  EXPECT_EQ(reinterpret_cast<char*>(copy)[1], 'p');
  reinterpret_cast<char*>(share)[0] = 'P';
  reinterpret_cast<char*>(copy)[0] = 'P';
  ASSERT_EQ(write(to_child[1], "1", 1), 1);
  EXPECT_EQ(wait_exit(pid), 0);
  EXPECT_TRUE(mapped(none, size));
  // What machd reports for each.
  for (auto [addr, inh] : {std::pair{share, VM_INHERIT_SHARE}, {copy, VM_INHERIT_COPY}, {none, VM_INHERIT_NONE}}) {
    mach_vm_address_t r = addr;
    mach_vm_size_t s = 0;
    EXPECT_EQ(basic_info(mach_task_self(), &r, &s).inheritance, inh) << "inheritance " << inh;
  }
  for (int fd : {to_child[1], to_parent[0]}) close(fd);
  for (mach_vm_address_t a : {share, copy, none}) mach_vm_deallocate(mach_task_self(), a, size);
}

}  // namespace

TEST(VmInherit, ShareCopyAndNoneAcrossForkForAnonymousMemory) { check_inheritance(4 * kPage); }

TEST(VmInherit, ShareCopyAndNoneAcrossForkForMemfdBackedMemory) { check_inheritance(1 << 20); }

TEST(VmInherit, InvalidInheritanceIsInvalidArgument) {
  mach_vm_address_t a = alloc(kPage);
  EXPECT_EQ(mach_vm_inherit(mach_task_self(), a, kPage, VM_INHERIT_DONATE_COPY), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mach_vm_inherit(mach_task_self(), a, kPage, 42), KERN_INVALID_ARGUMENT);
  mach_vm_deallocate(mach_task_self(), a, kPage);
}

TEST(VmLeaks, CallsOnTasksLeaveNothingBehindInMachd) {
  Holdings before = holdings();
  {
    mach_vm_address_t a = alloc(kPage);
    Worker w([] {});
    vm_offset_t data = 0;
    mach_msg_type_number_t n = 0;
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(mach_vm_read(w.task(), a, kPage, &data, &n), KERN_SUCCESS);
      mach_vm_deallocate(mach_task_self(), data, n);
      mach_vm_address_t r = a;
      mach_vm_size_t s = 0;
      basic_info(w.task(), &r, &s);
    }
    EXPECT_EQ(w.release(), 0);
    mach_vm_deallocate(mach_task_self(), a, kPage);
  }
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
  EXPECT_EQ(after.ool_payloads, before.ool_payloads);
  EXPECT_EQ(after.memfd_payloads, before.memfd_payloads);
}

// ---- behavior_set and msync (machd, through the task's agent) ----------------------

TEST(VmAdvice, BehaviorSetChecksItsArgumentsAndZeroEmptiesPrivatePages) {
  mach_vm_address_t a = alloc(2 * kPage);
  memset(reinterpret_cast<void*>(a), 'x', 2 * kPage);
  EXPECT_EQ(mach_vm_behavior_set(mach_task_self(), a, 2 * kPage, VM_BEHAVIOR_SEQUENTIAL), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_behavior_set(mach_task_self(), a, 2 * kPage, 99), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mach_vm_behavior_set(mach_task_self(), a, ~mach_vm_size_t(0), VM_BEHAVIOR_DEFAULT), KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mach_vm_behavior_set(mach_task_self(), a, kPage, VM_BEHAVIOR_ZERO), KERN_SUCCESS);
  EXPECT_EQ(reinterpret_cast<char*>(a)[0], 0);
  EXPECT_EQ(reinterpret_cast<char*>(a)[kPage], 'x');
  ASSERT_EQ(mach_vm_deallocate(mach_task_self(), a + kPage, kPage), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_behavior_set(mach_task_self(), a, 2 * kPage, VM_BEHAVIOR_WILLNEED), KERN_INVALID_ADDRESS);
  mach_vm_deallocate(mach_task_self(), a, kPage);
}

TEST(VmAdvice, MsyncAnswersAsXnu) {
  mach_vm_address_t a = alloc(3 * kPage);
  memset(reinterpret_cast<void*>(a), 'x', 3 * kPage);
  EXPECT_EQ(mach_vm_msync(mach_task_self(), a, 3 * kPage, VM_SYNC_SYNCHRONOUS), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_msync(mach_task_self(), a, 3 * kPage, VM_SYNC_SYNCHRONOUS | VM_SYNC_ASYNCHRONOUS),
            KERN_INVALID_ARGUMENT);
  EXPECT_EQ(mach_vm_msync(mach_task_self(), a, kPage, VM_SYNC_KILLPAGES), KERN_SUCCESS);
  EXPECT_EQ(reinterpret_cast<char*>(a)[0], 0);
  ASSERT_EQ(mach_vm_deallocate(mach_task_self(), a + kPage, kPage), KERN_SUCCESS);
  EXPECT_EQ(mach_vm_msync(mach_task_self(), a, 3 * kPage, VM_SYNC_ASYNCHRONOUS | VM_SYNC_CONTIGUOUS),
            KERN_INVALID_ADDRESS);
  EXPECT_EQ(mach_vm_msync(mach_task_self(), a, 3 * kPage, VM_SYNC_ASYNCHRONOUS), KERN_SUCCESS);
  mach_vm_deallocate(mach_task_self(), a, 3 * kPage);
}

TEST(VmAdvice, BehaviorSetReachesAnotherTask) {
  const mach_vm_size_t size = 2 * kPage;
  mach_vm_address_t a = alloc(size);
  Worker w([&] { memset(reinterpret_cast<void*>(a), 'w', size); },
           [&] { return reinterpret_cast<char*>(a)[0] == 0 && reinterpret_cast<char*>(a)[kPage] == 'w' ? 0 : 1; });
  EXPECT_EQ(mach_vm_behavior_set(w.task(), a, kPage, VM_BEHAVIOR_ZERO), KERN_SUCCESS);
  EXPECT_EQ(w.release(), 0);
  mach_vm_deallocate(mach_task_self(), a, size);
}

// ---- remap ------------------------------------------------------------------------------

TEST(VmRemap, ShareSeesWritesAndCopyIsASnapshot) {
  const mach_vm_size_t big = 1 << 20;  // memfd-backed: shareable
  mach_vm_address_t a = alloc(big);
  strcpy(reinterpret_cast<char*>(a), "before");
  mach_vm_address_t shared = 0, copied = 0;
  vm_prot_t cur = 0, max = 0;
  ASSERT_EQ(mach_vm_remap(mach_task_self(), &shared, big, 0, VM_FLAGS_ANYWHERE, mach_task_self(), a, FALSE, &cur, &max,
                          VM_INHERIT_DEFAULT),
            KERN_SUCCESS);
  EXPECT_EQ(cur, VM_PROT_READ | VM_PROT_WRITE);
  ASSERT_EQ(mach_vm_remap(mach_task_self(), &copied, kPage, 0, VM_FLAGS_ANYWHERE, mach_task_self(), a, TRUE, &cur,
                          &max, VM_INHERIT_DEFAULT),
            KERN_SUCCESS);
  EXPECT_NE(shared, a);
  EXPECT_STREQ(reinterpret_cast<char*>(shared), "before");
  EXPECT_STREQ(reinterpret_cast<char*>(copied), "before");
  strcpy(reinterpret_cast<char*>(a), "after");
  EXPECT_STREQ(reinterpret_cast<char*>(shared), "after");
  EXPECT_STREQ(reinterpret_cast<char*>(copied), "before");
  strcpy(reinterpret_cast<char*>(shared) + 100, "back");
  EXPECT_STREQ(reinterpret_cast<char*>(a) + 100, "back");

  mach_vm_address_t small = alloc(kPage), t = 0;
  EXPECT_EQ(mach_vm_remap(mach_task_self(), &t, kPage, 0, VM_FLAGS_ANYWHERE, mach_task_self(), small, FALSE, &cur,
                          &max, VM_INHERIT_DEFAULT),
            KERN_NOT_SUPPORTED);  // private memory: the task would have to remap it first
  EXPECT_EQ(mach_vm_remap(mach_task_self(), &t, kPage, 0, VM_FLAGS_ANYWHERE, mach_task_self(), 0x1000, TRUE, &cur,
                          &max, VM_INHERIT_DEFAULT),
            KERN_INVALID_ADDRESS);
  for (auto [p, n] : {std::pair{a, big}, {shared, big}, {copied, kPage}, {small, kPage}})
    mach_vm_deallocate(mach_task_self(), p, n);
}

TEST(VmRemap, CopyFromAWorkerIntoTheController) {
  mach_vm_address_t a = alloc(kPage);
  Worker w([&] { strcpy(reinterpret_cast<char*>(a), "worker"); });
  mach_vm_address_t t = 0;
  vm_prot_t cur = 0, max = 0;
  ASSERT_EQ(mach_vm_remap(mach_task_self(), &t, kPage, 0, VM_FLAGS_ANYWHERE, w.task(), a, TRUE, &cur, &max,
                          VM_INHERIT_DEFAULT),
            KERN_SUCCESS);
  EXPECT_STREQ(reinterpret_cast<char*>(t), "worker");
  EXPECT_EQ(w.release(), 0);
  mach_vm_deallocate(mach_task_self(), t, kPage);
  mach_vm_deallocate(mach_task_self(), a, kPage);
}

// ---- wiring ---------------------------------------------------------------------------

namespace {

// The worker's locked memory (VmLck, kB) as Linux reports it.
long locked_kb(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/status";
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return -1;
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmLck: %ld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}

// Leaves the calling process (every thread: the agent locks) with a lock
// limit of `bytes` and, by becoming nobody, without CAP_IPC_LOCK, so the
// limit applies. False if it cannot.
bool limit_locking(rlim_t bytes) {
  rlimit rl{bytes, bytes};
  return setrlimit(RLIMIT_MEMLOCK, &rl) == 0 && setresgid(65534, 65534, 65534) == 0 &&
         setresuid(65534, 65534, 65534) == 0;
}

// Whether this system lets a plain process, limited as the worker is, lock
// four pages (some container runtimes refuse): 0 if it does, else the errno.
int locking_refused(rlim_t limit) {
  pid_t pid = fork();
  if (pid == 0) {
    if (!limit_locking(limit)) _exit(EPERM);
    void* p = mmap(nullptr, 4 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    _exit(p != MAP_FAILED && mlock(p, 4 * kPage) == 0 ? 0 : errno);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}

}  // namespace

// XNU vm_wire / mach_vm_wire: access != NONE wires the range in the target
// task, NONE unwires it; a range that cannot be wired is
// KERN_RESOURCE_SHORTAGE; host name port KERN_INVALID_HOST, a non-task
// KERN_INVALID_TASK, a hole KERN_INVALID_ADDRESS, a bad access
// KERN_INVALID_ARGUMENT. task_wire is obsolete: KERN_NOT_SUPPORTED.
TEST(VmWire, WireLocksAWorkersRangeWithinItsLimitAndUnwireUnlocks) {
  SKIP_UNLESS_ROOT();  // vm_wire takes host_priv
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer makes mlock a no-op in the programs it builds, so wiring cannot be shown";
#endif
  const Holdings before = holdings();
  {
    const rlim_t limit = rlim_t(8 * kPage);
    if (int e = locking_refused(limit))
      GTEST_SKIP() << "this system refuses mlock of 4 pages to a process limited to 8 (" << strerror(e)
                   << "), so wiring cannot be shown here";
    Worker w([limit] {
      if (!limit_locking(limit)) _exit(3);
    });
    mach_port_t priv = mach_host_self(), name = MACH_PORT_NULL;
    ASSERT_EQ(host_get_special_port(priv, HOST_LOCAL_NODE, HOST_PORT, &name), KERN_SUCCESS);
    mach_vm_address_t a = 0;
    ASSERT_EQ(mach_vm_allocate(w.task(), &a, 32 * kPage, VM_FLAGS_ANYWHERE), KERN_SUCCESS);
    const long base = locked_kb(w.pid());
    ASSERT_GE(base, 0);

    ASSERT_EQ(mach_vm_wire(priv, w.task(), a, 4 * kPage, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);
    EXPECT_EQ(locked_kb(w.pid()) - base, long(4 * kPage / 1024));
    ASSERT_EQ(vm_wire(priv, w.task(), vm_address_t(a), vm_size_t(4 * kPage), VM_PROT_NONE), KERN_SUCCESS);
    EXPECT_EQ(locked_kb(w.pid()), base);
    EXPECT_EQ(mach_vm_wire(priv, w.task(), a, 32 * kPage, VM_PROT_READ), KERN_RESOURCE_SHORTAGE)
        << "beyond the worker's RLIMIT_MEMLOCK";
    EXPECT_EQ(mach_vm_wire(priv, w.task(), a, 0, VM_PROT_READ), KERN_SUCCESS);

    EXPECT_EQ(mach_vm_wire(name, w.task(), a, kPage, VM_PROT_READ), KERN_INVALID_HOST);
    EXPECT_EQ(mach_vm_wire(priv, priv, a, kPage, VM_PROT_READ), KERN_INVALID_TASK);
    EXPECT_EQ(mach_vm_wire(priv, w.task(), a, kPage, 0x100), KERN_INVALID_ARGUMENT);
    ASSERT_EQ(mach_vm_deallocate(w.task(), a, 32 * kPage), KERN_SUCCESS);
    EXPECT_EQ(mach_vm_wire(priv, w.task(), a, kPage, VM_PROT_READ), KERN_INVALID_ADDRESS);

    EXPECT_EQ(task_wire(w.task(), TRUE), KERN_NOT_SUPPORTED);
    EXPECT_EQ(task_wire(priv, TRUE), KERN_INVALID_ARGUMENT);
    mach_port_deallocate(mach_task_self(), name);
    mach_port_deallocate(mach_task_self(), priv);
    EXPECT_EQ(w.release(), 0);
  }
  ASSERT_TRUE(wait_for_tasks(before.tasks));
  const Holdings after = holdings();
  EXPECT_EQ(after.ports, before.ports);
  EXPECT_EQ(after.messages, before.messages);
}
