// Round trips through the stubs mig generates for roundtrip.defs, over an
// in-process fake kernel (fake_kernel.h): C user stubs against the C
// server, the typed C++ client against the C++ server, and across. Each
// test ends by checking that no right and no out-of-line region leaked and
// that the kernel saw no misuse.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>

#include "fake_kernel.h"
#include "roundtrip.hpp"

extern "C" {
extern int rt_oneway_last;
boolean_t roundtrip_server(mach_msg_header_t* InHeadP, mach_msg_header_t* OutHeadP);
}

namespace {

using fake::PortState;

class RoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    fake::reset();
    (void)mig_get_reply_port();
    server_ = fake::new_port(1);
    before_ = fake::snapshot();
  }
  void TearDown() override {
    fake::Snapshot after = fake::snapshot();
    EXPECT_EQ(before_.regions.size(), after.regions.size()) << "out-of-line memory leaked";
    for (const auto& [name, st] : before_.ports) {
      PortState now = fake::port(name);
      EXPECT_EQ(now.send, st.send) << "send rights of " << name;
      EXPECT_EQ(now.send_once, st.send_once) << "send-once rights of " << name;
      EXPECT_EQ(now.receive, st.receive) << "receive right of " << name;
    }
    for (const auto& [name, st] : after.ports)
      EXPECT_TRUE(before_.ports.count(name)) << "right leaked on new name " << name;
    for (const auto& e : fake::errors()) ADD_FAILURE() << "kernel: " << e;
  }
  void use_c_server() {
    fake::set_server([](mach_msg_header_t* in, mach_msg_header_t* out) {
      return roundtrip_server(in, out) != FALSE;
    });
  }
  void use_cxx_server(mig::roundtrip::Server& s) {
    fake::set_server([&s](mach_msg_header_t* in, mach_msg_header_t* out) {
      return s.dispatch(in, out);
    });
  }
  // Rights and memory a test hands away on purpose are not leaks.
  void expect_gone(mach_port_name_t name, PortState now) { before_.ports[name] = now; }

  mach_port_t server_ = MACH_PORT_NULL;
  fake::Snapshot before_;
};

// ------------------------------------------------------- C against C ----

TEST_F(RoundTrip, AddReturnsTheSum) {
  use_c_server();
  int sum = 0;
  ASSERT_EQ(rt_add(server_, 40, 2, &sum), KERN_SUCCESS);
  EXPECT_EQ(sum, 42);
  EXPECT_EQ(fake::last_request_id(), 7700);
  EXPECT_EQ(fake::last_request_size(), 24u + 8 + 4 + 4);
}

TEST_F(RoundTrip, ScalarsOfEverySizeKeepTheirValuesAndPadding) {
  use_c_server();
  int16_t os = 0;
  uint8_t ou = 0;
  int64_t ow = 0;
  rt_point_t op{};
  int acc = 1;
  ASSERT_EQ(rt_scalars(server_, -7, 254, INT64_C(1) << 40, rt_point_t{3, 4}, &os, &ou, &ow, &op,
                       &acc),
            KERN_SUCCESS);
  EXPECT_EQ(os, -14);
  EXPECT_EQ(ou, 255);
  EXPECT_EQ(ow, INT64_C(3) << 40);
  EXPECT_EQ(op.x, 4);
  EXPECT_EQ(op.y, 3);
  EXPECT_EQ(acc, 101);
  // Head, NDR, s+pad, u+pad, w, p, acc: every field padded to 4 bytes.
  EXPECT_EQ(fake::last_request_size(), 24u + 8 + 4 + 4 + 8 + 8 + 4);
}

TEST_F(RoundTrip, VariableArraysAreCompactedOnTheWire) {
  use_c_server();
  int32_t xs[3] = {1, 2, 3};
  int16_t ss[3] = {5, 6, 7};
  int32_t oxs[32];
  int16_t oss[9];
  mach_msg_type_number_t oxsCnt = 32, ossCnt = 2;  // countinout: room for 2
  int otail = 0;
  ASSERT_EQ(rt_arrays(server_, xs, 3, ss, 3, 10, oxs, &oxsCnt, oss, &ossCnt, &otail),
            KERN_SUCCESS);
  // Head, NDR, xsCnt, 3 ints, ssCnt, 3 shorts rounded to 8, tail, ossCnt.
  EXPECT_EQ(fake::last_request_size(), 24u + 8 + 4 + 12 + 4 + 8 + 4 + 4);
  ASSERT_EQ(oxsCnt, 3u);
  EXPECT_EQ(oxs[0], 3);
  EXPECT_EQ(oxs[2], 1);
  ASSERT_EQ(ossCnt, 2u);
  EXPECT_EQ(oss[0], 10);
  EXPECT_EQ(oss[1], 12);
  EXPECT_EQ(otail, 16);
}

