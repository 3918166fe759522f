// tests/mig/runtime/runtime_test.cc — the MIG runtime proof: stubs that our
// mig generated from test.defs, client in this task, server in a forked task
// (server.c), messages through a real machd.
//
// Each test is named after the rule it pins. Tests in the NoLeak fixture
// also check that machd's holdings (ports, queued messages, out-of-line
// payloads, memfd payloads), the server's names and this task's names are
// back to where they were before the test.
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <mach/mig_errors.h>
#include <mach/notify.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "harness.h"
#include "rtproof.h"
#include "server.h"


namespace {

using rt::NoLeak;

// ---------------------------------------------------------------------------
// What the generated user header says about the wire (compile-time pins).

// array[] of int32_t has no bound: it travels out of line.
static_assert(offsetof(__Request__ool_ints_t, ints) == sizeof(mach_msg_header_t) + sizeof(mach_msg_body_t));
static_assert(sizeof(__Request__ool_ints_t::ints) == sizeof(mach_msg_ool_descriptor_t));
// array[*:16] of int32_t is inline, with its count before it.
static_assert(sizeof(__Request__sum_inline_t::xs) == 16 * sizeof(int32_t));
static_assert(offsetof(__Request__sum_inline_t, xsCnt) + 4 == offsetof(__Request__sum_inline_t, xs));
// array[*:4] of ports is four port descriptors.
static_assert(sizeof(__Request__ports_copy_few_t::ports) == 4 * sizeof(mach_msg_port_descriptor_t));
// A routine with no arguments sends just a header.
static_assert(sizeof(__Request__notes_t) == sizeof(mach_msg_header_t));

mach_port_t server() { return rt::server_port(); }

using rt::type_of;

mach_port_urefs_t send_refs(mach_port_t name) {
  mach_port_urefs_t r = 0;
  mach_port_get_refs(mach_task_self(), name, MACH_PORT_RIGHT_SEND, &r);
  return r;
}

void destroy_receive(mach_port_t name) {
  mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
  // A send right under the same name survives the receive right as a dead name.
  if (type_of(name) != 0) mach_port_deallocate(mach_task_self(), name);
}

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// ---------------------------------------------------------------------------
// Inline arrays.

TEST(MigInlineArrays, VariableAndFixedArraysRoundTripWithTheirCounts) {
  rp_ints_t xs = {1, 2, 3, 4, 5};
  rp_quad_t quad = {10, 20, 30, 40};
  int32_t sum = 0;
  rp_ints_t reversed = {};
  mach_msg_type_number_t reversedCnt = 0;
  rp_quad_t oquad = {};
  // The server routine also checks that the stub offered it the whole
  // inline buffer (*reversedCnt == 16) for the variable out array.
  ASSERT_EQ(rp_sum_inline(server(), xs, 5, quad, &sum, reversed, &reversedCnt, oquad), KERN_SUCCESS);
  EXPECT_EQ(sum, 115);
  ASSERT_EQ(reversedCnt, 5u);
  EXPECT_EQ(std::vector<int32_t>(reversed, reversed + 5), (std::vector<int32_t>{5, 4, 3, 2, 1}));
  EXPECT_EQ(std::vector<int32_t>(oquad, oquad + 4), (std::vector<int32_t>{40, 30, 20, 10}));
}

TEST(MigInlineArrays, VariableArrayCarriesExactlyItsBound) {
  rp_ints_t xs;
  for (int i = 0; i < 16; ++i) xs[i] = 100 + i;
  rp_quad_t quad = {0, 0, 0, 1};
  int32_t sum = 0;
  rp_ints_t reversed = {};
  mach_msg_type_number_t reversedCnt = 0;
  rp_quad_t oquad = {};
  ASSERT_EQ(rp_sum_inline(server(), xs, 16, quad, &sum, reversed, &reversedCnt, oquad), KERN_SUCCESS);
  EXPECT_EQ(sum, 16 * 100 + 120 + 1);
  ASSERT_EQ(reversedCnt, 16u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(reversed[i], 115 - i);
}

TEST(MigInlineArrays, EmptyVariableArrayIsSentAndReturned) {
  rp_ints_t xs = {};
  rp_quad_t quad = {1, 2, 3, 4};
  int32_t sum = -1;
  rp_ints_t reversed = {};
  mach_msg_type_number_t reversedCnt = 99;
  rp_quad_t oquad = {};
  ASSERT_EQ(rp_sum_inline(server(), xs, 0, quad, &sum, reversed, &reversedCnt, oquad), KERN_SUCCESS);
  EXPECT_EQ(sum, 10);
  EXPECT_EQ(reversedCnt, 0u);
  EXPECT_EQ(oquad[0], 4);
}

TEST(MigInlineArrays, UserStubRefusesAnArrayAboveItsBound) {
  int32_t xs[17] = {};
  rp_quad_t quad = {};
  int32_t sum = 0;
  rp_ints_t reversed = {};
  mach_msg_type_number_t reversedCnt = 0;
  rp_quad_t oquad = {};
  EXPECT_EQ(rp_sum_inline(server(), xs, 17, quad, &sum, reversed, &reversedCnt, oquad), MIG_ARRAY_TOO_LARGE);
}

// ---------------------------------------------------------------------------
// Out-of-line arrays, and `dealloc`.

class MigOutOfLine : public NoLeak, public ::testing::WithParamInterface<size_t> {};

TEST_P(MigOutOfLine, BytesRoundTripAndTheClientKeepsItsPagesWithoutDealloc) {
  const size_t len = GetParam();
  vm_address_t data = rt::alloc_pattern(len, 1);
  ASSERT_NE(data, 0u);
  const uint32_t want = rp_checksum(reinterpret_cast<void*>(data), len);
  uint32_t checksum = 0;
  vm_offset_t echo = 0;
  mach_msg_type_number_t echoCnt = 0;
  ASSERT_EQ(rp_ool_echo(server(), data, mach_msg_type_number_t(len), &checksum, &echo, &echoCnt), KERN_SUCCESS);
  EXPECT_EQ(checksum, want);
  ASSERT_EQ(echoCnt, len);
  ASSERT_NE(echo, 0u);
  EXPECT_NE(echo, data);
  const auto* in = reinterpret_cast<const unsigned char*>(data);
  const auto* out = reinterpret_cast<const unsigned char*>(echo);
  size_t bad = 0;
  for (size_t i = 0; i < len; ++i) bad += out[i] != (in[i] ^ 0x5a);
  EXPECT_EQ(bad, 0u) << "bytes of the echo differ";
  // No `dealloc` on the in argument: the client's pages are still there.
  EXPECT_TRUE(rp_is_mapped(data, len));
  EXPECT_EQ(rp_checksum(reinterpret_cast<void*>(data), len), want);
  // `dealloc` on the out argument: the server's buffer went with the reply.
  int32_t unmapped = 0;
  ASSERT_EQ(rp_last_reply_unmapped(server(), &unmapped), KERN_SUCCESS);
  EXPECT_EQ(unmapped, 1) << "the server's dealloc'd reply buffer is still mapped";
  vm_deallocate(mach_task_self(), echo, echoCnt);
  vm_deallocate(mach_task_self(), data, len);
  ExpectNothingLeaked();
}

TEST_P(MigOutOfLine, DeallocOnAnInArgumentTakesThePagesFromTheClient) {
  const size_t len = GetParam();
  vm_address_t data = rt::alloc_pattern(len, 2);
  ASSERT_NE(data, 0u);
  const uint32_t want = rp_checksum(reinterpret_cast<void*>(data), len);
  uint32_t checksum = 0;
  ASSERT_EQ(rp_ool_consume(server(), data, mach_msg_type_number_t(len), &checksum), KERN_SUCCESS);
  EXPECT_EQ(checksum, want);
  EXPECT_FALSE(rp_is_mapped(data, len)) << "the sender's pages survived a dealloc send";
  ExpectNothingLeaked();
}

TEST_P(MigOutOfLine, UnboundedIntArrayTravelsOutOfLineBothWays) {
  const size_t n = std::max<size_t>(1, GetParam() / 4);
  std::vector<int32_t> ints(n);
  std::iota(ints.begin(), ints.end(), -7);
  const int64_t want = std::accumulate(ints.begin(), ints.end(), int64_t(0));
  int64_t total = 0;
  rp_ool_ints_t doubled = nullptr;
  mach_msg_type_number_t doubledCnt = 0;
  ASSERT_EQ(rp_ool_ints(server(), ints.data(), mach_msg_type_number_t(n), &total, &doubled, &doubledCnt), KERN_SUCCESS);
  EXPECT_EQ(total, want);
  ASSERT_EQ(doubledCnt, n);
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i) bad += doubled[i] != ints[i] * 2;
  EXPECT_EQ(bad, 0u);
  int32_t unmapped = 0;
  ASSERT_EQ(rp_last_reply_unmapped(server(), &unmapped), KERN_SUCCESS);
  EXPECT_EQ(unmapped, 1);
  vm_deallocate(mach_task_self(), vm_address_t(doubled), doubledCnt * sizeof(int32_t));
  ExpectNothingLeaked();
}

// 1 byte, a partial page, a page, pages and a tail, and a region large enough
// to be memfd-backed (moved, not copied, when sent with dealloc).
INSTANTIATE_TEST_SUITE_P(Sizes, MigOutOfLine,
                         ::testing::Values(size_t(1), size_t(100), size_t(4096), size_t(3 * 4096 + 17),
                                           size_t(1) << 20),
                         [](const ::testing::TestParamInfo<size_t>& i) { return std::to_string(i.param) + "B"; });

TEST_F(NoLeak, EmptyOutOfLineArrayIsAZeroSizeDescriptor) {
  uint32_t checksum = 0;
  vm_offset_t echo = 12345;
  mach_msg_type_number_t echoCnt = 77;
  ASSERT_EQ(rp_ool_echo(server(), 0, 0, &checksum, &echo, &echoCnt), KERN_SUCCESS);
  EXPECT_EQ(checksum, rp_checksum(nullptr, 0));
  EXPECT_EQ(echoCnt, 0u);
  ExpectNothingLeaked();
}

// ---------------------------------------------------------------------------
// Port arrays.

TEST_F(NoLeak, MoveSendArrayTransfersEachRightAndLeavesNoSender) {
  std::vector<mach_port_t> ports;
  for (int i = 0; i < 3; ++i) {
    ports.push_back(rt::make_port());
    ASSERT_EQ(rt::request_no_senders(ports.back()), KERN_SUCCESS);
  }
  int32_t count = 0;
  ASSERT_EQ(rp_ports_move(server(), ports.data(), 3, 500, &count), KERN_SUCCESS);
  EXPECT_EQ(count, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(type_of(ports[i]), MACH_PORT_TYPE_RECEIVE) << "the send right was moved away";
    // The server sent on the right it got (moving it into the message) ...
    EXPECT_EQ(rt::receive_id(ports[i]), 500 + i);
    // ... and with that message received, no send right is left anywhere.
    EXPECT_EQ(rt::receive_id(ports[i]), MACH_NOTIFY_NO_SENDERS);
    destroy_receive(ports[i]);
  }
  ExpectNothingLeaked();
}

TEST_F(NoLeak, CopySendArrayLeavesTheClientsRightsInPlace) {
  std::vector<mach_port_t> ports;
  for (int i = 0; i < 4; ++i) ports.push_back(rt::make_port());
  int32_t count = 0;
  ASSERT_EQ(rp_ports_copy(server(), ports.data(), 4, 600, &count), KERN_SUCCESS);
  EXPECT_EQ(count, 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(type_of(ports[i]), MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND);
    EXPECT_EQ(send_refs(ports[i]), 1u);
    EXPECT_EQ(rt::receive_id(ports[i]), 600 + i);
    destroy_receive(ports[i]);
  }
  ExpectNothingLeaked();
}

TEST_F(NoLeak, InlinePortArrayIsBoundedAndCopiesRights) {
  rp_copy_send_few_t few = {rt::make_port(), rt::make_port(), MACH_PORT_NULL, MACH_PORT_NULL};
  int32_t count = 0;
  ASSERT_EQ(rp_ports_copy_few(server(), few, 2, 700, &count), KERN_SUCCESS);
  EXPECT_EQ(count, 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(send_refs(few[i]), 1u);
    EXPECT_EQ(rt::receive_id(few[i]), 700 + i);
  }
  // A full array, with one port twice (two copies of the same right).
  few[2] = rt::make_port();
  few[3] = few[0];
  ASSERT_EQ(rp_ports_copy_few(server(), few, 4, 710, &count), KERN_SUCCESS);
  EXPECT_EQ(count, 4);
  EXPECT_EQ(rt::receive_id(few[0]), 710);
  EXPECT_EQ(rt::receive_id(few[0]), 713);
  EXPECT_EQ(rt::receive_id(few[1]), 711);
  EXPECT_EQ(rt::receive_id(few[2]), 712);
  mach_port_t five[5] = {few[0], few[0], few[0], few[0], few[0]};
  EXPECT_EQ(rp_ports_copy_few(server(), five, 5, 720, &count), MIG_ARRAY_TOO_LARGE);
  for (int i = 0; i < 3; ++i) destroy_receive(few[i]);
  ExpectNothingLeaked();
}

TEST_F(NoLeak, MakeSendArrayFromTheServerGivesTheClientSendRights) {
  rp_make_send_array_t ports = nullptr;
  mach_msg_type_number_t n = 0;
  ASSERT_EQ(rp_ports_out(server(), 3, &ports, &n), KERN_SUCCESS);
  ASSERT_EQ(n, 3u);
  for (mach_msg_type_number_t i = 0; i < n; ++i) {
    EXPECT_EQ(type_of(ports[i]), MACH_PORT_TYPE_SEND);
    mach_msg_header_t h{};
    h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND, 0);
    h.msgh_size = sizeof h;
    h.msgh_remote_port = ports[i];
    h.msgh_id = mach_msg_id_t(900 + i);
    EXPECT_EQ(mach_msg(&h, MACH_SEND_MSG, sizeof h, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL), MACH_MSG_SUCCESS);
  }
  int32_t unmapped = 0;
  ASSERT_EQ(rp_last_reply_unmapped(server(), &unmapped), KERN_SUCCESS);
  EXPECT_EQ(unmapped, 1) << "the server's dealloc'd port array is still mapped";
  vm_deallocate(mach_task_self(), vm_address_t(ports), n * sizeof *ports);
  rp_ints_t ids = {};
  mach_msg_type_number_t idsCnt = 0;
  ASSERT_EQ(rp_ports_collect(server(), ids, &idsCnt), KERN_SUCCESS);
  ASSERT_EQ(idsCnt, 3u);
  EXPECT_EQ(std::vector<int32_t>(ids, ids + 3), (std::vector<int32_t>{900, 901, 902}));
  ExpectNothingLeaked();
}

