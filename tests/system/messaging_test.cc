// tests/system/messaging_test.cc — messages between real processes.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "machd_abi.h"
#include "support.h"

using namespace systest;

TEST(Messaging, SimpleMessageCrossesTasksWithKernelVerifiedAuditToken) {
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("simple", &port);
  ASSERT_FALSE(name.empty());
  pid_t child = spawn_task([&] {
    mach_port_t dest = look_up(name);
    if (dest == MACH_PORT_NULL) return 1;
    return send_simple(dest, 42, "hello") == MACH_MSG_SUCCESS ? 0 : 2;
  });
  SimpleRcv r;
  ASSERT_EQ(receive_simple(port, r, 5000), MACH_MSG_SUCCESS);
  EXPECT_EQ(r.msg.value, 42);
  EXPECT_STREQ(r.msg.text, "hello");
  EXPECT_EQ(r.msg.head.msgh_size, sizeof(SimpleMsg));
  EXPECT_EQ(r.msg.head.msgh_local_port, port);
  const mach_msg_audit_trailer_t* t = audit_of(r);
  EXPECT_EQ(t->msgh_trailer_type, MACH_MSG_TRAILER_FORMAT_0);
  EXPECT_EQ(t->msgh_trailer_size, sizeof(mach_msg_audit_trailer_t));
  EXPECT_EQ(t->msgh_audit.val[5], uint32_t(child)) << "audit token pid is the sender's";
  EXPECT_EQ(t->msgh_sender.val[0], geteuid());
  EXPECT_EQ(wait_exit(child), 0);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Messaging, RpcReplyTravelsOnSendOnceRight) {
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("rpc", &port);
  pid_t client = spawn_task([&] {
    mach_port_t dest = look_up(name);
    mach_port_t reply = mig_get_reply_port();
    SimpleRcv buf{};
    SimpleMsg& req = buf.msg;
    req.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
    req.head.msgh_size = sizeof req;
    req.head.msgh_remote_port = dest;
    req.head.msgh_local_port = reply;
    req.head.msgh_id = 7;
    req.value = 20;
    mach_msg_return_t mr = mach_msg(&req.head, MACH_SEND_MSG | MACH_RCV_MSG, sizeof req, sizeof buf, reply,
                                    MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
    if (mr != MACH_MSG_SUCCESS) return 10;
    if (req.head.msgh_id != 107 || req.value != 21) return 11;
    if (MACH_MSGH_BITS_REMOTE(req.head.msgh_bits) != 0) return 12;  // a reply carries no reply right
    return 0;
  });
  SimpleRcv r;
  ASSERT_EQ(receive_simple(port, r, 5000), MACH_MSG_SUCCESS);
  EXPECT_EQ(MACH_MSGH_BITS_REMOTE(r.msg.head.msgh_bits), MACH_MSG_TYPE_PORT_SEND_ONCE);
  mach_port_type_t type = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), r.msg.head.msgh_remote_port, &type), KERN_SUCCESS);
  EXPECT_TRUE(type & MACH_PORT_TYPE_SEND_ONCE);
  SimpleMsg reply{};
  reply.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
  reply.head.msgh_size = sizeof reply;
  reply.head.msgh_remote_port = r.msg.head.msgh_remote_port;
  reply.head.msgh_id = r.msg.head.msgh_id + 100;
  reply.value = r.msg.value + 1;
  ASSERT_EQ(mach_msg(&reply.head, MACH_SEND_MSG, sizeof reply, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL),
            MACH_MSG_SUCCESS);
  EXPECT_EQ(wait_exit(client), 0);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Messaging, ReceiveRightMovesBetweenTasksWithQueuedMessagesInOrder) {
  mach_port_t rendezvous = MACH_PORT_NULL;
  std::string name = check_in_unique("move", &rendezvous);
  pid_t sender = spawn_task([&] {
    mach_port_t dest = look_up(name);
    mach_port_t moving = make_port();
    for (int i = 0; i < 3; ++i)
      if (send_simple(moving, i, "queued") != MACH_MSG_SUCCESS) return 1;
    if (send_right(dest, moving, MACH_MSG_TYPE_MOVE_RECEIVE) != MACH_MSG_SUCCESS) return 2;
    mach_port_type_t t = 0;
    // Our name keeps the send right; the receive right is gone.
    if (mach_port_type(mach_task_self(), moving, &t) != KERN_SUCCESS) return 3;
    if (t & MACH_PORT_TYPE_RECEIVE) return 4;
    return 0;
  });
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
    mach_msg_max_trailer_t trailer;
  } m{};
  ASSERT_EQ(mach_msg(&m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, rendezvous, 5000, 0), MACH_MSG_SUCCESS);
  ASSERT_TRUE(m.head.msgh_bits & MACH_MSGH_BITS_COMPLEX);
  ASSERT_EQ(m.port.disposition, MACH_MSG_TYPE_PORT_RECEIVE);
  mach_port_t moved = m.port.name;
  EXPECT_EQ(wait_exit(sender), 0);
  for (int i = 0; i < 3; ++i) {
    SimpleRcv r;
    ASSERT_EQ(receive_simple(moved, r, 1000), MACH_MSG_SUCCESS);
    EXPECT_EQ(r.msg.value, i) << "queued messages keep their order across the move";
  }
  mach_port_mod_refs(mach_task_self(), moved, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), rendezvous, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Messaging, ManyThreadsBlockedOnOnePortEachMessageGoesToExactlyOne) {
  mach_port_t port = make_port();
  constexpr int kThreads = 8, kMessages = 400;
  std::atomic<int> got{0};
  std::vector<std::vector<int>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        SimpleRcv r;
        if (receive_simple(port, r, 2000) != MACH_MSG_SUCCESS) return;
        if (r.msg.value < 0) return;
        seen[t].push_back(r.msg.value);
        got.fetch_add(1);
      }
    });
  }
  set_qlimit(port, MACH_PORT_QLIMIT_LARGE);
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(send_simple(port, i, "m"), MACH_MSG_SUCCESS);
  for (int t = 0; t < kThreads; ++t) ASSERT_EQ(send_simple(port, -1, "stop"), MACH_MSG_SUCCESS);
  for (auto& th : threads) th.join();
  std::set<int> all;
  size_t total = 0;
  for (auto& v : seen) {
    total += v.size();
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(total, size_t(kMessages));
  EXPECT_EQ(all.size(), size_t(kMessages)) << "no message delivered twice";
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
}

