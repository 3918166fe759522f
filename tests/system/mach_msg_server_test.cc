// tests/system/mach_msg_server_test.cc — libsyscall's mach_msg_server loop:
// what it sends, what it destroys, when it goes on and when it ends
// (libsyscall/mach/mach_msg.c is the authority). The server runs on a thread
// of this task; the test is its client.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mig_errors.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "support.h"

using namespace systest;

namespace {

constexpr mach_msg_id_t kAnswer = 100;      // replies KERN_SUCCESS
constexpr mach_msg_id_t kNoReply = 101;     // keeps the reply right in g_kept, answers MIG_NO_REPLY
constexpr mach_msg_id_t kRefuse = 102;      // answers an error: the request is not consumed
constexpr mach_msg_id_t kSlow = 103;        // waits for the test, then replies
constexpr mach_msg_id_t kCarry = 104;       // replies carrying g_carried (MOVE_SEND) in its local port
constexpr kern_return_t kRefusal = 7;

std::atomic<bool> g_slow_entered{false};
std::atomic<bool> g_slow_release{false};
mach_port_t g_carried = MACH_PORT_NULL;
mach_port_t g_kept = MACH_PORT_NULL;

boolean_t test_demux(mach_msg_header_t* in, mach_msg_header_t* out) {
  mig_reply_setup(in, out);
  auto* r = reinterpret_cast<mig_reply_error_t*>(out);
  switch (in->msgh_id) {
    case kAnswer:
      r->RetCode = KERN_SUCCESS;
      return TRUE;
    case kNoReply:
      g_kept = in->msgh_remote_port;  // the routine answers later, itself
      r->RetCode = MIG_NO_REPLY;
      return TRUE;
    case kRefuse:
      r->RetCode = kRefusal;
      return TRUE;
    case kSlow:
      g_slow_entered = true;
      while (!g_slow_release) usleep(1000);
      r->RetCode = KERN_SUCCESS;
      return TRUE;
    case kCarry:
      out->msgh_bits |= MACH_MSGH_BITS(0, MACH_MSG_TYPE_MOVE_SEND);
      out->msgh_local_port = g_carried;
      r->RetCode = KERN_SUCCESS;
      return TRUE;
    default:
      r->RetCode = MIG_BAD_ID;
      return FALSE;
  }
}

// mach_msg_server on a thread, on a port of its own; the destructor destroys
// the port, which ends the loop (with MACH_RCV_PORT_CHANGED, as XNU).
struct ServerThread {
  explicit ServerThread(mach_msg_size_t max_size = 256, mach_msg_options_t options = 0) {
    port = make_port();
    thread = std::thread([this, max_size, options] { result = mach_msg_server(test_demux, max_size, port, options); });
  }
  ~ServerThread() {
    if (port != MACH_PORT_NULL) end();
  }
  // Destroys the receive right; returns what mach_msg_server returned.
  mach_msg_return_t end() {
    mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
    thread.join();
    mach_port_deallocate(mach_task_self(), port);  // the dead name left of the send right
    port = MACH_PORT_NULL;
    return result;
  }
  mach_port_t port = MACH_PORT_NULL;
  std::atomic<mach_msg_return_t> result{MACH_MSG_SUCCESS};
  std::thread thread;
};

union Reply {
  mach_msg_header_t head;
  mig_reply_error_t rep;
  uint8_t space[512];
};

// One request from `reply` (MAKE_SEND_ONCE unless told) and, unless
// `send_only`, its reply within timeout_ms.
mach_msg_return_t call(mach_port_t server, mach_msg_id_t id, mach_port_t reply, Reply& out,
                       mach_msg_type_name_t reply_disposition = MACH_MSG_TYPE_MAKE_SEND_ONCE, bool send_only = false,
                       int timeout_ms = 10000) {
  out = Reply{};
  out.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, reply_disposition);
  out.head.msgh_size = sizeof(mach_msg_header_t);
  out.head.msgh_remote_port = server;
  out.head.msgh_local_port = reply;
  out.head.msgh_id = id;
  mach_msg_option_t options = MACH_SEND_MSG | (send_only ? 0 : MACH_RCV_MSG | MACH_RCV_TIMEOUT);
  return mach_msg(&out.head, options, sizeof(mach_msg_header_t), send_only ? 0 : sizeof out, reply,
                  mach_msg_timeout_t(timeout_ms), MACH_PORT_NULL);
}