// ---------------------------------------------------------------------------
// Polymorphic rights: the Poly argument picks the disposition; the server's
// Poly says what arrived (PORT_SEND, PORT_SEND_ONCE or PORT_RECEIVE).

TEST_F(NoLeak, PolyMakeSendArrivesAsPortSend) {
  mach_port_t p = rt::make_port();
  uint32_t got = 0;
  mach_port_t back = MACH_PORT_NULL;
  mach_msg_type_name_t backPoly = 0;
  ASSERT_EQ(rp_poly_echo(server(), p, MACH_MSG_TYPE_MAKE_SEND, &got, &back, &backPoly), KERN_SUCCESS);
  EXPECT_EQ(got, uint32_t(MACH_MSG_TYPE_PORT_SEND));
  EXPECT_EQ(backPoly, mach_msg_type_name_t(MACH_MSG_TYPE_PORT_SEND)) << "what the reply carried";
  // The right came back (MOVE_SEND) to the name that holds the receive right.
  EXPECT_EQ(back, p);
  EXPECT_EQ(send_refs(p), 2u);
  mach_port_deallocate(mach_task_self(), p);
  destroy_receive(p);
  ExpectNothingLeaked();
}

TEST_F(NoLeak, PolyCopySendArrivesAsPortSendAndKeepsTheClientsRight) {
  mach_port_t p = rt::make_port();
  uint32_t got = 0;
  mach_port_t back = MACH_PORT_NULL;
  mach_msg_type_name_t backPoly = 0;
  ASSERT_EQ(rp_poly_echo(server(), p, MACH_MSG_TYPE_COPY_SEND, &got, &back, &backPoly), KERN_SUCCESS);
  EXPECT_EQ(got, uint32_t(MACH_MSG_TYPE_PORT_SEND));
  EXPECT_EQ(backPoly, mach_msg_type_name_t(MACH_MSG_TYPE_PORT_SEND)) << "what the reply carried";
  EXPECT_EQ(back, p);
  EXPECT_EQ(send_refs(p), 2u);
  mach_port_deallocate(mach_task_self(), p);
  destroy_receive(p);
  ExpectNothingLeaked();
}