TEST(Messaging, ReceiveTimeoutReturnsTimedOut) {
  mach_port_t port = make_port();
  SimpleRcv r;
  EXPECT_EQ(receive_simple(port, r, 0), MACH_RCV_TIMED_OUT);
  EXPECT_EQ(receive_simple(port, r, 50), MACH_RCV_TIMED_OUT);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
}

TEST(Messaging, PortSetReceivesFromAnyMemberAcrossTasks) {
  mach_port_t set = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_PORT_SET, &set), KERN_SUCCESS);
  mach_port_t a = MACH_PORT_NULL, b = MACH_PORT_NULL;
  std::string na = check_in_unique("seta", &a), nb = check_in_unique("setb", &b);
  ASSERT_EQ(mach_port_move_member(mach_task_self(), a, set), KERN_SUCCESS);
  ASSERT_EQ(mach_port_move_member(mach_task_self(), b, set), KERN_SUCCESS);
  pid_t child = spawn_task([&] {
    return (send_simple(look_up(nb), 2, "b") == MACH_MSG_SUCCESS &&
            send_simple(look_up(na), 1, "a") == MACH_MSG_SUCCESS) ? 0 : 1;
  });
  EXPECT_EQ(wait_exit(child), 0);
  std::set<mach_port_t> from;
  for (int i = 0; i < 2; ++i) {
    SimpleRcv r;
    ASSERT_EQ(receive_simple(set, r, 2000), MACH_MSG_SUCCESS);
    from.insert(r.msg.head.msgh_local_port);
  }
  EXPECT_EQ(from, (std::set<mach_port_t>{a, b})) << "msgh_local_port names the member";
  mach_port_mod_refs(mach_task_self(), a, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), b, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), set, MACH_PORT_RIGHT_PORT_SET, -1);
}

