// tests/system/task_port_mig_test.cc — the mach_port subsystem served on the
// task port: requests built exactly as Apple's MIG lays them out (ids and
// offsets from the mach_port interface), sent to mach_task_self().
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mig_errors.h>
#include <mach/notify.h>

#include <algorithm>
#include <cstring>

#include "support.h"

using namespace systest;

namespace {

#pragma pack(push, 4)
struct AllocateRequest {
  mach_msg_header_t Head;
  NDR_record_t NDR;
  mach_port_right_t right;
};
struct AllocateReply {
  mach_msg_header_t Head;
  NDR_record_t NDR;
  kern_return_t RetCode;
  mach_port_name_t name;
  mach_msg_max_trailer_t trailer;
};
struct NamesReply {
  mach_msg_header_t Head;
  mach_msg_body_t msgh_body;
  mach_msg_ool_descriptor_t names;
  mach_msg_ool_descriptor_t types;
  NDR_record_t NDR;
  mach_msg_type_number_t namesCnt;
  mach_msg_type_number_t typesCnt;
  mach_msg_max_trailer_t trailer;
};
struct InsertRightRequest {
  mach_msg_header_t Head;
  mach_msg_body_t msgh_body;
  mach_msg_port_descriptor_t poly;
  NDR_record_t NDR;
  mach_port_name_t name;
};
struct NotifyRequest {
  mach_msg_header_t Head;
  mach_msg_body_t msgh_body;
  mach_msg_port_descriptor_t notify;
  NDR_record_t NDR;
  mach_port_name_t name;
  mach_msg_id_t msgid;
  mach_port_mscount_t sync;
};
struct PortReply {
  mach_msg_header_t Head;
  mach_msg_body_t msgh_body;
  mach_msg_port_descriptor_t port;
  mach_msg_max_trailer_t trailer;
};
struct ErrorReply {
  mig_reply_error_t r;
  mach_msg_max_trailer_t trailer;
};
#pragma pack(pop)
static_assert(sizeof(AllocateRequest) == 36);
static_assert(sizeof(InsertRightRequest) == 52);
static_assert(sizeof(NotifyRequest) == 60);

// Sends a request to the task port and receives the reply into `reply`.
mach_msg_return_t rpc(void* req, mach_msg_size_t size, mach_msg_id_t id, bool complex, void* reply,
                      mach_msg_size_t reply_size) {
  auto* h = static_cast<mach_msg_header_t*>(req);
  mach_port_t rp = mig_get_reply_port();
  h->msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE) |
                 (complex ? MACH_MSGH_BITS_COMPLEX : 0);
  h->msgh_size = size;
  h->msgh_remote_port = mach_task_self();
  h->msgh_local_port = rp;
  h->msgh_id = id;
  return mach_msg_overwrite(h, MACH_SEND_MSG | MACH_RCV_MSG | MACH_RCV_TIMEOUT, size, reply_size, rp, 5000,
                            MACH_PORT_NULL, static_cast<mach_msg_header_t*>(reply), 0);
}

}  // namespace

TEST(TaskPortMig, AllocateThroughTheTaskPortGivesARealReceiveRight) {
  AllocateRequest req{};
  req.NDR = NDR_record;
  req.right = MACH_PORT_RIGHT_RECEIVE;
  AllocateReply rep{};
  ASSERT_EQ(rpc(&req, sizeof req, 3204, false, &rep, sizeof rep), MACH_MSG_SUCCESS);
  EXPECT_EQ(rep.Head.msgh_id, 3304);
  ASSERT_EQ(rep.RetCode, KERN_SUCCESS);
  mach_port_type_t t = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), rep.name, &t), KERN_SUCCESS);
  EXPECT_EQ(t, MACH_PORT_TYPE_RECEIVE);
  mach_port_mod_refs(mach_task_self(), rep.name, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(TaskPortMig, NamesComeBackOutOfLine) {
  mach_port_t mine = make_port();
  mach_msg_header_t req{};
  NamesReply rep{};
  ASSERT_EQ(rpc(&req, sizeof req, 3200, false, &rep, sizeof rep), MACH_MSG_SUCCESS);
  ASSERT_TRUE(rep.Head.msgh_bits & MACH_MSGH_BITS_COMPLEX);
  ASSERT_EQ(rep.msgh_body.msgh_descriptor_count, 2u);
  ASSERT_EQ(rep.namesCnt, rep.typesCnt);
  auto* names = static_cast<mach_port_name_t*>(rep.names.address);
  auto* types = static_cast<mach_port_type_t*>(rep.types.address);
  ASSERT_NE(names, nullptr);
  auto it = std::find(names, names + rep.namesCnt, mine);
  ASSERT_NE(it, names + rep.namesCnt);
  EXPECT_EQ(types[it - names], MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND);
  vm_deallocate(mach_task_self(), vm_address_t(rep.names.address), rep.names.size);
  vm_deallocate(mach_task_self(), vm_address_t(rep.types.address), rep.types.size);
  mach_port_mod_refs(mach_task_self(), mine, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), mine);
}