TEST_F(NoLeak, PolyMoveSendTakesTheClientsRightAway) {
  mach_port_t p = rt::make_port();
  mach_port_t extra = MACH_PORT_NULL;
  mach_msg_type_name_t ty = 0;
  // A lone send right (no receive right under its name) moved away: the name is freed.
  ASSERT_EQ(mach_port_extract_right(mach_task_self(), p, MACH_MSG_TYPE_MAKE_SEND, &extra, &ty), KERN_SUCCESS);
  ASSERT_EQ(extra, p);  // merged under the receive right's name
  uint32_t got = 0;
  mach_port_t back = MACH_PORT_NULL;
  mach_msg_type_name_t backPoly = 0;
  ASSERT_EQ(rp_poly_echo(server(), p, MACH_MSG_TYPE_MOVE_SEND, &got, &back, &backPoly), KERN_SUCCESS);
  EXPECT_EQ(got, uint32_t(MACH_MSG_TYPE_PORT_SEND));
  EXPECT_EQ(backPoly, mach_msg_type_name_t(MACH_MSG_TYPE_PORT_SEND)) << "what the reply carried";
  EXPECT_EQ(back, p);
  // Two refs before, one moved out, one moved back in.
  EXPECT_EQ(send_refs(p), 2u);
  mach_port_mod_refs(mach_task_self(), p, MACH_PORT_RIGHT_SEND, -1);
  destroy_receive(p);
  ExpectNothingLeaked();
}