TEST(Messaging, OutOfLineBuffersArriveIntactBothWays) {
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("ool", &port);
  const size_t sizes[] = {100, 20000, 8u << 20};
  pid_t child = spawn_task([&] {
    mach_port_t dest = look_up(name);
    for (size_t i = 0; i < 3; ++i) {
      for (int dealloc = 0; dealloc < 2; ++dealloc) {
        vm_address_t buf = 0;
        if (vm_allocate(mach_task_self(), &buf, sizes[i], VM_FLAGS_ANYWHERE) != KERN_SUCCESS) return 1;
        auto* p = reinterpret_cast<uint8_t*>(buf);
        for (size_t k = 0; k < sizes[i]; ++k) p[k] = uint8_t(k * 7 + i + dealloc);
        struct {
          mach_msg_header_t head;
          mach_msg_body_t body;
          mach_msg_ool_descriptor_t ool;
        } m{};
        m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
        m.head.msgh_size = sizeof m;
        m.head.msgh_remote_port = dest;
        m.head.msgh_id = int(i * 2 + dealloc);
        m.body.msgh_descriptor_count = 1;
        m.ool.address = p;
        m.ool.size = mach_msg_size_t(sizes[i]);
        m.ool.deallocate = dealloc;
        m.ool.copy = MACH_MSG_VIRTUAL_COPY;
        m.ool.type = MACH_MSG_OOL_DESCRIPTOR;
        if (mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, 0, 0, 0) != MACH_MSG_SUCCESS) return 2;
        if (!dealloc) {
          p[0] ^= 0xFF;  // the receiver got a copy: changing ours now must not show there
          vm_deallocate(mach_task_self(), buf, sizes[i]);
        }
      }
    }
    return 0;
  });
  for (int n = 0; n < 6; ++n) {
    struct {
      mach_msg_header_t head;
      mach_msg_body_t body;
      mach_msg_ool_descriptor_t ool;
      mach_msg_max_trailer_t trailer;
    } m{};
    ASSERT_EQ(mach_msg(&m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, port, 10000, 0), MACH_MSG_SUCCESS);
    size_t i = size_t(m.head.msgh_id / 2);
    int dealloc = m.head.msgh_id % 2;
    ASSERT_EQ(m.ool.size, sizes[i]);
    auto* p = static_cast<uint8_t*>(m.ool.address);
    ASSERT_NE(p, nullptr);
    bool same = true;
    for (size_t k = 0; k < sizes[i] && same; ++k) same = p[k] == uint8_t(k * 7 + i + dealloc);
    EXPECT_TRUE(same) << "size " << sizes[i] << " dealloc " << dealloc;
    p[1] = 0;  // received memory is ours to write
    EXPECT_EQ(vm_deallocate(mach_task_self(), vm_address_t(p), m.ool.size), KERN_SUCCESS);
  }
  EXPECT_EQ(wait_exit(child), 0);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Messaging, TimedOutSendGivesRightsBackToTheSender) {
  mach_port_t full = make_port();
  set_qlimit(full, 1);
  ASSERT_EQ(send_simple(full, 0, "fills the queue"), MACH_MSG_SUCCESS);
  mach_port_t carried = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &carried), KERN_SUCCESS);
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
  } m{};
  m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  m.head.msgh_size = sizeof m;
  m.head.msgh_remote_port = full;
  m.body.msgh_descriptor_count = 1;
  m.port.name = carried;
  m.port.disposition = MACH_MSG_TYPE_MOVE_RECEIVE;
  m.port.type = MACH_MSG_PORT_DESCRIPTOR;
  ASSERT_EQ(mach_msg(&m.head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof m, 0, 0, 10, 0), MACH_SEND_TIMED_OUT);
  // The receive right came back (the buffer names it again).
  mach_port_type_t t = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), m.port.name, &t), KERN_SUCCESS);
  EXPECT_TRUE(t & MACH_PORT_TYPE_RECEIVE);
  mach_port_mod_refs(mach_task_self(), m.port.name, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), full, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), full);
}

