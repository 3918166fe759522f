// tests/system/xnu_conformance_test.cc — the checks of XNU's own user-space
// IPC tests (xnu/tests/*.c, xnu/tests/ipc/*.c), written again against a real
// machd. Each test names the XNU test it mirrors. XNU's tests use mach_msg2()
// in places; here the same messages go through mach_msg() (same semantics for
// scalar messages). Guard exceptions (EXC_GUARD) are not provided, so the
// checks that need them are left out.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mach_port.h>
#include <mach/task_info.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "support.h"

using namespace systest;

namespace {

constexpr mach_port_context_t kCtx = 0x42424242;

mach_port_t self() { return mach_task_self(); }

// mach_msg_transport.c: t_port_construct_full.
mach_port_name_t construct(uint32_t flags, mach_port_msgcount_t qlimit) {
  mach_port_options_t opts{};
  opts.flags = flags | MPO_QLIMIT;
  opts.mpl.mpl_qlimit = qlimit;
  mach_port_name_t name = MACH_PORT_NULL;
  EXPECT_EQ(mach_port_construct(self(), &opts, kCtx, &name), KERN_SUCCESS);
  return name;
}
mach_port_name_t construct() { return construct(MPO_INSERT_SEND_RIGHT, 1); }

void destruct(mach_port_name_t name, int srights, mach_port_context_t guard) {
  EXPECT_EQ(mach_port_destruct(self(), name, -srights, guard), KERN_SUCCESS) << std::hex << name;
}

mach_port_name_t make_sonce(mach_port_name_t port) {
  mach_port_name_t name = MACH_PORT_NULL;
  mach_msg_type_name_t disp = 0;
  EXPECT_EQ(mach_port_extract_right(self(), port, MACH_MSG_TYPE_MAKE_SEND_ONCE, &name, &disp), KERN_SUCCESS);
  EXPECT_EQ(disp, mach_msg_type_name_t(MACH_MSG_TYPE_PORT_SEND_ONCE));
  return name;
}

mach_port_type_t type_of(mach_port_name_t name) {
  mach_port_type_t t = 0;
  EXPECT_EQ(mach_port_type(self(), name, &t), KERN_SUCCESS);
  return t;
}

// t_send: a COPY_SEND to dest, no reply, id 42; `size` bytes from `msg`.
kern_return_t t_send(mach_port_name_t dest, mach_msg_header_t* msg, size_t size, bool complex,
                     mach_msg_option_t opts) {
  msg->msgh_bits = MACH_MSGH_BITS_SET(MACH_MSG_TYPE_COPY_SEND, 0, 0, complex ? MACH_MSGH_BITS_COMPLEX : 0);
  msg->msgh_size = mach_msg_size_t(size);
  msg->msgh_remote_port = dest;
  msg->msgh_local_port = MACH_PORT_NULL;
  msg->msgh_voucher_port = MACH_PORT_NULL;
  msg->msgh_id = 42;
  return mach_msg(msg, MACH_SEND_MSG | opts, mach_msg_size_t(size), 0, MACH_PORT_NULL, 0, MACH_PORT_NULL);
}

kern_return_t t_receive(mach_port_name_t name, mach_msg_header_t* msg, size_t size, mach_msg_option_t opts) {
  return mach_msg(msg, MACH_RCV_MSG | MACH_RCV_GUARDED_DESC | opts, 0, mach_msg_size_t(size), name, 0,
                  MACH_PORT_NULL);
}

void t_fill_port(mach_port_name_t dest, size_t n) {
  for (size_t i = 0; i < n; i++) {
    mach_msg_header_t h{};
    ASSERT_EQ(t_send(dest, &h, sizeof h, false, MACH_SEND_TIMEOUT), KERN_SUCCESS);
  }
}

// Sends `msg` (complex, one descriptor of `type`) to `rcv` and receives it
// back into the same buffer. Pseudo-receive (`rcv` already full): the send
// times out and hands the message back as a receive would have. Either way
// the header and body must then read as received.
template <typename Msg>
void t_transfer(mach_port_name_t rcv, Msg& msg, bool pseudo_receive, mach_msg_descriptor_type_t type) {
  kern_return_t kr = t_send(rcv, &msg.base.header, offsetof(Msg, trailer), true, MACH_SEND_TIMEOUT);
  if (pseudo_receive) {
    ASSERT_EQ(kr, MACH_SEND_TIMED_OUT);
  } else {
    ASSERT_EQ(kr, KERN_SUCCESS);
    ASSERT_EQ(t_receive(rcv, &msg.base.header, sizeof msg, 0), KERN_SUCCESS);
  }
  EXPECT_EQ(msg.base.header.msgh_bits & MACH_MSGH_BITS_COMPLEX, MACH_MSGH_BITS_COMPLEX);
  EXPECT_EQ(msg.base.body.msgh_descriptor_count, 1u);
  EXPECT_EQ(mach_msg_descriptor_type_t(msg.dsc.type), type);
}

mach_msg_type_name_t received_disposition(mach_msg_type_name_t sent) {
  switch (sent) {
    case MACH_MSG_TYPE_MOVE_RECEIVE: return MACH_MSG_TYPE_PORT_RECEIVE;
    case MACH_MSG_TYPE_MOVE_SEND:
    case MACH_MSG_TYPE_COPY_SEND:
    case MACH_MSG_TYPE_MAKE_SEND: return MACH_MSG_TYPE_PORT_SEND;
    default: return MACH_MSG_TYPE_PORT_SEND_ONCE;
  }
}

const mach_msg_type_name_t kDispositions[] = {
    MACH_MSG_TYPE_MOVE_RECEIVE, MACH_MSG_TYPE_MOVE_SEND,  MACH_MSG_TYPE_MOVE_SEND_ONCE,
    MACH_MSG_TYPE_COPY_SEND,    MACH_MSG_TYPE_MAKE_SEND,  MACH_MSG_TYPE_MAKE_SEND_ONCE,
};

}  // namespace