TEST_F(NoLeak, PolyMakeSendOnceArrivesAsPortSendOnce) {
  mach_port_t p = rt::make_port();
  uint32_t got = 0;
  mach_port_t back = MACH_PORT_NULL;
  mach_msg_type_name_t backPoly = 0;
  ASSERT_EQ(rp_poly_echo(server(), p, MACH_MSG_TYPE_MAKE_SEND_ONCE, &got, &back, &backPoly), KERN_SUCCESS);
  EXPECT_EQ(got, uint32_t(MACH_MSG_TYPE_PORT_SEND_ONCE));
  EXPECT_EQ(backPoly, mach_msg_type_name_t(MACH_MSG_TYPE_PORT_SEND_ONCE)) << "what the reply carried";
  // A send-once right always gets a name of its own.
  ASSERT_NE(back, p);
  EXPECT_EQ(type_of(back), MACH_PORT_TYPE_SEND_ONCE);
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
  h.msgh_size = sizeof h;
  h.msgh_remote_port = back;
  h.msgh_id = 4242;
  ASSERT_EQ(mach_msg(&h, MACH_SEND_MSG, sizeof h, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL), MACH_MSG_SUCCESS);
  EXPECT_EQ(rt::receive_id(p), 4242);
  destroy_receive(p);
  ExpectNothingLeaked();
}