TEST_F(RoundTrip, ArrayLargerThanItsBoundIsRejectedBeforeSending) {
  use_c_server();
  int32_t xs[33] = {};
  int32_t oxs[32];
  int16_t oss[9];
  mach_msg_type_number_t oxsCnt = 32, ossCnt = 9;
  int otail = 0;
  mach_msg_id_t before = fake::last_request_id();
  EXPECT_EQ(rt_arrays(server_, xs, 33, nullptr, 0, 0, oxs, &oxsCnt, oss, &ossCnt, &otail),
            MIG_ARRAY_TOO_LARGE);
  EXPECT_EQ(fake::last_request_id(), before);
}

TEST_F(RoundTrip, SameCountArraysShareOneCount) {
  use_c_server();
  int32_t a[32], b[32];
  mach_msg_type_number_t n = 32;
  int c = 0;
  ASSERT_EQ(rt_samecount(server_, 5, a, &n, b, &c), KERN_SUCCESS);
  ASSERT_EQ(n, 5u);
  EXPECT_EQ(a[4], 4);
  EXPECT_EQ(b[4], 16);
  EXPECT_EQ(c, -5);
}

TEST_F(RoundTrip, StringsRoundTripAndAreTruncatedToTheirBound) {
  use_c_server();
  rt_name_t oname;
  char otext[100];
  int on = 0;
  ASSERT_EQ(rt_strings(server_, const_cast<char*>("world"), const_cast<char*>("abc"), 1, oname,
                       otext, &on),
            KERN_SUCCESS);
  EXPECT_STREQ(oname, "hello world");
  EXPECT_STREQ(otext, "abc!");
  EXPECT_EQ(on, 4);
  std::string longname(60, 'x');
  ASSERT_EQ(rt_strings(server_, longname.data(), const_cast<char*>(""), 0, oname, otext, &on),
            KERN_SUCCESS);
  EXPECT_EQ(std::strlen(oname), 39u);  // "hello " + 33 x's
}

TEST_F(RoundTrip, OutOfLineMemoryMovesWithoutLeaks) {
  use_c_server();
  uint8_t data[5] = {1, 2, 3, 4, 5};
  auto* ints = static_cast<int32_t*>(fake::allocate(3 * sizeof(int32_t)));  // dealloc: moved
  ints[0] = 10;
  ints[1] = 20;
  ints[2] = 30;
  rt_bytes_t odata = nullptr;
  rt_ool_ints_t oints = nullptr;
  mach_msg_type_number_t odataCnt = 0, ointsCnt = 0;
  ASSERT_EQ(rt_ool(server_, data, 5, ints, 3, &odata, &odataCnt, &oints, &ointsCnt),
            KERN_SUCCESS);
  ASSERT_EQ(odataCnt, 5u);
  EXPECT_EQ(odata[0], 5);
  EXPECT_EQ(odata[4], 1);
  ASSERT_EQ(ointsCnt, 3u);
  EXPECT_EQ(oints[2], 31);
  vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(odata), odataCnt);
  vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(oints),
                ointsCnt * sizeof(int32_t));
}