// ---- tests/ipc/port_api.c ----------------------------------------------------

TEST(XnuPortApi, InsertRightOnAPortSetNameIsInvalidRight) {
  mach_port_name_t pset = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_PORT_SET, &pset), KERN_SUCCESS);
  EXPECT_EQ(mach_port_insert_right(self(), pset, pset, MACH_MSG_TYPE_MAKE_SEND), KERN_INVALID_RIGHT);
  EXPECT_EQ(type_of(pset), MACH_PORT_TYPE_PORT_SET);
  EXPECT_EQ(mach_port_mod_refs(self(), pset, MACH_PORT_RIGHT_PORT_SET, -1), KERN_SUCCESS);
}

// ---- tests/mach_port_insert_right.c -------------------------------------------

TEST(XnuInsertRight, NameChecksAndRightExists) {
  mach_port_t port = MACH_PORT_NULL, port2 = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &port), KERN_SUCCESS);
  EXPECT_EQ(type_of(port), MACH_PORT_TYPE_RECEIVE);
  ASSERT_EQ(mach_port_insert_right(self(), port, port, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  EXPECT_EQ(type_of(port), MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND);

  // 123 = 0x7b: generation bits valid, index 0 (never a name).
  EXPECT_EQ(mach_port_insert_right(self(), 123, port, MACH_MSG_TYPE_MAKE_SEND), KERN_FAILURE);
  // 122: not a generation a name can have.
  EXPECT_EQ(mach_port_insert_right(self(), 122, port, MACH_MSG_TYPE_MAKE_SEND), KERN_INVALID_VALUE);

  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &port2), KERN_SUCCESS);
  EXPECT_EQ(type_of(port2), MACH_PORT_TYPE_RECEIVE);
  EXPECT_EQ(mach_port_insert_right(self(), port, port2, MACH_MSG_TYPE_MAKE_SEND), KERN_RIGHT_EXISTS);

  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_SEND, -1), KERN_SUCCESS);
  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(mach_port_mod_refs(self(), port2, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
}

// ---- tests/mach_port_mod_refs.c -----------------------------------------------

TEST(XnuModRefs, RightsANameDoesNotHold) {
  mach_port_t pset = MACH_PORT_NULL, port = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_PORT_SET, &pset), KERN_SUCCESS);
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &port), KERN_SUCCESS);

  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_SEND, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_SEND_ONCE, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_PORT_SET, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_DEAD_NAME, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_LABELH, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_NUMBER, -1), KERN_INVALID_VALUE);
  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_NUMBER + 1, -1), KERN_INVALID_VALUE);

  EXPECT_EQ(mach_port_mod_refs(self(), pset, MACH_PORT_RIGHT_SEND, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_mod_refs(self(), pset, MACH_PORT_RIGHT_SEND_ONCE, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_mod_refs(self(), pset, MACH_PORT_RIGHT_RECEIVE, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_mod_refs(self(), pset, MACH_PORT_RIGHT_DEAD_NAME, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_mod_refs(self(), pset, MACH_PORT_RIGHT_LABELH, -1), KERN_INVALID_RIGHT);
  EXPECT_EQ(mach_port_mod_refs(self(), pset, MACH_PORT_RIGHT_NUMBER, -1), KERN_INVALID_VALUE);
  EXPECT_EQ(mach_port_mod_refs(self(), pset, MACH_PORT_RIGHT_NUMBER + 1, -1), KERN_INVALID_VALUE);

  // Nothing was taken by the failures.
  EXPECT_EQ(type_of(port), MACH_PORT_TYPE_RECEIVE);
  EXPECT_EQ(type_of(pset), MACH_PORT_TYPE_PORT_SET);
  EXPECT_EQ(mach_port_mod_refs(self(), pset, MACH_PORT_RIGHT_PORT_SET, -1), KERN_SUCCESS);
  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
}

// ---- tests/mach_port_deallocate_21692215.c ------------------------------------

TEST(XnuDeallocate, DeallocateAlsoDestroysAPortSet) {
  mach_port_t pset = MACH_PORT_NULL;
  mach_port_t ports[4];
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_PORT_SET, &pset), KERN_SUCCESS);
  for (auto& p : ports) {
    ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &p), KERN_SUCCESS);
    ASSERT_EQ(mach_port_move_member(self(), p, pset), KERN_SUCCESS);
  }
  for (auto p : ports) EXPECT_EQ(mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  EXPECT_EQ(mach_port_deallocate(self(), pset), KERN_SUCCESS);
  mach_port_type_t t = 0;
  EXPECT_EQ(mach_port_type(self(), pset, &t), KERN_INVALID_NAME);
}