TEST_F(NoLeak, PolyMoveReceiveTravelsAndReturnsUnderTheSameName) {
  mach_port_t p = rt::make_port();
  uint32_t got = 0;
  mach_port_t back = MACH_PORT_NULL;
  mach_msg_type_name_t backPoly = 0;
  ASSERT_EQ(rp_poly_echo(server(), p, MACH_MSG_TYPE_MOVE_RECEIVE, &got, &back, &backPoly), KERN_SUCCESS);
  EXPECT_EQ(got, uint32_t(MACH_MSG_TYPE_PORT_RECEIVE));
  EXPECT_EQ(backPoly, mach_msg_type_name_t(MACH_MSG_TYPE_PORT_RECEIVE)) << "what the reply carried";
  // The receive right rejoins the send right this task kept.
  EXPECT_EQ(back, p);
  EXPECT_EQ(type_of(p), MACH_PORT_TYPE_RECEIVE | MACH_PORT_TYPE_SEND);
  destroy_receive(p);
  ExpectNothingLeaked();
}

// ---------------------------------------------------------------------------
// Strings.

struct StringsResult {
  kern_return_t kr;
  std::string text, name;
  int32_t text_len, name_len;
};

StringsResult call_strings(const std::string& text, const std::string& name) {
  std::vector<char> t(text.begin(), text.end()), n(name.begin(), name.end());
  t.push_back('\0');
  n.push_back('\0');
  rp_text_t upper_text;
  rp_name_t upper_name;
  memset(upper_text, '#', sizeof upper_text);
  memset(upper_name, '#', sizeof upper_name);
  StringsResult r{};
  r.kr = rp_strings(server(), t.data(), n.data(), upper_text, upper_name, &r.text_len, &r.name_len);
  r.text.assign(upper_text, strnlen(upper_text, sizeof upper_text));
  r.name.assign(upper_name, strnlen(upper_name, sizeof upper_name));
  return r;
}

TEST(MigStrings, VariableAndFixedStringsRoundTrip) {
  StringsResult r = call_strings("hello, mach", "org.machd.name");
  ASSERT_EQ(r.kr, KERN_SUCCESS);
  EXPECT_EQ(r.text, "HELLO, MACH");
  EXPECT_EQ(r.name, "ORG.MACHD.NAME");
  EXPECT_EQ(r.text_len, 11);
  EXPECT_EQ(r.name_len, 14);
}

TEST(MigStrings, EmptyStringsRoundTrip) {
  StringsResult r = call_strings("", "");
  ASSERT_EQ(r.kr, KERN_SUCCESS);
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(r.name, "");
  EXPECT_EQ(r.text_len, 0);
  EXPECT_EQ(r.name_len, 0);
}

TEST(MigStrings, LongestStringsThatFitArriveWhole) {
  std::string text(63, 'a'), name(31, 'b');
  StringsResult r = call_strings(text, name);
  ASSERT_EQ(r.kr, KERN_SUCCESS);
  EXPECT_EQ(r.text, upper(text));
  EXPECT_EQ(r.name, upper(name));
  EXPECT_EQ(r.text_len, 63);
  EXPECT_EQ(r.name_len, 31);
}

TEST(MigStrings, UserStubTruncatesLongerStringsToTheBound) {
  std::string text(100, 'x'), name(40, 'y');
  text[62] = 'q';
  StringsResult r = call_strings(text, name);
  ASSERT_EQ(r.kr, KERN_SUCCESS);
  EXPECT_EQ(r.text_len, 63);
  EXPECT_EQ(r.name_len, 31);
  EXPECT_EQ(r.text, upper(text.substr(0, 63)));
  EXPECT_EQ(r.name, upper(name.substr(0, 31)));
}

// ---------------------------------------------------------------------------
// Audit tokens.

TEST(MigAuditTokens, ServerAuditTokenNamesTheClientAndUserAuditTokenTheServer) {
  int32_t pid = 0, euid = -1, egid = -1;
  audit_token_t utok{};
  ASSERT_EQ(rp_audit(server(), &pid, &euid, &egid, &utok), KERN_SUCCESS);
  EXPECT_EQ(pid, getpid());
  EXPECT_EQ(euid, int32_t(geteuid()));
  EXPECT_EQ(egid, int32_t(getegid()));
  // The reply came from the server task.
  EXPECT_EQ(pid_t(utok.val[5]), rt::server_pid());
  EXPECT_EQ(utok.val[1], uint32_t(geteuid()));
}

// ---------------------------------------------------------------------------
// simpleroutine.

TEST(MigSimpleRoutine, OneWayMessagesArriveInOrderWithoutAReply) {
  int32_t count0 = 0, last = 0;
  ASSERT_EQ(rp_notes(server(), &count0, &last), KERN_SUCCESS);
  for (int32_t v : {7, 8, 9}) ASSERT_EQ(rp_note(server(), v), KERN_SUCCESS);
  int32_t count = 0;
  ASSERT_EQ(rp_notes(server(), &count, &last), KERN_SUCCESS);
  EXPECT_EQ(count, count0 + 3);
  EXPECT_EQ(last, 9);
}

