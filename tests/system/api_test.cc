// tests/system/api_test.cc — the rest of the C API programs use beside
// mach_msg: semaphores, mach_msg_server, task_info, pid_for_task, time.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <mach/mig_errors.h>
#include <mach/semaphore.h>
#include <mach/task.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support.h"

using namespace systest;

TEST(Api, SemaphoreCountsAcrossThreads) {
  semaphore_t s = MACH_PORT_NULL;
  ASSERT_EQ(semaphore_create(mach_task_self(), &s, SYNC_POLICY_FIFO, 0), KERN_SUCCESS);
  mach_port_type_t t = 0;
  EXPECT_EQ(mach_port_type(mach_task_self(), s, &t), KERN_SUCCESS) << "a real name in the space";
  std::atomic<int> woke{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      if (semaphore_wait(s) == KERN_SUCCESS) woke.fetch_add(1);
    });
  usleep(20000);
  EXPECT_EQ(woke.load(), 0);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(semaphore_signal(s), KERN_SUCCESS);
  for (auto& th : ts) th.join();
  EXPECT_EQ(woke.load(), 4);
  mach_timespec_t short_wait{0, 20 * 1000 * 1000};
  EXPECT_EQ(semaphore_timedwait(s, short_wait), KERN_OPERATION_TIMED_OUT);
  ASSERT_EQ(semaphore_signal(s), KERN_SUCCESS);
  EXPECT_EQ(semaphore_timedwait(s, short_wait), KERN_SUCCESS) << "a unit signalled earlier is kept";
  EXPECT_EQ(semaphore_signal_all(s), KERN_SUCCESS) << "no waiter: nothing to do";
  EXPECT_EQ(semaphore_timedwait(s, short_wait), KERN_OPERATION_TIMED_OUT);
  EXPECT_EQ(semaphore_destroy(mach_task_self(), s), KERN_SUCCESS);
  EXPECT_EQ(semaphore_signal(s), KERN_INVALID_ARGUMENT);
}

TEST(Api, SemaphoreDestroyWakesWaitersWithTerminated) {
  semaphore_t s = MACH_PORT_NULL;
  ASSERT_EQ(semaphore_create(mach_task_self(), &s, SYNC_POLICY_FIFO, 0), KERN_SUCCESS);
  kern_return_t got = KERN_SUCCESS;
  std::thread th([&] { got = semaphore_wait(s); });
  usleep(20000);
  ASSERT_EQ(semaphore_destroy(mach_task_self(), s), KERN_SUCCESS);
  th.join();
  EXPECT_EQ(got, KERN_TERMINATED);
}

namespace {
// A one-routine server: id 5000 replies RetCode = the request's id + 1; 5001
// answers MIG_NO_REPLY; anything else is MIG_BAD_ID.
boolean_t tiny_demux(mach_msg_header_t* in, mach_msg_header_t* out) {
  mig_reply_setup(in, out);
  auto* r = reinterpret_cast<mig_reply_error_t*>(out);
  if (in->msgh_id == 5000) {
    r->RetCode = 5001;
    return TRUE;
  }
  if (in->msgh_id == 5001) {
    r->RetCode = MIG_NO_REPLY;
    return TRUE;
  }
  r->RetCode = MIG_BAD_ID;
  return FALSE;
}
}  // namespace

TEST(Api, MachMsgServerOnceAnswersThroughTheDemux) {
  mach_port_t port = make_port();
  mach_port_t reply = mig_get_reply_port();
  for (mach_msg_id_t id : {5000, 4242}) {
    std::thread server([&] { mach_msg_server_once(tiny_demux, 256, port, 0); });
    union {
      mach_msg_header_t head;
      mig_reply_error_t rep;
      uint8_t space[256];
    } m{};
    m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
    m.head.msgh_size = sizeof(mach_msg_header_t);
    m.head.msgh_remote_port = port;
    m.head.msgh_local_port = reply;
    m.head.msgh_id = id;
    ASSERT_EQ(mach_msg(&m.head, MACH_SEND_MSG | MACH_RCV_MSG, sizeof(mach_msg_header_t), sizeof m, reply, 0, 0),
              MACH_MSG_SUCCESS);
    server.join();
    EXPECT_EQ(m.head.msgh_id, id + 100);
    EXPECT_EQ(m.rep.RetCode, id == 5000 ? 5001 : MIG_BAD_ID);
  }
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
}

TEST(Api, TaskInfoAndPidForTask) {
  mach_task_basic_info_data_t info{};
  mach_msg_type_number_t cnt = MACH_TASK_BASIC_INFO_COUNT;
  ASSERT_EQ(task_info(mach_task_self(), MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&info), &cnt),
            KERN_SUCCESS);
  EXPECT_GT(info.resident_size, 0u);
  EXPECT_GE(info.virtual_size, info.resident_size);
  int pid = 0;
  ASSERT_EQ(pid_for_task(mach_task_self(), &pid), KERN_SUCCESS);
  EXPECT_EQ(pid, getpid());
  mach_port_t t = MACH_PORT_NULL;  // its own pid: its own task port (task_test.cc has the rules)
  ASSERT_EQ(task_for_pid(mach_task_self(), getpid(), &t), KERN_SUCCESS);
  EXPECT_EQ(t, mach_task_self());
  mach_port_deallocate(mach_task_self(), t);
}

TEST(Api, MachAbsoluteTimeAdvancesInNanoseconds) {
  mach_timebase_info_data_t tb{};
  ASSERT_EQ(mach_timebase_info(&tb), KERN_SUCCESS);
  uint64_t a = mach_absolute_time();
  usleep(10000);
  uint64_t b = mach_absolute_time();
  EXPECT_GE((b - a) * tb.numer / tb.denom, 10000000u);
}

TEST(Api, UnprovidedCallsSayNotSupported) {
  mach_port_t self = mach_thread_self();
  EXPECT_EQ(thread_sample(self, MACH_PORT_NULL), KERN_NOT_SUPPORTED);
  mach_port_deallocate(mach_task_self(), self);
}