TEST(Messaging, SendOnceDestinationNeverBlocksOnAFullQueue) {
  mach_port_t p = make_port();
  set_qlimit(p, 1);
  ASSERT_EQ(send_simple(p, 0, "fills"), MACH_MSG_SUCCESS);
  EXPECT_EQ(send_simple(p, 1, "blocked", MACH_PORT_NULL, MACH_MSG_TYPE_COPY_SEND, 0, MACH_SEND_TIMEOUT, 0),
            MACH_SEND_TIMED_OUT);
  EXPECT_EQ(send_simple(p, 2, "send-once", MACH_PORT_NULL, MACH_MSG_TYPE_MAKE_SEND_ONCE, 0, MACH_SEND_TIMEOUT, 0),
            MACH_MSG_SUCCESS);
  SimpleRcv r;
  ASSERT_EQ(receive_simple(p, r, 0), MACH_MSG_SUCCESS);
  ASSERT_EQ(receive_simple(p, r, 0), MACH_MSG_SUCCESS);
  EXPECT_EQ(r.msg.value, 2);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), p);
}

TEST(Messaging, RcvLargeReportsTheSizeAndLeavesTheMessageQueued) {
  mach_port_t p = make_port();
  ASSERT_EQ(send_simple(p, 9, "large"), MACH_MSG_SUCCESS);
  mach_msg_header_t small{};
  ASSERT_EQ(mach_msg(&small, MACH_RCV_MSG | MACH_RCV_LARGE | MACH_RCV_TIMEOUT, 0, sizeof small, p, 0, 0),
            MACH_RCV_TOO_LARGE);
  EXPECT_GE(small.msgh_size, sizeof(SimpleMsg)) << "the size needed";
  SimpleRcv r;
  ASSERT_EQ(receive_simple(p, r, 0), MACH_MSG_SUCCESS) << "still queued";
  EXPECT_EQ(r.msg.value, 9);
  // Without MACH_RCV_LARGE the message is dequeued and destroyed.
  ASSERT_EQ(send_simple(p, 10, "gone"), MACH_MSG_SUCCESS);
  EXPECT_EQ(mach_msg(&small, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof small, p, 0, 0), MACH_RCV_TOO_LARGE);
  EXPECT_EQ(receive_simple(p, r, 0), MACH_RCV_TIMED_OUT);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), p);
}

TEST(Messaging, OutOfLinePortArrayCarriesRightsBetweenTasks) {
  mach_port_t inbox = MACH_PORT_NULL;
  std::string name = check_in_unique("oolports", &inbox);
  pid_t child = spawn_task([&] {
    mach_port_t dest = look_up(name);
    mach_port_t ports[3];
    for (auto& p : ports) p = make_port();
    for (int i = 0; i < 3; ++i)
      if (send_simple(ports[i], 100 + i, "marker") != MACH_MSG_SUCCESS) return 1;
    struct {
      mach_msg_header_t head;
      mach_msg_body_t body;
      mach_msg_ool_ports_descriptor_t arr;
    } m{};
    m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
    m.head.msgh_size = sizeof m;
    m.head.msgh_remote_port = dest;
    m.body.msgh_descriptor_count = 1;
    m.arr.address = ports;
    m.arr.count = 3;
    m.arr.deallocate = FALSE;
    m.arr.copy = MACH_MSG_PHYSICAL_COPY;
    m.arr.disposition = MACH_MSG_TYPE_MOVE_RECEIVE;
    m.arr.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
    return mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, 0, 0, 0) == MACH_MSG_SUCCESS ? 0 : 2;
  });
  EXPECT_EQ(wait_exit(child), 0);
  struct {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_ool_ports_descriptor_t arr;
    mach_msg_max_trailer_t trailer;
  } m{};
  ASSERT_EQ(mach_msg(&m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, inbox, 5000, 0), MACH_MSG_SUCCESS);
  ASSERT_EQ(m.arr.count, 3u);
  EXPECT_EQ(m.arr.disposition, MACH_MSG_TYPE_PORT_RECEIVE);
  auto* names = static_cast<mach_port_t*>(m.arr.address);
  ASSERT_NE(names, nullptr);
  for (int i = 0; i < 3; ++i) {
    SimpleRcv r;
    ASSERT_EQ(receive_simple(names[i], r, 0), MACH_MSG_SUCCESS) << "receive right " << i << " arrived with its queue";
    EXPECT_EQ(r.msg.value, 100 + i);
  }
  mach_msg_destroy(&m.head);  // releases the three receive rights and the array
  mach_port_mod_refs(mach_task_self(), inbox, MACH_PORT_RIGHT_RECEIVE, -1);
}