TEST(MigSimpleRoutine, SendErrorIsTheStubsResult) {
  EXPECT_EQ(rp_note(MACH_PORT_NULL, 1), MACH_SEND_INVALID_DEST);
}

// ---------------------------------------------------------------------------
// Error replies.

TEST(MigErrorReplies, ServerRoutineErrorReachesTheClientAndOutsAreUntouched) {
  for (int32_t code : {int32_t(KERN_INVALID_ARGUMENT), int32_t(KERN_NO_SPACE), int32_t(0x1234567), -5}) {
    int32_t never = -1;
    EXPECT_EQ(rp_fail_with(server(), code, &never), code);
    EXPECT_EQ(never, -1) << "code " << code;
  }
  int32_t never = -1;
  EXPECT_EQ(rp_fail_with(server(), KERN_SUCCESS, &never), KERN_SUCCESS);
  EXPECT_EQ(never, 42);
}

TEST_F(NoLeak, ErrorOnARoutineWhoseReplyCarriesMemoryIsAPlainErrorReply) {
  vm_offset_t data = 0xabcdef;
  mach_msg_type_number_t cnt = 77;
  EXPECT_EQ(rp_fail_ool_reply(server(), KERN_NO_SPACE, &data, &cnt), KERN_NO_SPACE);
  EXPECT_EQ(data, 0xabcdefu);
  EXPECT_EQ(cnt, 77u);
  ASSERT_EQ(rp_fail_ool_reply(server(), KERN_SUCCESS, &data, &cnt), KERN_SUCCESS);
  ASSERT_EQ(cnt, 4096u);
  EXPECT_EQ(reinterpret_cast<const unsigned char*>(data)[4095], 0xa5);
  vm_deallocate(mach_task_self(), data, cnt);
  ExpectNothingLeaked();
}

// ---------------------------------------------------------------------------
// Hand-built requests: unknown ids and malformed messages.

struct ErrorReply {
  mach_msg_return_t mr = 0;
  mach_msg_id_t id = 0;
  mach_msg_size_t size = 0;
  mach_msg_bits_t bits = 0;
  kern_return_t ret = 0;
};

// Sends `msg` (its header completed here) to the server with a fresh reply
// port and returns what came back.
ErrorReply rpc_raw(mach_msg_header_t* msg, mach_msg_size_t size, mach_msg_id_t id) {
  mach_port_t reply = mach_reply_port();
  msg->msgh_bits |= MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE);
  msg->msgh_size = size;
  msg->msgh_remote_port = server();
  msg->msgh_local_port = reply;
  msg->msgh_id = id;
  ErrorReply r;
  r.mr = mach_msg(msg, MACH_SEND_MSG, size, 0, MACH_PORT_NULL, 0, MACH_PORT_NULL);
  if (r.mr == MACH_MSG_SUCCESS) {
    struct {
      mig_reply_error_t e;
      char spare[512];
      mach_msg_max_trailer_t t;
    } in{};
    r.mr = mach_msg(&in.e.Head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof in, reply, 5000, MACH_PORT_NULL);
    if (r.mr == MACH_MSG_SUCCESS) {
      r.id = in.e.Head.msgh_id;
      r.size = in.e.Head.msgh_size;
      r.bits = in.e.Head.msgh_bits;
      r.ret = in.e.RetCode;
      mach_msg_destroy(&in.e.Head);
    }
  }
  mach_port_mod_refs(mach_task_self(), reply, MACH_PORT_RIGHT_RECEIVE, -1);
  return r;
}

TEST_F(NoLeak, UnknownMessageIdGetsMigBadId) {
  // Outside the subsystem's range on both sides, and the id of a `skip`.
  for (mach_msg_id_t id : {7999, 6999, 7023, 7020, -1}) {
    struct {
      mach_msg_header_t h;
      NDR_record_t ndr;
      int32_t x;
    } m{};
    m.ndr = NDR_record;
    ErrorReply r = rpc_raw(&m.h, sizeof m, id);
    ASSERT_EQ(r.mr, MACH_MSG_SUCCESS) << "id " << id;
    EXPECT_EQ(r.id, id + 100);
    EXPECT_EQ(r.size, sizeof(mig_reply_error_t));
    EXPECT_FALSE(r.bits & MACH_MSGH_BITS_COMPLEX);
    EXPECT_EQ(r.ret, MIG_BAD_ID) << "id " << id;
  }
  ExpectNothingLeaked();
}