TEST(XnuDeallocate, DeallocateOfASetWithMembersStillDestroysIt) {
  mach_port_t pset = MACH_PORT_NULL, p = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_PORT_SET, &pset), KERN_SUCCESS);
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &p), KERN_SUCCESS);
  ASSERT_EQ(mach_port_move_member(self(), p, pset), KERN_SUCCESS);
  EXPECT_EQ(mach_port_deallocate(self(), pset), KERN_SUCCESS);
  mach_port_type_t t = 0;
  EXPECT_EQ(mach_port_type(self(), pset, &t), KERN_INVALID_NAME);
  mach_port_status_t st{};
  mach_msg_type_number_t n = MACH_PORT_RECEIVE_STATUS_COUNT;
  ASSERT_EQ(mach_port_get_attributes(self(), p, MACH_PORT_RECEIVE_STATUS, mach_port_info_t(&st), &n), KERN_SUCCESS);
  EXPECT_EQ(st.mps_pset, 0u) << "the member left the destroyed set";
  EXPECT_EQ(mach_port_mod_refs(self(), p, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
}

// ---- tests/ipc/port_peek.c ---------------------------------------------------

TEST(XnuPortPeek, PeekReportsIdAndKernelSizeThenReceiveStillWorks) {
  mach_port_t port = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &port), KERN_SUCCESS);
  struct {
    mach_msg_header_t header;
    char data[512];
    char trailer[128];
  } msg{};
  const mach_msg_size_t send_size = sizeof(msg) - 128;
  msg.header.msgh_remote_port = port;
  msg.header.msgh_id = 0x41414141;
  msg.header.msgh_bits = MACH_MSGH_BITS_SET(MACH_MSG_TYPE_MAKE_SEND, 0, 0, 0);
  msg.header.msgh_size = send_size;
  ASSERT_EQ(mach_msg(&msg.header, MACH_SEND_MSG, send_size, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL), KERN_SUCCESS);

  mach_port_seqno_t seqno = 0;
  mach_msg_trailer_type_t ttype =
      MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) | MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT);
  mach_msg_audit_trailer_t trailer{};
  mach_msg_type_number_t tsize = sizeof trailer;
  mach_msg_size_t size = 0;
  mach_msg_id_t id = 0;
  ASSERT_EQ(mach_port_peek(self(), port, ttype, &seqno, &size, &id, (mach_msg_trailer_info_t)&trailer, &tsize),
            KERN_SUCCESS);
  EXPECT_EQ(id, 0x41414141);
  // XNU reports the kernel's msgh_size: its header is 8 bytes longer than the
  // user's (USER_HEADER_SIZE_DELTA in the XNU test).
  EXPECT_EQ(size, send_size + 8);
  ASSERT_EQ(mach_msg(&msg.header, MACH_RCV_MSG, 0, sizeof msg, port, 0, MACH_PORT_NULL), KERN_SUCCESS);
  EXPECT_EQ(msg.header.msgh_size, send_size);
  EXPECT_EQ(mach_port_mod_refs(self(), port, MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
}

// ---- tests/ipc/mach_msg_transport.c: trailers ----------------------------------

TEST(XnuTransport, TrailerGeneration) {
  mach_port_name_t rcv = construct();
  security_token_t sec{};
  audit_token_t audit{};
  mach_msg_type_number_t count = TASK_SECURITY_TOKEN_COUNT;
  ASSERT_EQ(task_info(self(), TASK_SECURITY_TOKEN, task_info_t(&sec), &count), KERN_SUCCESS);
  count = TASK_AUDIT_TOKEN_COUNT;
  ASSERT_EQ(task_info(self(), TASK_AUDIT_TOKEN, task_info_t(&audit), &count), KERN_SUCCESS);

  const int kinds[] = {MACH_RCV_TRAILER_NULL,  MACH_RCV_TRAILER_SEQNO, MACH_RCV_TRAILER_SENDER,
                       MACH_RCV_TRAILER_AUDIT, MACH_RCV_TRAILER_CTX,   MACH_RCV_TRAILER_AV};
  for (int i : kinds) {
    mach_msg_option_t topts = MACH_RCV_TRAILER_ELEMENTS(i);
    mach_msg_size_t tsize = REQUESTED_TRAILER_SIZE(topts);
    struct {
      mach_msg_header_t hdr;
      mach_msg_max_trailer_t trailer;
      uint32_t sentinel;
    } buf;
    memset(&buf, 0xff, sizeof buf);
    ASSERT_EQ(t_send(rcv, &buf.hdr, sizeof buf.hdr, false, 0), KERN_SUCCESS) << i;
    ASSERT_EQ(t_receive(rcv, &buf.hdr, sizeof buf, topts), KERN_SUCCESS) << i;
    EXPECT_EQ(buf.hdr.msgh_size, sizeof buf.hdr) << i;
    EXPECT_EQ(buf.trailer.msgh_trailer_type, mach_msg_trailer_type_t(MACH_MSG_TRAILER_FORMAT_0)) << i;
    EXPECT_EQ(buf.trailer.msgh_trailer_size, tsize) << i;
    if (tsize > offsetof(mach_msg_max_trailer_t, msgh_sender)) {
      EXPECT_EQ(memcmp(&buf.trailer.msgh_sender, &sec, sizeof sec), 0) << i;
    }
    if (tsize > offsetof(mach_msg_max_trailer_t, msgh_audit)) {
      EXPECT_EQ(memcmp(&buf.trailer.msgh_audit, &audit, sizeof audit), 0) << i;
    }
    if (tsize > offsetof(mach_msg_max_trailer_t, msgh_context)) {
      EXPECT_EQ(uint64_t(buf.trailer.msgh_context), kCtx) << i;
    }
    if (tsize > offsetof(mach_msg_max_trailer_t, msgh_ad)) {
      EXPECT_EQ(buf.trailer.msgh_ad, 0) << i;
    }
    if (tsize > offsetof(mach_msg_max_trailer_t, msgh_labels)) {
      EXPECT_EQ(buf.trailer.msgh_labels.sender, 0) << i;
    }
    const uint8_t* rest = reinterpret_cast<const uint8_t*>(&buf.trailer) + tsize;
    size_t n = sizeof buf.trailer + sizeof buf.sentinel - tsize;
    for (size_t k = 0; k < n; k++) ASSERT_EQ(rest[k], 0xff) << "byte " << k << " past the trailer, kind " << i;
  }
  destruct(rcv, 1, 0);
}

// ---- tests/ipc/mach_msg_transport.c: port descriptors ----------------------------

namespace {

struct PortMsg {
  mach_msg_base_t base;
  mach_msg_port_descriptor_t dsc;
  mach_msg_max_trailer_t trailer;
};

void port_descriptors(bool pseudo_receive) {
  SCOPED_TRACE(pseudo_receive ? "pseudo-receive" : "receive");
  mach_port_name_t rcv = construct();
  mach_port_name_t port = construct();
  if (pseudo_receive) t_fill_port(rcv, 1);

  for (mach_msg_type_name_t disp : kDispositions) {
    SCOPED_TRACE(testing::Message() << "disposition " << disp);
    mach_port_name_t name = port;
    if (disp == MACH_MSG_TYPE_MOVE_SEND_ONCE) name = make_sonce(port);
    PortMsg msg{};
    msg.base.body.msgh_descriptor_count = 1;
    msg.dsc.type = MACH_MSG_PORT_DESCRIPTOR;
    msg.dsc.disposition = disp;
    msg.dsc.name = name;
    ASSERT_NO_FATAL_FAILURE(t_transfer(rcv, msg, pseudo_receive, MACH_MSG_PORT_DESCRIPTOR));
    mach_msg_type_name_t want = received_disposition(disp);
    EXPECT_EQ(mach_msg_type_name_t(msg.dsc.disposition), want);
    // A receive or send right for a port this task holds comes back under
    // the name it already has.
    if (want != MACH_MSG_TYPE_PORT_SEND_ONCE) {
      EXPECT_EQ(msg.dsc.name, name);
    }
    if (want == MACH_MSG_TYPE_PORT_SEND_ONCE) {
      EXPECT_EQ(type_of(msg.dsc.name), MACH_PORT_TYPE_SEND_ONCE);
      EXPECT_EQ(mach_port_deallocate(self(), msg.dsc.name), KERN_SUCCESS);
    }
  }
  EXPECT_EQ(type_of(port), MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND);
  mach_port_urefs_t refs = 0;
  EXPECT_EQ(mach_port_get_refs(self(), port, MACH_PORT_RIGHT_SEND, &refs), KERN_SUCCESS);
  EXPECT_EQ(refs, 3u) << "a COPY_SEND and a MAKE_SEND added one each";
  destruct(port, 3, 0);
  destruct(rcv, 1, 0);
}

}  // namespace

TEST(XnuTransport, PortDescriptors) { port_descriptors(false); }
TEST(XnuTransport, PortDescriptorsPseudoReceive) { port_descriptors(true); }

// ---- tests/ipc/mach_msg_transport.c: guarded port descriptors -------------------

namespace {

struct GuardedMsg {
  mach_msg_base_t base;
  mach_msg_guarded_port_descriptor_t dsc;
  mach_msg_max_trailer_t trailer;
};

void guarded_port_descriptors(bool pseudo_receive) {
  SCOPED_TRACE(pseudo_receive ? "pseudo-receive" : "receive");
  mach_port_name_t rcv = construct();
  if (pseudo_receive) t_fill_port(rcv, 1);
  const mach_msg_guard_flags_t flags[] = {
      MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE,
      MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE | MACH_MSG_GUARD_FLAGS_UNGUARDED_ON_SEND,
  };
  for (mach_msg_guard_flags_t f : flags) {
    SCOPED_TRACE(testing::Message() << "guard flags " << f);
    mach_port_name_t port = (f & MACH_MSG_GUARD_FLAGS_UNGUARDED_ON_SEND)
                                ? construct()
                                : construct(MPO_INSERT_SEND_RIGHT | MPO_CONTEXT_AS_GUARD, 1);
    GuardedMsg msg{};
    msg.base.body.msgh_descriptor_count = 1;
    msg.dsc.type = MACH_MSG_GUARDED_PORT_DESCRIPTOR;
    msg.dsc.disposition = MACH_MSG_TYPE_MOVE_RECEIVE;
    msg.dsc.name = port;
    msg.dsc.context = (f & MACH_MSG_GUARD_FLAGS_UNGUARDED_ON_SEND) ? 0 : kCtx;
    msg.dsc.flags = f;
    ASSERT_NO_FATAL_FAILURE(t_transfer(rcv, msg, pseudo_receive, MACH_MSG_GUARDED_PORT_DESCRIPTOR));
    EXPECT_EQ(mach_msg_type_name_t(msg.dsc.disposition), mach_msg_type_name_t(MACH_MSG_TYPE_PORT_RECEIVE));
    EXPECT_EQ(msg.dsc.name, port);
    // The receiver's copy is guarded with the address of the message buffer.
    mach_port_context_t ctx = mach_port_context_t(&msg.base);
    EXPECT_EQ(uint64_t(msg.dsc.context), uint64_t(ctx));
    mach_port_context_t got = 0;
    EXPECT_EQ(mach_port_get_context(self(), port, &got), KERN_SUCCESS);
    EXPECT_EQ(got, ctx);
    destruct(port, 1, ctx);
  }
  destruct(rcv, 1, 0);
}

}  // namespace

TEST(XnuTransport, GuardedPortDescriptors) { guarded_port_descriptors(false); }
TEST(XnuTransport, GuardedPortDescriptorsPseudoReceive) { guarded_port_descriptors(true); }

// ---- tests/ipc/mach_msg_transport.c: port array descriptors ----------------------

namespace {

struct PortArrayMsg {
  mach_msg_base_t base;
  mach_msg_ool_ports_descriptor_t dsc;
  mach_msg_max_trailer_t trailer;
  mach_port_name_t array[2];
};

void port_array_descriptors(bool pseudo_receive) {
  SCOPED_TRACE(pseudo_receive ? "pseudo-receive" : "receive");
  mach_port_name_t rcv = construct();
  mach_port_name_t port1 = construct();
  mach_port_name_t port2 = construct();
  if (pseudo_receive) t_fill_port(rcv, 1);

  for (mach_msg_type_name_t disp : kDispositions) {
    SCOPED_TRACE(testing::Message() << "disposition " << disp);
    mach_port_name_t name1 = port1, name2 = port2;
    if (disp == MACH_MSG_TYPE_MOVE_SEND_ONCE) {
      name1 = make_sonce(port1);
      name2 = make_sonce(port2);
    }
    PortArrayMsg msg{};
    msg.base.body.msgh_descriptor_count = 1;
    msg.dsc.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
    msg.dsc.disposition = disp;
    msg.dsc.address = msg.array;
    msg.dsc.count = 2;
    msg.dsc.deallocate = false;
    msg.array[0] = name1;
    msg.array[1] = name2;
    ASSERT_NO_FATAL_FAILURE(t_transfer(rcv, msg, pseudo_receive, MACH_MSG_OOL_PORTS_DESCRIPTOR));
    mach_msg_type_name_t want = received_disposition(disp);
    auto* array = static_cast<mach_port_name_t*>(msg.dsc.address);
    EXPECT_EQ(mach_msg_type_name_t(msg.dsc.disposition), want);
    EXPECT_EQ(msg.dsc.count, 2u);
    EXPECT_TRUE(bool(msg.dsc.deallocate)) << "received arrays are the receiver's to deallocate";
    ASSERT_NE(array, nullptr);
    EXPECT_NE(array, msg.array) << "the array is new memory";
    if (want != MACH_MSG_TYPE_PORT_SEND_ONCE) {
      EXPECT_EQ(array[0], name1);
      EXPECT_EQ(array[1], name2);
    } else {
      EXPECT_EQ(mach_port_deallocate(self(), array[0]), KERN_SUCCESS);
      EXPECT_EQ(mach_port_deallocate(self(), array[1]), KERN_SUCCESS);
    }
    EXPECT_EQ(vm_deallocate(self(), vm_address_t(array), sizeof(array[0]) * msg.dsc.count), KERN_SUCCESS);
  }
  destruct(port1, 3, 0);
  destruct(port2, 3, 0);
  destruct(rcv, 1, 0);
}

}  // namespace

TEST(XnuTransport, PortArrayDescriptors) { port_array_descriptors(false); }
TEST(XnuTransport, PortArrayDescriptorsPseudoReceive) { port_array_descriptors(true); }

// ---- tests/ipc/mach_msg_transport.c: memory descriptors ---------------------------

namespace {

struct MemoryMsg {
  mach_msg_base_t base;
  mach_msg_ool_descriptor_t dsc;
  mach_msg_max_trailer_t trailer;
};

bool all_ff(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0xff) return false;
  return true;
}

void memory_descriptors(bool pseudo_receive) {
  SCOPED_TRACE(pseudo_receive ? "pseudo-receive" : "receive");
  mach_port_name_t rcv = construct();
  if (pseudo_receive) t_fill_port(rcv, 1);
  const mach_msg_size_t size = 1u << 20;
  vm_address_t addr = 0;
  ASSERT_EQ(vm_allocate(self(), &addr, size, VM_FLAGS_ANYWHERE), KERN_SUCCESS);
  memset(reinterpret_cast<void*>(addr), 0xff, size);

  for (int n = 0; n < 2; n++) {
    SCOPED_TRACE(n ? "deallocate" : "copy");
    MemoryMsg msg{};
    msg.base.body.msgh_descriptor_count = 1;
    msg.dsc.type = MACH_MSG_OOL_DESCRIPTOR;
    msg.dsc.address = reinterpret_cast<void*>(addr);
    msg.dsc.size = size;
    msg.dsc.deallocate = n > 0;
    ASSERT_NO_FATAL_FAILURE(t_transfer(rcv, msg, pseudo_receive, MACH_MSG_OOL_DESCRIPTOR));
    EXPECT_EQ(msg.dsc.size, size);
    ASSERT_NE(static_cast<void*>(msg.dsc.address), nullptr);
    EXPECT_TRUE(all_ff(msg.dsc.address, size));
    if (n == 0) {
      EXPECT_EQ(vm_deallocate(self(), vm_address_t(msg.dsc.address), size), KERN_SUCCESS);
    } else {
      addr = vm_address_t(msg.dsc.address);
    }
  }
  EXPECT_EQ(vm_deallocate(self(), addr, size), KERN_SUCCESS);
  destruct(rcv, 1, 0);
}

}  // namespace