// What a receiver gets back must fit its channel: the out-of-line records of
// a reply are larger than those of a request (and a trailer is added), so a
// message that just fits on the way in must either be refused at the send
// (MACH_SEND_TOO_LARGE, nothing queued) or arrive whole. Never a receive that
// loses descriptors or rights.
namespace {
constexpr size_t kChannelData = MACHD_CHANNEL_DATA_SIZE;
constexpr size_t align8(size_t v) { return (v + 7) & ~size_t(7); }
}  // namespace

TEST(Messaging, ManyEmptyOutOfLineDescriptorsAreRefusedOrArriveWhole) {
  mach_port_t port = make_port();
  const uint32_t n = 6000;  // 24 bytes of record each on send, 32 on receive
  const size_t size = sizeof(mach_msg_header_t) + sizeof(mach_msg_body_t) + n * sizeof(mach_msg_ool_descriptor_t);
  ASSERT_LE(align8(size) + n * 24, kChannelData) << "the request fits the channel";
  std::vector<uint64_t> buf((size + sizeof(mach_msg_max_trailer_t)) / 8 + 1, 0);
  auto* h = reinterpret_cast<mach_msg_header_t*>(buf.data());
  h->msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  h->msgh_size = mach_msg_size_t(size);
  h->msgh_remote_port = port;
  h->msgh_id = 4242;
  reinterpret_cast<mach_msg_body_t*>(h + 1)->msgh_descriptor_count = n;
  auto* d = reinterpret_cast<mach_msg_ool_descriptor_t*>(reinterpret_cast<uint8_t*>(h + 1) + sizeof(mach_msg_body_t));
  for (uint32_t i = 0; i < n; ++i) {
    d[i].address = nullptr;
    d[i].size = 0;
    d[i].deallocate = 0;
    d[i].copy = MACH_MSG_VIRTUAL_COPY;
    d[i].type = MACH_MSG_OOL_DESCRIPTOR;
  }
  mach_msg_return_t mr = mach_msg(h, MACH_SEND_MSG | MACH_SEND_TIMEOUT, mach_msg_size_t(size), 0, 0, 0, 0);
  if (mr == MACH_SEND_TOO_LARGE) {
    EXPECT_EQ(holdings().messages, 0u) << "nothing queued";
  } else {
    ASSERT_EQ(mr, MACH_MSG_SUCCESS);
    std::fill(buf.begin(), buf.end(), 0);
    mr = mach_msg(h, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, mach_msg_size_t(buf.size() * 8), port, 1000, 0);
    EXPECT_EQ(mr, MACH_MSG_SUCCESS);
    EXPECT_EQ(h->msgh_id, 4242);
  }
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
}