TEST_F(RoundTrip, PortRightsRoundTripWithoutLeaks) {
  use_c_server();
  mach_port_t a = fake::new_port(), b = fake::new_port(), c = fake::new_port(),
              d = fake::new_port(), e = fake::new_port();
  before_ = fake::snapshot();
  mach_port_t list[2] = {c, d};
  mach_port_t ool[1] = {e};
  mach_port_t got = MACH_PORT_NULL, opoly = MACH_PORT_NULL;
  mach_msg_type_name_t opolyPoly = 0;
  mach_port_t olist[4] = {};
  mach_msg_type_number_t olistCnt = 4, ooolCnt = 0;
  rt_ool_ports_t oool = nullptr;
  ASSERT_EQ(rt_ports(server_, a, b, MACH_MSG_TYPE_MAKE_SEND, list, 2, ool, 1, &got, &opoly,
                     &opolyPoly, olist, &olistCnt, &oool, &ooolCnt),
            KERN_SUCCESS);
  EXPECT_EQ(got, a);
  EXPECT_EQ(opoly, b);
  EXPECT_EQ(opolyPoly, static_cast<mach_msg_type_name_t>(MACH_MSG_TYPE_PORT_SEND));
  ASSERT_EQ(olistCnt, 2u);
  EXPECT_EQ(olist[1], d);
  ASSERT_EQ(ooolCnt, 1u);
  EXPECT_EQ(oool[0], e);
  EXPECT_EQ(fake::port(a).send, 1);  // the server moved its right back
  for (mach_port_t p : {got, opoly, olist[0], olist[1], oool[0]})
    mach_port_deallocate(mach_task_self(), p);
  vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(oool), sizeof(mach_port_t));
}

TEST_F(RoundTrip, SimpleRoutineIsOneWay) {
  use_c_server();
  EXPECT_EQ(rt_oneway(server_, 77), MACH_MSG_SUCCESS);
  EXPECT_EQ(rt_oneway_last, 77);
  EXPECT_EQ(fake::last_request_size(), 24u + 8 + 4);
}

TEST_F(RoundTrip, ServerErrorAfterReceivingRightsAndMemoryLeaksNothing) {
  use_c_server();
  mach_port_t moved = fake::new_port(1);
  mach_port_t recv = fake::new_port();
  mach_port_t listed = fake::new_port();
  before_ = fake::snapshot();
  uint8_t data[4] = {1, 2, 3, 4};
  mach_port_t ports[1] = {listed};
  EXPECT_EQ(rt_fail(server_, data, 4, moved, recv, ports, 1), KERN_NO_SPACE);
  // What the client gave away is gone; the receive loop destroyed the rest.
  expect_gone(moved, PortState{0, 0, true});
  expect_gone(recv, PortState{});
}

TEST_F(RoundTrip, TrailerCarriesSeqnoAndAuditToken) {
  use_c_server();
  natural_t seen = 0;
  audit_token_t tok{};
  ASSERT_EQ(rt_trailer(server_, &seen, &tok), KERN_SUCCESS);
  EXPECT_EQ(seen, 4242u);
  EXPECT_EQ(tok.val[5], 4242u);
}

TEST_F(RoundTrip, NoReplyRoutineSendsNoReply) {
  use_c_server();
  int v = 1;
  EXPECT_EQ(rt_noreply(server_, &v), MACH_RCV_TIMED_OUT);
  // The server kept the reply right to answer later; drop it here.
  mach_port_t reply = mig_get_reply_port();
  EXPECT_EQ(fake::port(reply).send_once, 1);
  mach_port_deallocate(mach_task_self(), reply);
}

TEST_F(RoundTrip, InOutArraysStringsAndScalarsComeBackChanged) {
  use_c_server();
  int32_t xs[32] = {1, 2, 3};
  mach_msg_type_number_t n = 3;
  char text[100] = "abc";
  int v = 5;
  ASSERT_EQ(rt_inout(server_, xs, &n, text, &v), KERN_SUCCESS);
  ASSERT_EQ(n, 4u);
  EXPECT_EQ(xs[0], 2);
  EXPECT_EQ(xs[2], 6);
  EXPECT_EQ(xs[3], -1);
  EXPECT_STREQ(text, "abc+");
  EXPECT_EQ(v, 6);
}

TEST_F(RoundTrip, ExplicitReplyPortIsUsedAndSeenByTheServer) {
  use_c_server();
  mach_port_t reply = fake::new_port();
  before_ = fake::snapshot();
  int v = 0;
  ASSERT_EQ(rt_explicit(server_, reply, 1000, &v), KERN_SUCCESS);
  EXPECT_EQ(v, static_cast<int>(reply));
  mach_port_mod_refs(mach_task_self(), reply, MACH_PORT_RIGHT_RECEIVE, -1);
  expect_gone(reply, PortState{});
}

struct RawRequest {
  mach_msg_header_t head;
  NDR_record_t ndr;
  int32_t a, b;
};