TEST(XnuTransport, MemoryDescriptors) { memory_descriptors(false); }
TEST(XnuTransport, MemoryDescriptorsPseudoReceive) { memory_descriptors(true); }

// ---- tests/ipc/mach_msg2.c: a scalar message sent and received with mach_msg ------

TEST(XnuMachMsg2, ScalarMessageHeaderAfterReceive) {
  mach_port_t send_port = MACH_PORT_NULL, rcv_port = MACH_PORT_NULL;
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &send_port), KERN_SUCCESS);
  ASSERT_EQ(mach_port_allocate(self(), MACH_PORT_RIGHT_RECEIVE, &rcv_port), KERN_SUCCESS);
  ASSERT_EQ(mach_port_insert_right(self(), rcv_port, rcv_port, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  struct Inline {
    mach_msg_header_t header;
    uint64_t data;
  };
  struct {
    Inline msg;
    mach_msg_max_trailer_t trailer;
  } buf{};
  buf.msg.header.msgh_bits = MACH_MSGH_BITS_SET(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND, 0, 0);
  buf.msg.header.msgh_size = sizeof(Inline);
  buf.msg.header.msgh_remote_port = rcv_port;
  buf.msg.header.msgh_local_port = send_port;
  buf.msg.header.msgh_id = 4141;
  buf.msg.data = 0xdeadcafedeadfaceull;
  ASSERT_EQ(mach_msg(&buf.msg.header, MACH_SEND_MSG, sizeof(Inline), 0, MACH_PORT_NULL, 0, MACH_PORT_NULL),
            KERN_SUCCESS);
  memset(&buf, 0, sizeof buf);
  ASSERT_EQ(mach_msg(&buf.msg.header, MACH_RCV_MSG, 0, sizeof buf, rcv_port, 0, MACH_PORT_NULL), KERN_SUCCESS);
  EXPECT_EQ(buf.msg.data, 0xdeadcafedeadfaceull);
  EXPECT_EQ(buf.msg.header.msgh_remote_port, send_port);
  EXPECT_EQ(buf.msg.header.msgh_local_port, rcv_port);
  EXPECT_EQ(buf.msg.header.msgh_id, 4141);
  EXPECT_EQ(MACH_MSGH_BITS_REMOTE(buf.msg.header.msgh_bits), mach_msg_bits_t(MACH_MSG_TYPE_PORT_SEND));
  EXPECT_EQ(MACH_MSGH_BITS_LOCAL(buf.msg.header.msgh_bits), mach_msg_bits_t(MACH_MSG_TYPE_PORT_SEND));
  // The reply send right merged into send_port's entry.
  EXPECT_EQ(type_of(send_port), MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND);
  EXPECT_EQ(mach_port_destruct(self(), send_port, -1, 0), KERN_SUCCESS);
  EXPECT_EQ(mach_port_destruct(self(), rcv_port, -1, 0), KERN_SUCCESS);
}

// ---- tests/ipc_mach_port.c: right deduplication across tasks ----------------------

namespace {

struct OnePortMsg {
  mach_msg_header_t header;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port_descriptor;
  mach_msg_trailer_t trailer;
};

kern_return_t send_port(mach_msg_id_t id, mach_port_t dest, mach_port_t right, mach_msg_type_name_t disp) {
  OnePortMsg msg{};
  msg.header.msgh_remote_port = dest;
  msg.header.msgh_bits = MACH_MSGH_BITS_SET(MACH_MSG_TYPE_COPY_SEND, 0, 0, MACH_MSGH_BITS_COMPLEX);
  msg.header.msgh_id = id;
  msg.header.msgh_size = offsetof(OnePortMsg, trailer);
  msg.body.msgh_descriptor_count = 1;
  msg.port_descriptor.name = right;
  msg.port_descriptor.disposition = disp;
  msg.port_descriptor.type = MACH_MSG_PORT_DESCRIPTOR;
  return mach_msg(&msg.header, MACH_SEND_MSG | MACH_SEND_TIMEOUT, msg.header.msgh_size, 0, MACH_PORT_NULL, 10000,
                  MACH_PORT_NULL);
}

mach_port_t receive_port(mach_msg_id_t id, mach_port_t rcv, mach_msg_type_name_t disp) {
  OnePortMsg msg{};
  kern_return_t kr = mach_msg(&msg.header, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof msg, rcv, 10000, MACH_PORT_NULL);
  EXPECT_EQ(kr, KERN_SUCCESS) << id;
  EXPECT_EQ(msg.header.msgh_id, id);
  EXPECT_NE(msg.header.msgh_bits & MACH_MSGH_BITS_COMPLEX, 0u);
  EXPECT_EQ(msg.body.msgh_descriptor_count, 1u);
  EXPECT_EQ(mach_msg_type_name_t(msg.port_descriptor.disposition), disp) << id;
  return msg.port_descriptor.name;
}

}  // namespace

TEST(XnuIpcMachPort, RightDeduplication) {
  mach_port_t svc = MACH_PORT_NULL;
  std::string service = check_in_unique("xnu.right_dedup", &svc);
  pid_t child = spawn_task([&]() -> int {
    mach_port_t dest = look_up(service);
    if (dest == MACH_PORT_NULL) return 1;
    mach_port_options_t opts{};
    opts.flags = MPO_INSERT_SEND_RIGHT;
    const mach_msg_type_name_t orders[3][3] = {
        {MACH_MSG_TYPE_MOVE_RECEIVE, MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MOVE_SEND},
        {MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MOVE_RECEIVE, MACH_MSG_TYPE_MOVE_SEND},
        {MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MOVE_SEND, MACH_MSG_TYPE_MOVE_RECEIVE},
    };
    mach_msg_id_t id = 1;
    for (auto& order : orders) {
      mach_port_t port = MACH_PORT_NULL;
      if (mach_port_construct(mach_task_self(), &opts, 0, &port) != KERN_SUCCESS) return 2;
      for (mach_msg_type_name_t d : order)
        if (send_port(id++, dest, port, d) != KERN_SUCCESS) return 3;
    }
    return 0;
  });
  const mach_msg_type_name_t R = MACH_MSG_TYPE_PORT_RECEIVE, S = MACH_MSG_TYPE_PORT_SEND;
  const mach_msg_type_name_t expect[3][3] = {{R, S, S}, {S, R, S}, {S, S, R}};
  mach_msg_id_t id = 1;
  for (auto& order : expect) {
    mach_port_t ports[3];
    for (int i = 0; i < 3; i++) {
      ports[i] = receive_port(id, svc, order[i]);
      id++;
    }
    EXPECT_EQ(ports[0], ports[1]);
    EXPECT_EQ(ports[0], ports[2]);
    EXPECT_EQ(type_of(ports[0]), MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND);
    EXPECT_EQ(mach_port_mod_refs(self(), ports[0], MACH_PORT_RIGHT_SEND, -2), KERN_SUCCESS);
    EXPECT_EQ(mach_port_mod_refs(self(), ports[0], MACH_PORT_RIGHT_RECEIVE, -1), KERN_SUCCESS);
  }
  EXPECT_EQ(wait_exit(child), 0);
  mach_port_mod_refs(self(), svc, MACH_PORT_RIGHT_RECEIVE, -1);
}

// ---- tests/ipc/mach_port_construct_errors.c -----------------------------------

TEST(XnuConstruct, QlimitAboveTheMaximumIsInvalidValue) {
  mach_port_options_t opts{};
  opts.flags = MPO_QLIMIT;
  opts.mpl.mpl_qlimit = MACH_PORT_QLIMIT_MAX + 1;
  mach_port_t port = MACH_PORT_NULL;
  EXPECT_EQ(mach_port_construct(self(), &opts, 0, &port), KERN_INVALID_VALUE);
}

// ---- tests/immovable_rights.c ------------------------------------------------

TEST(XnuImmovableRights, ImmovableReceiveGuardShowsInStatusAndGuardsSwap) {
  mach_port_t imm = MACH_PORT_NULL;
  mach_port_options_t opts{};
  opts.flags = MPO_CONTEXT_AS_GUARD | MPO_IMMOVABLE_RECEIVE;
  ASSERT_EQ(mach_port_construct(self(), &opts, 0x10, &imm), KERN_SUCCESS);
  mach_port_status_t st{};
  mach_msg_type_number_t n = MACH_PORT_RECEIVE_STATUS_COUNT;
  ASSERT_EQ(mach_port_get_attributes(self(), imm, MACH_PORT_RECEIVE_STATUS, mach_port_info_t(&st), &n), KERN_SUCCESS);
  EXPECT_NE(st.mps_flags & MACH_PORT_STATUS_FLAG_GUARD_IMMOVABLE_RECEIVE, 0u);
  EXPECT_NE(st.mps_flags & MACH_PORT_STATUS_FLAG_GUARDED, 0u);

  mach_port_t imm2 = MACH_PORT_NULL;
  mach_port_options_t opts2{};
  ASSERT_EQ(mach_port_construct(self(), &opts2, 0, &imm2), KERN_SUCCESS);
  ASSERT_EQ(mach_port_guard_with_flags(self(), imm2, 0x11, MPG_IMMOVABLE_RECEIVE), KERN_SUCCESS);
  n = MACH_PORT_RECEIVE_STATUS_COUNT;
  ASSERT_EQ(mach_port_get_attributes(self(), imm2, MACH_PORT_RECEIVE_STATUS, mach_port_info_t(&st), &n), KERN_SUCCESS);
  EXPECT_NE(st.mps_flags & MACH_PORT_STATUS_FLAG_GUARD_IMMOVABLE_RECEIVE, 0u);
  EXPECT_EQ(mach_port_swap_guard(self(), imm2, 0x11, 0xde18), KERN_SUCCESS);
  EXPECT_EQ(mach_port_unguard(self(), imm2, 0xde18), KERN_SUCCESS);
  n = MACH_PORT_RECEIVE_STATUS_COUNT;
  ASSERT_EQ(mach_port_get_attributes(self(), imm2, MACH_PORT_RECEIVE_STATUS, mach_port_info_t(&st), &n), KERN_SUCCESS);
  EXPECT_EQ(st.mps_flags & (MACH_PORT_STATUS_FLAG_GUARDED | MACH_PORT_STATUS_FLAG_GUARD_IMMOVABLE_RECEIVE), 0u);

  EXPECT_EQ(mach_port_destruct(self(), imm, 0, 0x10), KERN_SUCCESS);
  EXPECT_EQ(mach_port_destruct(self(), imm2, 0, 0), KERN_SUCCESS);
}