TEST(Messaging, OutOfLinePortArraysFillingTheChannelAreRefusedOrArriveWhole) {
  mach_port_t port = make_port();
  struct Msg {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_ool_ports_descriptor_t d[4];
  };
  const size_t full = 16383;  // the most names one descriptor may carry
  size_t left = kChannelData - align8(sizeof(Msg)) - 3 * (8 + align8(full * 4)) - 8;
  const size_t counts[4] = {full, full, full, left / 4};
  std::vector<std::vector<mach_port_name_t>> arrays;
  for (size_t c : counts) arrays.emplace_back(c, mach_port_name_t(MACH_PORT_NULL));
  arrays[3].back() = port;  // one real right, at the very end
  struct {
    Msg m;
    mach_msg_max_trailer_t t;
  } buf{};
  buf.m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  buf.m.head.msgh_size = sizeof(Msg);
  buf.m.head.msgh_remote_port = port;
  buf.m.head.msgh_id = 4343;
  buf.m.body.msgh_descriptor_count = 4;
  for (int i = 0; i < 4; ++i) {
    buf.m.d[i].address = arrays[i].data();
    buf.m.d[i].count = mach_msg_size_t(arrays[i].size());
    buf.m.d[i].deallocate = 0;
    buf.m.d[i].copy = MACH_MSG_PHYSICAL_COPY;
    buf.m.d[i].disposition = MACH_MSG_TYPE_COPY_SEND;
    buf.m.d[i].type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
  }
  mach_msg_return_t mr = mach_msg(&buf.m.head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof(Msg), 0, 0, 0, 0);
  if (mr == MACH_SEND_TOO_LARGE) {
    EXPECT_EQ(holdings().messages, 0u) << "nothing queued";
  } else {
    ASSERT_EQ(mr, MACH_MSG_SUCCESS);
    memset(&buf, 0, sizeof buf);
    mr = mach_msg(&buf.m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof buf, port, 1000, 0);
    ASSERT_EQ(mr, MACH_MSG_SUCCESS);
    EXPECT_EQ(buf.m.head.msgh_id, 4343);
    for (int i = 0; i < 4; ++i) {
      ASSERT_EQ(buf.m.d[i].count, counts[i]);
      ASSERT_NE(static_cast<void*>(buf.m.d[i].address), nullptr) << "array " << i << " lost";
      auto* names = static_cast<mach_port_name_t*>(buf.m.d[i].address);
      EXPECT_EQ(names[counts[i] - 1], i == 3 ? port : MACH_PORT_NULL);
      vm_deallocate(mach_task_self(), vm_address_t(names), counts[i] * sizeof(mach_port_name_t));
    }
    mach_port_deallocate(mach_task_self(), port);  // the right the array carried
  }
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
}