mach_port_urefs_t send_refs(mach_port_t port) {
  mach_port_urefs_t refs = 0;
  EXPECT_EQ(mach_port_get_refs(mach_task_self(), port, MACH_PORT_RIGHT_SEND, &refs), KERN_SUCCESS);
  return refs;
}

}  // namespace

TEST(MachMsgServer, AnswersEveryRequestUntilItsPortIsDestroyedThenReturnsPortChanged) {
  ServerThread server;
  mach_port_t reply = mig_get_reply_port();
  Reply r;
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(call(server.port, kAnswer, reply, r), MACH_MSG_SUCCESS) << "request " << i;
    EXPECT_EQ(r.head.msgh_id, kAnswer + 100);
    EXPECT_EQ(r.rep.RetCode, KERN_SUCCESS);
  }
  EXPECT_EQ(server.end(), MACH_RCV_PORT_CHANGED);  // XNU: the waiter is restarted (ipc_mqueue.c)
}

TEST(MachMsgServer, MigNoReplySendsNothingAndLeavesTheReplyRightWithTheRoutine) {
  ServerThread server;
  mach_port_t reply = make_port();
  Reply r;
  g_kept = MACH_PORT_NULL;
  EXPECT_EQ(call(server.port, kNoReply, reply, r, MACH_MSG_TYPE_MAKE_SEND_ONCE, false, 200), MACH_RCV_TIMED_OUT);
  ASSERT_EQ(call(server.port, kAnswer, reply, r), MACH_MSG_SUCCESS) << "the next request is answered";
  EXPECT_EQ(r.rep.RetCode, KERN_SUCCESS);
  EXPECT_EQ(queued(reply), 0u) << "nothing arrived for the request answered MIG_NO_REPLY";
  // The routine kept the send-once right and answers late with it.
  ASSERT_TRUE(MACH_PORT_VALID(g_kept));
  mach_msg_header_t late{};
  late.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
  late.msgh_size = sizeof late;
  late.msgh_remote_port = g_kept;
  late.msgh_id = kNoReply + 100;
  ASSERT_EQ(mach_msg(&late, MACH_SEND_MSG, sizeof late, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL), MACH_MSG_SUCCESS);
  ASSERT_EQ(mach_msg(&r.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof r, reply, 10000, MACH_PORT_NULL),
            MACH_MSG_SUCCESS);
  EXPECT_EQ(r.head.msgh_id, kNoReply + 100);
  server.end();
  mach_port_mod_refs(mach_task_self(), reply, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), reply);
}

TEST(MachMsgServer, AnErrorReplyDestroysTheRightsTheRequestCarried) {
  ServerThread server;
  mach_port_t carried = make_port();
  ASSERT_EQ(send_refs(carried), 1u);
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
  } req{};
  Reply r;
  mach_port_t reply = mig_get_reply_port();
  req.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE) | MACH_MSGH_BITS_COMPLEX;
  req.head.msgh_size = sizeof req;
  req.head.msgh_remote_port = server.port;
  req.head.msgh_local_port = reply;
  req.head.msgh_id = kRefuse;
  req.body.msgh_descriptor_count = 1;
  req.port.name = carried;
  req.port.disposition = MACH_MSG_TYPE_COPY_SEND;
  req.port.type = MACH_MSG_PORT_DESCRIPTOR;
  ASSERT_EQ(mach_msg_overwrite(&req.head, MACH_SEND_MSG | MACH_RCV_MSG, sizeof req, sizeof r, reply, 0, MACH_PORT_NULL,
                               &r.head, 0),
            MACH_MSG_SUCCESS);
  EXPECT_EQ(r.rep.RetCode, kRefusal);
  EXPECT_EQ(send_refs(carried), 1u) << "the send right the refused request brought was destroyed";
  server.end();
  mach_port_mod_refs(mach_task_self(), carried, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), carried);
}