TEST_F(NoLeak, UnknownMessageIdCarryingRightsAndMemoryIsDestroyed) {
  mach_port_t q = rt::make_port();
  ASSERT_EQ(rt::request_no_senders(q), KERN_SUCCESS);
  vm_address_t mem = rt::alloc_pattern(3 * 4096, 3);
  struct {
    mach_msg_header_t h;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
    mach_msg_ool_descriptor_t ool;
  } m{};
  m.h.msgh_bits = MACH_MSGH_BITS_COMPLEX;
  m.body.msgh_descriptor_count = 2;
  m.port.name = q;
  m.port.disposition = MACH_MSG_TYPE_MOVE_SEND;
  m.port.type = MACH_MSG_PORT_DESCRIPTOR;
  m.ool.address = reinterpret_cast<void*>(mem);
  m.ool.size = 3 * 4096;
  m.ool.deallocate = false;
  m.ool.copy = MACH_MSG_VIRTUAL_COPY;
  m.ool.type = MACH_MSG_OOL_DESCRIPTOR;
  ErrorReply r = rpc_raw(&m.h, sizeof m, 7999);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.id, 8099);
  EXPECT_EQ(r.ret, MIG_BAD_ID);
  // The server destroyed the send right it was given.
  EXPECT_EQ(rt::receive_id(q), MACH_NOTIFY_NO_SENDERS);
  destroy_receive(q);
  vm_deallocate(mach_task_self(), mem, 3 * 4096);
  ExpectNothingLeaked();
}

TEST_F(NoLeak, TruncatedRequestGetsMigBadArguments) {
  // sum_inline without its arrays.
  struct {
    mach_msg_header_t h;
    NDR_record_t ndr;
  } m{};
  m.ndr = NDR_record;
  ErrorReply r = rpc_raw(&m.h, sizeof m, 7000);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.id, 7100);
  EXPECT_EQ(r.ret, MIG_BAD_ARGUMENTS);
  ExpectNothingLeaked();
}

TEST_F(NoLeak, UnterminatedStringGetsMigBadArguments) {
  __Request__strings_t m{};
  m.NDR = NDR_record;
  m.textOffset = 0;
  m.textCnt = 8;
  memset(m.text, 'A', 8);  // no NUL in the 8 bytes, nor in the name that follows
  char* name = m.text + 8;
  memset(name, 'B', sizeof(rp_name_t));
  ErrorReply r = rpc_raw(&m.Head, mach_msg_size_t(offsetof(__Request__strings_t, text) + 8 + sizeof(rp_name_t)), 7011);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.id, 7111);
  EXPECT_EQ(r.ret, MIG_BAD_ARGUMENTS);
  ExpectNothingLeaked();
}

TEST_F(NoLeak, MalformedComplexRequestGetsMigBadArgumentsAndItsRightsAreDestroyed) {
  // reject's id with one port descriptor instead of seven.
  mach_port_t q = rt::make_port();
  ASSERT_EQ(rt::request_no_senders(q), KERN_SUCCESS);
  struct {
    mach_msg_header_t h;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
    NDR_record_t ndr;
    int32_t code;
  } m{};
  m.h.msgh_bits = MACH_MSGH_BITS_COMPLEX;
  m.body.msgh_descriptor_count = 1;
  m.port.name = q;
  m.port.disposition = MACH_MSG_TYPE_MOVE_SEND;
  m.port.type = MACH_MSG_PORT_DESCRIPTOR;
  m.ndr = NDR_record;
  ErrorReply r = rpc_raw(&m.h, sizeof m, 7017);
  ASSERT_EQ(r.mr, MACH_MSG_SUCCESS);
  EXPECT_EQ(r.id, 7117);
  EXPECT_EQ(r.ret, MIG_BAD_ARGUMENTS);
  EXPECT_EQ(rt::receive_id(q), MACH_NOTIFY_NO_SENDERS);
  destroy_receive(q);
  ExpectNothingLeaked();
}

// ---------------------------------------------------------------------------
// A server that fails after receiving memory and rights (the loop destroys
// the request), or succeeds and releases them itself: nothing leaks.

class MigReject : public NoLeak, public ::testing::WithParamInterface<kern_return_t> {};

