// tests/pagers/cross_task_test.cc — the pager in a task of its own (a forked
// child), the fake kernel in this one: the supplied pages leave the pager's
// address space, the returned ones arrive in it, and the control and name
// ports' receive rights move between tasks at terminate.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "../common/port_rights.h"
#include "fake_kernel.h"
#include "mach_pager.h"

namespace {

using pagertest::ControlCall;
using pagertest::FakeKernel;

constexpr uint8_t kFill = 0x5a;
constexpr uint8_t kWritten = 0xc3;

// The child's pager: every page reads as kFill; it counts the pages written
// with kWritten in every byte, and the terminations.
struct ChildStore {
  std::atomic<int> good_writes{0};
  std::atomic<int> bad_writes{0};
  std::atomic<int> terminated{0};
};

kern_return_t fill(void*, vm_offset_t, void* buf, vm_size_t len) {
  memset(buf, kFill, len);
  return KERN_SUCCESS;
}

kern_return_t check_write(void* ctx, vm_offset_t, const void* buf, vm_size_t len) {
  auto* s = static_cast<ChildStore*>(ctx);
  const auto* b = static_cast<const uint8_t*>(buf);
  bool good = true;
  for (vm_size_t i = 0; i < len; ++i) good = good && b[i] == kWritten;
  ++(good ? s->good_writes : s->bad_writes);
  return KERN_SUCCESS;
}

void terminated(void* ctx) { ++static_cast<ChildStore*>(ctx)->terminated; }

// The child: serves a pager whose object it sends to `inbox_name`; exits 0
// once terminated after exactly one good page was written.
int child_pager(const std::string& inbox_name) {
  mach_port_t inbox = MACH_PORT_NULL;
  for (int i = 0; i < 500 && inbox == MACH_PORT_NULL; ++i) {
    if (bootstrap_look_up(bootstrap_port, inbox_name.c_str(), &inbox) != KERN_SUCCESS) usleep(10000);
  }
  if (inbox == MACH_PORT_NULL) return 10;
  ChildStore store;
  const mach_pager_ops ops = {fill, check_write, nullptr, terminated, nullptr, nullptr, nullptr};
  mach_pager_t* pager = nullptr;
  if (mach_pager_create(&ops, &store, nullptr, &pager) != KERN_SUCCESS) return 11;
  if (mach_pager_start(pager) != KERN_SUCCESS) return 12;
  if (testsupport::send_port_right(inbox, mach_pager_object(pager), MACH_MSG_TYPE_MOVE_SEND) != MACH_MSG_SUCCESS)
    return 13;
  for (int i = 0; i < 500 && store.terminated == 0; ++i) usleep(10000);
  if (mach_pager_destroy(pager) != KERN_SUCCESS) return 14;
  if (store.terminated != 1) return 15;
  if (store.good_writes != 1 || store.bad_writes != 0) return 16;
  return 0;
}

TEST(PagerAcrossTasks, PagesAndRightsCrossBetweenKernelAndPagerTasks) {
  mach_port_t inbox = MACH_PORT_NULL;
  const std::string name = "org.machd.test.pager." + std::to_string(getpid());
  ASSERT_EQ(bootstrap_check_in(bootstrap_port, name.c_str(), &inbox), KERN_SUCCESS);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) _exit(child_pager(name));
  ASSERT_GT(pid, 0);

  mach_port_t object = testsupport::receive_port_right(inbox, 10000);
  ASSERT_TRUE(MACH_PORT_VALID(object));
  {
    FakeKernel kernel(object);
    const vm_size_t page = vm_page_size;
    ASSERT_EQ(kernel.init(page), KERN_SUCCESS);
    ControlCall c;
    ASSERT_TRUE(kernel.next(&c));
    EXPECT_EQ(c.id, pagertest::kReady);
    ASSERT_EQ(kernel.data_request(4 * page, 2 * page, VM_PROT_READ | VM_PROT_WRITE), KERN_SUCCESS);
    ASSERT_TRUE(kernel.next(&c));
    EXPECT_EQ(c.id, pagertest::kDataSupply);
    EXPECT_EQ(c.offset, 4 * page);
    EXPECT_EQ(c.data, std::vector<uint8_t>(2 * page, kFill));
    ASSERT_EQ(kernel.data_return(4 * page, std::vector<uint8_t>(page, kWritten), TRUE, FALSE), KERN_SUCCESS);
    ASSERT_EQ(kernel.terminate(), KERN_SUCCESS);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child pager's verdict (see child_pager)";
  (void)mach_port_mod_refs(mach_task_self(), inbox, MACH_PORT_RIGHT_RECEIVE, -1);
}

}  // namespace