mig_reply_error_t raw_call(mach_port_t server, mach_msg_id_t id, mach_msg_size_t size) {
  RawRequest req{};
  req.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
  req.head.msgh_remote_port = server;
  req.head.msgh_local_port = mig_get_reply_port();
  req.head.msgh_id = id;
  req.head.msgh_size = size;
  req.ndr = NDR_record;
  mig_reply_error_t reply{};
  EXPECT_EQ(fake::raw_rpc(&req.head, size, &reply.Head, sizeof reply), MACH_MSG_SUCCESS);
  return reply;
}

TEST_F(RoundTrip, UnknownMessageIdGetsMigBadId) {
  use_c_server();
  mig_reply_error_t r = raw_call(server_, 7799, sizeof(RawRequest));
  EXPECT_EQ(r.Head.msgh_id, 7899);
  EXPECT_EQ(r.RetCode, MIG_BAD_ID);
}

TEST_F(RoundTrip, TruncatedRequestIsRejectedWithBadArguments) {
  use_c_server();
  mig_reply_error_t r = raw_call(server_, 7700, sizeof(RawRequest) - 4);
  EXPECT_EQ(r.Head.msgh_id, 7800);
  EXPECT_EQ(r.RetCode, MIG_BAD_ARGUMENTS);
}

// -------------------------------------------------------- C++ face ----

class Impl : public mig::roundtrip::Server {
 public:
  kern_return_t rt_add(mach_port_t, int a, int b, int& sum) override {
    sum = a + b;
    return KERN_SUCCESS;
  }
  kern_return_t rt_scalars(mach_port_t, int16_t s, uint8_t u, int64_t w, const rt_point_t& p,
                           int16_t& os, uint8_t& ou, int64_t& ow, rt_point_t& op,
                           int& acc) override {
    os = static_cast<int16_t>(s + 1);
    ou = static_cast<uint8_t>(u + 1);
    ow = w + 1;
    op = rt_point_t{p.x + 1, p.y + 1};
    acc *= 2;
    return KERN_SUCCESS;
  }
  kern_return_t rt_arrays(mach_port_t, std::span<const int32_t> xs, std::span<const int16_t> ss,
                          int tail, std::vector<int32_t>& oxs, std::vector<int16_t>& oss,
                          int& otail) override {
    oxs.assign(xs.rbegin(), xs.rend());
    oss.assign(ss.begin(), ss.end());
    otail = tail * 2;
    return KERN_SUCCESS;
  }
  kern_return_t rt_samecount(mach_port_t, int n, std::vector<int32_t>& a,
                             std::vector<int32_t>& b, int& c) override {
    for (int i = 0; i < n; ++i) {
      a.push_back(i);
      b.push_back(-i);
    }
    c = n;
    return KERN_SUCCESS;
  }
  kern_return_t rt_strings(mach_port_t, std::string_view name, std::string_view text, int n,
                           std::string& oname, std::string& otext, int& on) override {
    oname = std::string(name) + "!";
    otext = std::string(text) + std::string(text);
    on = n;
    return KERN_SUCCESS;
  }
  kern_return_t rt_ool(mach_port_t, mig::OolBuffer<uint8_t> data, mig::OolBuffer<int32_t> ints,
                       mig::OolBuffer<uint8_t>& odata, mig::OolBuffer<int32_t>& oints) override {
    odata = std::move(data);  // hand the received memory straight back
    oints = mig::OolBuffer<int32_t>::copy_of(ints.span());
    for (auto& v : oints) v *= 10;
    return KERN_SUCCESS;
  }
  kern_return_t rt_ports(mach_port_t, mig::SendRight give, mig::AnyRight poly,
                         std::vector<mig::SendRight> list, mig::OolPorts<mig::SendRight> ool,
                         mach_port_t& got, mach_msg_type_name_t& gotPoly, mach_port_t& opoly,
                         mach_msg_type_name_t& opolyPoly, std::vector<mach_port_t>& olist,
                         mig::OolBuffer<mach_port_t>& oool) override {
    got = give.release();
    gotPoly = MACH_MSG_TYPE_MOVE_SEND;
    opolyPoly = MACH_MSG_TYPE_MOVE_SEND;
    opoly = poly.release();
    for (auto& r : list) olist.push_back(r.get());  // MAKE_SEND: names only
    oool = mig::OolBuffer<mach_port_t>::copy_of(ool.names());
    return KERN_SUCCESS;  // list and ool rights are released by their owners
  }
  kern_return_t rt_oneway(mach_port_t, int v) override {
    last_oneway = v;
    return KERN_SUCCESS;
  }
  kern_return_t rt_fail(mach_port_t, mig::OolBuffer<uint8_t> data, mig::SendRight right,
                        mig::ReceiveRight recv, mig::OolPorts<mig::SendRight> ports) override {
    fail_saw = data.size() + (right ? 1 : 0) + (recv ? 1 : 0) + ports.size();
    return KERN_NO_SPACE;  // everything received is freed by the owners
  }
  kern_return_t rt_trailer(mach_port_t, mach_port_seqno_t, audit_token_t tok,
                           natural_t& seen) override {
    seen = tok.val[5] + 1;
    return KERN_SUCCESS;
  }
  kern_return_t rt_noreply(mach_port_t, int& v) override {
    v = 0;
    return MIG_NO_REPLY;
  }
  kern_return_t rt_inout(mach_port_t, std::vector<int32_t>& xs, std::string& text,
                         int& n) override {
    for (auto& x : xs) x += 1;
    text += text;
    n *= 3;
    return KERN_SUCCESS;
  }
  kern_return_t rt_explicit(mach_port_t, mach_port_t reply, int& v) override {
    v = static_cast<int>(reply) + 1;
    return KERN_SUCCESS;
  }