TEST_P(MigReject, MemoryAndRightsOfTheRequestAreReleasedWhateverTheServerReturns) {
  const kern_return_t code = GetParam();
  const size_t data_len = 2 * 4096 + 5, big_len = size_t(1) << 20;
  vm_address_t data = rt::alloc_pattern(data_len, 4);
  vm_address_t big = rt::alloc_pattern(big_len, 5);
  ASSERT_TRUE(data && big);
  const uint32_t data_sum = rp_checksum(reinterpret_cast<void*>(data), data_len);
  const uint32_t big_sum = rp_checksum(reinterpret_cast<void*>(big), big_len);
  std::vector<int32_t> ints(1000);
  std::iota(ints.begin(), ints.end(), 1);

  // MOVE_SEND: this task keeps the receive right and asks for no-senders.
  mach_port_t right = rt::make_port();
  ASSERT_EQ(rt::request_no_senders(right), KERN_SUCCESS);
  // MOVE_RECEIVE: this task keeps a send right, which dies with the port.
  mach_port_t recv = rt::make_port();
  // MOVE_SEND_ONCE: a send-once right to a port of ours; its destruction
  // sends a send-once notification.
  mach_port_t once_port = rt::make_port();
  mach_port_t once = MACH_PORT_NULL;
  mach_msg_type_name_t ty = 0;
  ASSERT_EQ(mach_port_extract_right(mach_task_self(), once_port, MACH_MSG_TYPE_MAKE_SEND_ONCE, &once, &ty),
            KERN_SUCCESS);
  // A MOVE_SEND port array.
  std::vector<mach_port_t> ports;
  for (int i = 0; i < 3; ++i) {
    ports.push_back(rt::make_port());
    ASSERT_EQ(rt::request_no_senders(ports.back()), KERN_SUCCESS);
  }

  ASSERT_EQ(rp_reject(server(), code, data, mach_msg_type_number_t(data_len), big, mach_msg_type_number_t(big_len),
                      ints.data(), mach_msg_type_number_t(ints.size()), right, recv, once, ports.data(), 3),
            code);

  // The server's copies of the four out-of-line regions are unmapped.
  int32_t unmapped = 0;
  ASSERT_EQ(rp_reject_unmapped(server(), &unmapped), KERN_SUCCESS);
  EXPECT_EQ(unmapped, 0xf) << "bit i set = region i unmapped (data, big, ints, port array)";
  // Every right the request carried was destroyed, as Mach reports it.
  EXPECT_EQ(rt::receive_id(right), MACH_NOTIFY_NO_SENDERS);
  EXPECT_EQ(type_of(recv), MACH_PORT_TYPE_DEAD_NAME) << "the moved receive right was not destroyed";
  EXPECT_EQ(rt::receive_id(once_port), MACH_NOTIFY_SEND_ONCE);
  for (mach_port_t p : ports) EXPECT_EQ(rt::receive_id(p), MACH_NOTIFY_NO_SENDERS);
  // This task's memory was sent without dealloc: intact.
  EXPECT_EQ(rp_checksum(reinterpret_cast<void*>(data), data_len), data_sum);
  EXPECT_EQ(rp_checksum(reinterpret_cast<void*>(big), big_len), big_sum);

  destroy_receive(right);
  mach_port_deallocate(mach_task_self(), recv);
  destroy_receive(once_port);
  for (mach_port_t p : ports) destroy_receive(p);
  vm_deallocate(mach_task_self(), data, data_len);
  vm_deallocate(mach_task_self(), big, big_len);
  ExpectNothingLeaked();
}

INSTANTIATE_TEST_SUITE_P(Codes, MigReject, ::testing::Values(KERN_FAILURE, KERN_INVALID_ARGUMENT, KERN_SUCCESS),
                         [](const ::testing::TestParamInfo<kern_return_t>& i) {
                           return i.param == KERN_SUCCESS ? std::string("ServerSucceeds")
                                                          : "ServerFailsWith" + std::to_string(i.param);
                         });

// A routine whose reply is complex (memory and a right) but which fails:
// its error reply is simple, so the loop destroys the request.
class MigTrade : public NoLeak, public ::testing::WithParamInterface<kern_return_t> {};

TEST_P(MigTrade, RequestOfARoutineWithAComplexReplyIsReleasedWhateverTheServerReturns) {
  const kern_return_t code = GetParam();
  const size_t len = 2 * 4096;
  vm_address_t data = rt::alloc_pattern(len, 6);
  const uint32_t sum = rp_checksum(reinterpret_cast<void*>(data), len);
  mach_port_t right = rt::make_port();
  ASSERT_EQ(rt::request_no_senders(right), KERN_SUCCESS);
  vm_offset_t odata = 0;
  mach_msg_type_number_t odataCnt = 0;
  mach_port_t oright = MACH_PORT_NULL;
  ASSERT_EQ(rp_trade(server(), code, data, mach_msg_type_number_t(len), right, &odata, &odataCnt, &oright), code);
  int32_t unmapped = 0;
  ASSERT_EQ(rp_reject_unmapped(server(), &unmapped), KERN_SUCCESS);
  EXPECT_EQ(unmapped, 1) << "the server still maps the request's memory";
  if (code == KERN_SUCCESS) {
    // Both came back: the memory (dealloc'd by the server) and the right.
    ASSERT_EQ(odataCnt, len);
    EXPECT_EQ(rp_checksum(reinterpret_cast<void*>(odata), len), sum);
    EXPECT_EQ(oright, right);
    EXPECT_EQ(send_refs(right), 1u);
    vm_deallocate(mach_task_self(), odata, odataCnt);
    mach_port_deallocate(mach_task_self(), right);
  } else {
    EXPECT_EQ(odataCnt, 0u);
    EXPECT_EQ(oright, MACH_PORT_NULL);
  }
  EXPECT_EQ(rt::receive_id(right), MACH_NOTIFY_NO_SENDERS);
  destroy_receive(right);
  vm_deallocate(mach_task_self(), data, len);
  ExpectNothingLeaked();
}

INSTANTIATE_TEST_SUITE_P(Codes, MigTrade, ::testing::Values(KERN_FAILURE, KERN_SUCCESS),
                         [](const ::testing::TestParamInfo<kern_return_t>& i) {
                           return i.param == KERN_SUCCESS ? std::string("ServerSucceeds")
                                                          : "ServerFailsWith" + std::to_string(i.param);
                         });

}  // namespace