// More large out-of-line regions than one socket message carries fds
// (MACHD_MAX_FDS_PER_MSG = 64), copied or moved (vm_allocate'd, deallocate):
// the send succeeds and every region arrives; the sender is not cut off.
TEST(Messaging, MoreLargeOutOfLineRegionsThanFdsPerSocketMessage) {
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("manyfds", &port);
  constexpr uint32_t kN = 80;
  const size_t sizes[2] = {20000, 256 * 1024};  // each above the inline limit: a memfd
  struct Msg {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_ool_descriptor_t ool[kN];
  };
  pid_t child = spawn_task([&] {
    mach_port_t dest = look_up(name);
    for (int moved = 0; moved < 2; ++moved) {
      Msg m{};
      m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
      m.head.msgh_size = sizeof m;
      m.head.msgh_remote_port = dest;
      m.head.msgh_id = 77 + moved;
      m.body.msgh_descriptor_count = kN;
      for (uint32_t i = 0; i < kN; ++i) {
        vm_address_t a = 0;
        if (vm_allocate(mach_task_self(), &a, sizes[moved], VM_FLAGS_ANYWHERE) != KERN_SUCCESS) return 4;
        memset(reinterpret_cast<void*>(a), int(i + 1 + moved), sizes[moved]);
        m.ool[i].address = reinterpret_cast<void*>(a);
        m.ool[i].size = mach_msg_size_t(sizes[moved]);
        m.ool[i].deallocate = moved;
        m.ool[i].copy = MACH_MSG_VIRTUAL_COPY;
        m.ool[i].type = MACH_MSG_OOL_DESCRIPTOR;
      }
      mach_msg_return_t mr = mach_msg(&m.head, MACH_SEND_MSG, sizeof m, 0, 0, 0, 0);
      // Still connected afterwards, whatever the answer was.
      mach_port_t p = MACH_PORT_NULL;
      if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return 3;
      if (mr != MACH_MSG_SUCCESS) return send_simple(dest, 1, "refused") == MACH_MSG_SUCCESS ? 1 : 2;
    }
    return 0;
  });
  int code = reap_within(child, 10000);
  ASSERT_EQ(code, 0) << "1: refused, 2/3: cut off, 128+: crashed";
  for (int moved = 0; moved < 2; ++moved) {
    struct {
      Msg m;
      mach_msg_max_trailer_t t;
    } r{};
    ASSERT_EQ(mach_msg(&r.m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof r, port, 5000, 0), MACH_MSG_SUCCESS);
    EXPECT_EQ(r.m.head.msgh_id, 77 + moved);
    for (uint32_t i = 0; i < kN; ++i) {
      auto* p = static_cast<uint8_t*>(r.m.ool[i].address);
      ASSERT_NE(p, nullptr) << i;
      ASSERT_EQ(r.m.ool[i].size, sizes[moved]);
      EXPECT_EQ(p[0], uint8_t(i + 1 + moved));
      EXPECT_EQ(p[sizes[moved] - 1], uint8_t(i + 1 + moved));
      vm_deallocate(mach_task_self(), vm_address_t(p), sizes[moved]);
    }
  }
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

// XNU takes inline messages up to ipc_kmsg_max_body_space (48 MiB less a
// trailer); past the size of a channel they travel in a memfd (machd_abi.h).
TEST(Messaging, InlineMessagesLargerThanAChannelArriveWhole) {
  mach_port_t port = MACH_PORT_NULL;
  std::string name = check_in_unique("big-inline", &port);
  const size_t kBody = 1 << 20;
  struct Big {
    mach_msg_header_t head;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t right;
    uint8_t bytes[kBody];
  };
  pid_t child = spawn_task([&] {
    mach_port_t dest = look_up(name);
    auto m = std::make_unique<Big>();
    memset(m.get(), 0, sizeof(Big));
    m->head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
    m->head.msgh_size = sizeof(Big);
    m->head.msgh_remote_port = dest;
    m->head.msgh_id = 4242;
    m->body.msgh_descriptor_count = 1;
    m->right.name = mach_task_self();
    m->right.disposition = MACH_MSG_TYPE_COPY_SEND;
    m->right.type = MACH_MSG_PORT_DESCRIPTOR;
    for (size_t i = 0; i < kBody; ++i) m->bytes[i] = uint8_t(i * 7 + 1);
    return mach_msg(&m->head, MACH_SEND_MSG, sizeof(Big), 0, MACH_PORT_NULL, 0, MACH_PORT_NULL) == MACH_MSG_SUCCESS
               ? 0
               : 1;
  });
  struct Rcv {
    Big m;
    mach_msg_max_trailer_t trailer;
  };
  auto r = std::make_unique<Rcv>();
  // Too small a buffer first: MACH_RCV_LARGE reports the size, the message stays.
  mach_msg_header_t small{};
  ASSERT_EQ(mach_msg(&small, MACH_RCV_MSG | MACH_RCV_LARGE | MACH_RCV_TIMEOUT, 0, sizeof small, port, 5000, 0),
            MACH_RCV_TOO_LARGE);
  EXPECT_EQ(small.msgh_size, sizeof(Big));
  ASSERT_EQ(mach_msg(&r->m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT |
                                     MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT),
                     0, sizeof(Rcv), port, 5000, 0),
            MACH_MSG_SUCCESS);
  EXPECT_EQ(r->m.head.msgh_size, sizeof(Big));
  EXPECT_EQ(r->m.head.msgh_id, 4242);
  size_t bad = 0;
  for (size_t i = 0; i < kBody; ++i) bad += r->m.bytes[i] != uint8_t(i * 7 + 1);
  EXPECT_EQ(bad, 0u);
  mach_port_type_t type = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), r->m.right.name, &type), KERN_SUCCESS) << "the right came along";
  EXPECT_TRUE(type & (MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_DEAD_NAME)) << "(a dead name once the sender exits)";
  const auto* t = reinterpret_cast<const mach_msg_audit_trailer_t*>(&r->trailer);
  EXPECT_EQ(t->msgh_trailer_size, sizeof(mach_msg_audit_trailer_t));
  EXPECT_EQ(t->msgh_audit.val[5], uint32_t(child));
  EXPECT_EQ(wait_exit(child), 0);
  mach_port_deallocate(mach_task_self(), r->m.right.name);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(Messaging, InlineMessagesBeyondXnusLimitAreTooLarge) {
  mach_port_t port = make_port();
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  h.msgh_remote_port = port;
  const mach_msg_size_t size = (64u << 20) / 4u * 3u;  // more than 48 MiB less a trailer
  h.msgh_size = size;
  EXPECT_EQ(mach_msg(&h, MACH_SEND_MSG, size, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL), MACH_SEND_TOO_LARGE);
  mach_port_destroy(mach_task_self(), port);
}