  int last_oneway = 0;
  size_t fail_saw = 0;
};

TEST_F(RoundTrip, CxxClientAndServerRoundTripScalars) {
  Impl impl;
  use_cxx_server(impl);
  mig::roundtrip::Client client(server_);
  auto sum = client.rt_add(2, 3);
  ASSERT_TRUE(sum.ok()) << sum.code();
  EXPECT_EQ(*sum, 5);
  auto s = client.rt_scalars(1, 2, 3, rt_point_t{4, 5}, 6);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->os, 2);
  EXPECT_EQ(s->ou, 3);
  EXPECT_EQ(s->ow, 4);
  EXPECT_EQ(s->op.y, 6);
  EXPECT_EQ(s->acc, 12);
}

TEST_F(RoundTrip, CxxArraysAndStringsComeBackAsVectorsAndStrings) {
  Impl impl;
  use_cxx_server(impl);
  mig::roundtrip::Client client(server_);
  std::array<int32_t, 4> xs{1, 2, 3, 4};
  std::array<int16_t, 3> ss{7, 8, 9};
  auto r = client.rt_arrays(xs, ss, 21);
  ASSERT_TRUE(r.ok()) << r.code();
  EXPECT_EQ(r->oxs, (std::vector<int32_t>{4, 3, 2, 1}));
  EXPECT_EQ(r->oss, (std::vector<int16_t>{7, 8, 9}));
  EXPECT_EQ(r->otail, 42);
  auto same = client.rt_samecount(3);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->a, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(same->b, (std::vector<int32_t>{0, -1, -2}));
  auto str = client.rt_strings("name", "ab", 9);
  ASSERT_TRUE(str.ok());
  EXPECT_EQ(str->oname, "name!");
  EXPECT_EQ(str->otext, "abab");
  EXPECT_EQ(str->on, 9);
}

TEST_F(RoundTrip, CxxServerReturnsTooLargeWhenAVectorOverflowsItsBound) {
  struct Greedy : Impl {
    kern_return_t rt_samecount(mach_port_t, int, std::vector<int32_t>& a,
                               std::vector<int32_t>& b, int&) override {
      a.resize(33);
      b.resize(33);
      return KERN_SUCCESS;
    }
  } impl;
  use_cxx_server(impl);
  mig::roundtrip::Client client(server_);
  EXPECT_EQ(client.rt_samecount(1).code(), MIG_ARRAY_TOO_LARGE);
}

TEST_F(RoundTrip, CxxOutOfLineBuffersOwnTheirMemory) {
  Impl impl;
  use_cxx_server(impl);
  mig::roundtrip::Client client(server_);
  std::array<uint8_t, 3> bytes{9, 8, 7};
  auto ints = mig::OolBuffer<int32_t>::allocate(2);
  ints[0] = 1;
  ints[1] = 2;
  auto r = client.rt_ool(bytes, std::move(ints));
  ASSERT_TRUE(r.ok()) << r.code();
  ASSERT_EQ(r->odata.size(), 3u);
  EXPECT_EQ(r->odata[2], 7);
  ASSERT_EQ(r->oints.size(), 2u);
  EXPECT_EQ(r->oints[1], 20);
}  // r's buffers are vm_deallocated here; TearDown checks