TEST(MachMsgServer, AReplyToAClientThatDiedMeanwhileIsNoErrorAndServingGoesOn) {
  ServerThread server;
  g_slow_entered = false;
  g_slow_release = false;
  mach_port_t gone = mach_reply_port();
  Reply r;
  ASSERT_EQ(call(server.port, kSlow, gone, r, MACH_MSG_TYPE_MAKE_SEND_ONCE, true), MACH_MSG_SUCCESS);
  while (!g_slow_entered) usleep(1000);
  ASSERT_EQ(mach_port_mod_refs(mach_task_self(), gone, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  g_slow_release = true;
  ASSERT_EQ(call(server.port, kAnswer, mig_get_reply_port(), r), MACH_MSG_SUCCESS) << "the server still serves";
  EXPECT_EQ(r.rep.RetCode, KERN_SUCCESS);
  EXPECT_EQ(server.end(), MACH_RCV_PORT_CHANGED) << "the dead client ended nothing";
}

TEST(MachMsgServer, AReplyToASendRightWhoseQueueIsFullIsDroppedWithTheRightsItCarriedAndServingGoesOn) {
  ServerThread server;
  mach_port_t full = make_port();
  set_qlimit(full, 1);
  ASSERT_EQ(send_simple(full, 1, "fill"), MACH_MSG_SUCCESS);
  g_carried = make_port();
  ASSERT_EQ(mach_port_mod_refs(mach_task_self(), g_carried, MACH_PORT_RIGHT_SEND, 1), KERN_SUCCESS);
  Reply r;
  ASSERT_EQ(call(server.port, kCarry, full, r, MACH_MSG_TYPE_MAKE_SEND, true), MACH_MSG_SUCCESS);
  ASSERT_EQ(call(server.port, kAnswer, mig_get_reply_port(), r), MACH_MSG_SUCCESS)
      << "the server did not block on the full queue";
  EXPECT_EQ(r.rep.RetCode, KERN_SUCCESS);
  EXPECT_EQ(queued(full), 1u) << "only the message that filled the queue";
  EXPECT_EQ(send_refs(full), 1u) << "the dropped reply's send right was destroyed with it";
  EXPECT_EQ(send_refs(g_carried), 1u) << "and the MOVE_SEND right in its local port (mach_msg_destroy leaves those)";
  server.end();
  for (mach_port_t p : {full, g_carried}) {
    mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
    mach_port_deallocate(mach_task_self(), p);
  }
}

TEST(MachMsgServer, WithRcvLargeItGrowsItsBufferForALargerRequest) {
  ServerThread server(64, MACH_RCV_LARGE);
  struct {
    mach_msg_header_t head;
    uint8_t body[1000];
  } big{};
  Reply r;
  mach_port_t reply = mig_get_reply_port();
  big.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
  big.head.msgh_size = sizeof big;
  big.head.msgh_remote_port = server.port;
  big.head.msgh_local_port = reply;
  big.head.msgh_id = kAnswer;
  ASSERT_EQ(mach_msg_overwrite(&big.head, MACH_SEND_MSG | MACH_RCV_MSG | MACH_RCV_TIMEOUT, sizeof big, sizeof r, reply,
                               10000, MACH_PORT_NULL, &r.head, 0),
            MACH_MSG_SUCCESS);
  EXPECT_EQ(r.rep.RetCode, KERN_SUCCESS);
  ASSERT_EQ(call(server.port, kAnswer, reply, r), MACH_MSG_SUCCESS) << "and serves on";
  EXPECT_EQ(server.end(), MACH_RCV_PORT_CHANGED);  // XNU: the waiter is restarted (ipc_mqueue.c)
}

TEST(MachMsgServer, WithoutRcvLargeARequestTooLargeEndsTheLoopWithRcvTooLarge) {
  ServerThread server(64, 0);
  struct {
    mach_msg_header_t head;
    uint8_t body[1000];
  } big{};
  big.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  big.head.msgh_size = sizeof big;
  big.head.msgh_remote_port = server.port;
  big.head.msgh_id = kAnswer;
  ASSERT_EQ(mach_msg(&big.head, MACH_SEND_MSG, sizeof big, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL), MACH_MSG_SUCCESS);
  server.thread.join();
  EXPECT_EQ(server.result.load(), MACH_RCV_TOO_LARGE);
  EXPECT_EQ(queued(server.port), 0u) << "the request too large was destroyed";
  mach_port_mod_refs(mach_task_self(), server.port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), server.port);
  server.port = MACH_PORT_NULL;
}