TEST(TaskPortMig, InsertRightCarriesTheRightInTheRequest) {
  mach_port_t p = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p), KERN_SUCCESS);
  InsertRightRequest req{};
  req.msgh_body.msgh_descriptor_count = 1;
  req.poly.name = p;
  req.poly.disposition = MACH_MSG_TYPE_MAKE_SEND;
  req.poly.type = MACH_MSG_PORT_DESCRIPTOR;
  req.NDR = NDR_record;
  req.name = p;
  ErrorReply rep{};
  ASSERT_EQ(rpc(&req, sizeof req, 3214, true, &rep, sizeof rep), MACH_MSG_SUCCESS);
  EXPECT_EQ(rep.r.RetCode, KERN_SUCCESS);
  mach_port_type_t t = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), p, &t), KERN_SUCCESS);
  EXPECT_EQ(t, MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), p);
}

TEST(TaskPortMig, NoSendersRequestThroughTheTaskPortFires) {
  mach_port_t p = MACH_PORT_NULL, notify = make_port();
  ASSERT_EQ(mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p), KERN_SUCCESS);
  NotifyRequest req{};
  req.msgh_body.msgh_descriptor_count = 1;
  req.notify.name = notify;
  req.notify.disposition = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  req.notify.type = MACH_MSG_PORT_DESCRIPTOR;
  req.NDR = NDR_record;
  req.name = p;
  req.msgid = MACH_NOTIFY_NO_SENDERS;
  req.sync = 0;
  PortReply rep{};
  ASSERT_EQ(rpc(&req, sizeof req, 3213, true, &rep, sizeof rep), MACH_MSG_SUCCESS);
  ASSERT_TRUE(rep.Head.msgh_bits & MACH_MSGH_BITS_COMPLEX) << "the reply carries the previous right (null)";
  EXPECT_EQ(rep.port.name, MACH_PORT_NULL);
  // No senders at all and mscount 0 >= sync 0: it fires at once.
  union {
    mach_no_senders_notification_t n;
    uint8_t space[256];
  } m{};
  ASSERT_EQ(mach_msg(&m.n.not_header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, notify, 2000, 0),
            MACH_MSG_SUCCESS);
  EXPECT_EQ(m.n.not_header.msgh_id, MACH_NOTIFY_NO_SENDERS);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_mod_refs(mach_task_self(), notify, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), notify);
}

TEST(TaskPortMig, ExtractRightMovesTheRightOutInTheReply) {
  mach_port_t p = make_port();
  struct {
    mach_msg_header_t Head;
    NDR_record_t NDR;
    mach_port_name_t name;
    mach_msg_type_name_t msgt_name;
  } req{};
  req.NDR = NDR_record;
  req.name = p;
  req.msgt_name = MACH_MSG_TYPE_MAKE_SEND_ONCE;
  PortReply rep{};
  ASSERT_EQ(rpc(&req, sizeof req, 3215, false, &rep, sizeof rep), MACH_MSG_SUCCESS);
  ASSERT_TRUE(rep.Head.msgh_bits & MACH_MSGH_BITS_COMPLEX);
  EXPECT_EQ(rep.port.disposition, MACH_MSG_TYPE_PORT_SEND_ONCE);
  mach_port_type_t t = 0;
  ASSERT_EQ(mach_port_type(mach_task_self(), rep.port.name, &t), KERN_SUCCESS);
  EXPECT_EQ(t, MACH_PORT_TYPE_SEND_ONCE);
  mach_port_deallocate(mach_task_self(), rep.port.name);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), p);
}

TEST(TaskPortMig, UnknownIdIsMigBadId) {
  mach_msg_header_t req{};
  ErrorReply rep{};
  ASSERT_EQ(rpc(&req, sizeof req, 3299, false, &rep, sizeof rep), MACH_MSG_SUCCESS);
  EXPECT_EQ(rep.r.Head.msgh_id, 3399);
  EXPECT_EQ(rep.r.RetCode, MIG_BAD_ID);
}