TEST_F(RoundTrip, CxxPortsArriveInOwners) {
  Impl impl;
  use_cxx_server(impl);
  mach_port_t a = fake::new_port(), b = fake::new_port(), c = fake::new_port();
  before_ = fake::snapshot();
  mig::roundtrip::Client client(server_);
  std::array<mach_port_t, 1> list{c};
  std::array<mach_port_t, 2> ool{a, b};
  {
    auto r = client.rt_ports(a, b, MACH_MSG_TYPE_MAKE_SEND, list, ool);
    ASSERT_TRUE(r.ok()) << r.code();
    EXPECT_EQ(r->got.get(), a);
    EXPECT_EQ(r->opoly.get(), b);
    EXPECT_EQ(r->opoly.type(), static_cast<mach_msg_type_name_t>(MACH_MSG_TYPE_PORT_SEND));
    ASSERT_EQ(r->olist.size(), 1u);
    EXPECT_EQ(r->olist[0].get(), c);
    ASSERT_EQ(r->oool.size(), 2u);
    EXPECT_EQ(fake::port(a).send, 2);  // got + oool[0]
  }
  EXPECT_EQ(fake::port(a).send, 0);  // owners gave every right back
}

TEST_F(RoundTrip, CxxServerErrorAfterReceivingOwnersFreesEverything) {
  Impl impl;
  use_cxx_server(impl);
  mach_port_t moved = fake::new_port(1);
  mach_port_t recv = fake::new_port();
  mach_port_t listed = fake::new_port();
  before_ = fake::snapshot();
  mig::roundtrip::Client client(server_);
  std::array<uint8_t, 6> data{};
  std::array<mach_port_t, 1> ports{listed};
  auto r = client.rt_fail(data, mig::SendRight(moved), mig::ReceiveRight(recv), ports);
  EXPECT_EQ(r.code(), KERN_NO_SPACE);
  EXPECT_EQ(impl.fail_saw, 6u + 1 + 1 + 1);
  expect_gone(moved, PortState{0, 0, true});
  expect_gone(recv, PortState{});
}

TEST_F(RoundTrip, CxxOneWayAndTrailer) {
  Impl impl;
  use_cxx_server(impl);
  mig::roundtrip::Client client(server_);
  EXPECT_TRUE(client.rt_oneway(5).ok());
  EXPECT_EQ(impl.last_oneway, 5);
  auto t = client.rt_trailer();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seen, 4243u);
  EXPECT_EQ(t->utok.val[5], 4242u);
}

TEST_F(RoundTrip, CxxDispatchRejectsUnknownIds) {
  Impl impl;
  use_cxx_server(impl);
  mig_reply_error_t r = raw_call(server_, 7698, sizeof(RawRequest));
  EXPECT_EQ(r.RetCode, MIG_BAD_ID);
}

TEST_F(RoundTrip, CxxInOutArguments) {
  Impl impl;
  use_cxx_server(impl);
  mig::roundtrip::Client client(server_);
  std::array<int32_t, 2> xs{10, 20};
  auto r = client.rt_inout(xs, "xy", 2);
  ASSERT_TRUE(r.ok()) << r.code();
  EXPECT_EQ(r->xs, (std::vector<int32_t>{11, 21}));
  EXPECT_EQ(r->text, "xyxy");
  EXPECT_EQ(r->n, 6);
}

TEST_F(RoundTrip, CClientTalksToCxxServer) {
  Impl impl;
  use_cxx_server(impl);
  int32_t a[32], b[32];
  mach_msg_type_number_t n = 32;
  int c = 0;
  ASSERT_EQ(rt_samecount(server_, 2, a, &n, b, &c), KERN_SUCCESS);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(b[1], -1);
}

TEST_F(RoundTrip, CxxClientTalksToCServer) {
  use_c_server();
  mig::roundtrip::Client client(server_);
  auto r = client.rt_strings("x", "yz", 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->oname, "hello x");
  EXPECT_EQ(r->otext, "yz!");
}

}  // namespace
