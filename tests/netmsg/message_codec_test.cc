// tests/netmsg/message_codec_test.cc — a Mach message as Cap'n Proto
// carries it between hosts, and back (machd/netmsg/message_codec.h): the
// layout a 64-bit task receives, and a peer's malformed messages refused.
//
// Part of machd (Mach IPC in user space on Linux).
// SPDX-License-Identifier: MIT
#include <sys/mman.h>

#include <capnp/message.h>
#include <gtest/gtest.h>
#include <kj/exception.h>

#include <cstring>
#include <string>
#include <vector>

#include "message_codec.h"

namespace netmsg {
namespace {

// Rights as numbers: a PortRef's id becomes the name, kind send a
// MAKE_SEND, send-once a MAKE_SEND_ONCE; exports record what they saw.
class FakeRights final : public RightTranslator {
 public:
  void export_right(mach_port_t name, mach_msg_type_name_t type, PortRef::Builder ref) override {
    exported.push_back({name, type});
    ref.setKind(name == MACH_PORT_NULL ? PortRef::Kind::NULL_ : PortRef::Kind::SEND);
    ref.setId(name);
  }
  void import_right(PortRef::Reader ref, mach_port_t* name, mach_msg_type_name_t* disposition,
                    OutgoingMessage&) override {
    imported++;
    switch (ref.getKind()) {
      case PortRef::Kind::NULL_: *name = MACH_PORT_NULL; *disposition = MACH_MSG_TYPE_COPY_SEND; return;
      case PortRef::Kind::DEAD: *name = MACH_PORT_DEAD; *disposition = MACH_MSG_TYPE_COPY_SEND; return;
      case PortRef::Kind::SEND_ONCE: *name = static_cast<mach_port_t>(ref.getId()); *disposition = MACH_MSG_TYPE_MAKE_SEND_ONCE; return;
      default: *name = static_cast<mach_port_t>(ref.getId()); *disposition = MACH_MSG_TYPE_MAKE_SEND; return;
    }
  }
  std::vector<std::pair<mach_port_t, mach_msg_type_name_t>> exported;
  int imported = 0;
};

TEST(MessageCodec, ASimpleMessageArrivesWithItsIdReplyAndBytes) {
  capnp::MallocMessageBuilder b;
  auto m = b.initRoot<Message>();
  m.setId(4200);
  m.initReply().setKind(PortRef::Kind::SEND_ONCE);
  m.getReply().setId(77);
  const char text[] = "twelve bytes";  // 13 with the NUL: padded by the sender to 16
  std::vector<uint8_t> body(16, 0);
  std::memcpy(body.data(), text, sizeof text);
  m.setInline(kj::arrayPtr(body.data(), body.size()));
  FakeRights rights;
  auto out = decode_message(m.asReader(), 5, MACH_MSG_TYPE_COPY_SEND, rights);
  const mach_msg_header_t* h = out->header();
  EXPECT_EQ(h->msgh_size, sizeof(mach_msg_header_t) + 16);
  EXPECT_EQ(h->msgh_bits, MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, MACH_MSG_TYPE_MAKE_SEND_ONCE));
  EXPECT_EQ(h->msgh_remote_port, 5u);
  EXPECT_EQ(h->msgh_local_port, 77u);
  EXPECT_EQ(h->msgh_voucher_port, MACH_PORT_NULL);
  EXPECT_EQ(h->msgh_id, 4200);
  EXPECT_EQ(std::memcmp(out->bytes.data() + sizeof(mach_msg_header_t), body.data(), 16), 0);
}

TEST(MessageCodec, DescriptorsAreLaidOutAsA64BitTaskSendsThem) {
  capnp::MallocMessageBuilder b;
  auto m = b.initRoot<Message>();
  m.setId(7);
  m.initReply().setKind(PortRef::Kind::NULL_);
  m.setComplex(true);
  auto d = m.initDescriptors(3);
  d[0].initPort().setKind(PortRef::Kind::SEND);
  d[0].getPort().setId(31);
  std::vector<uint8_t> page(8192, 0xab);
  d[1].initOutOfLine().setData(kj::arrayPtr(page.data(), page.size()));
  auto ports = d[2].initOutOfLinePorts().initPorts(2);
  ports[0].setKind(PortRef::Kind::DEAD);
  ports[1].setKind(PortRef::Kind::NULL_);
  const uint32_t tail = 0x11223344;
  m.setInline(kj::arrayPtr(reinterpret_cast<const kj::byte*>(&tail), sizeof tail));
  FakeRights rights;
  auto out = decode_message(m.asReader(), 9, MACH_MSG_TYPE_MOVE_SEND_ONCE, rights);
  const mach_msg_header_t* h = out->header();
  ASSERT_EQ(h->msgh_size, sizeof(mach_msg_header_t) + sizeof(mach_msg_body_t) + sizeof(mach_msg_port_descriptor_t) +
                              sizeof(mach_msg_ool_descriptor_t) + sizeof(mach_msg_ool_ports_descriptor_t) + 4);
  EXPECT_TRUE(h->msgh_bits & MACH_MSGH_BITS_COMPLEX);
  EXPECT_EQ(MACH_MSGH_BITS_LOCAL(h->msgh_bits), 0u) << "no reply right";
  const uint8_t* p = out->bytes.data() + sizeof(mach_msg_header_t);
  EXPECT_EQ(reinterpret_cast<const mach_msg_body_t*>(p)->msgh_descriptor_count, 3u);
  p += sizeof(mach_msg_body_t);
  auto* pd = reinterpret_cast<const mach_msg_port_descriptor_t*>(p);
  EXPECT_EQ(pd->type, MACH_MSG_PORT_DESCRIPTOR);
  EXPECT_EQ(pd->name, 31u);
  EXPECT_EQ(pd->disposition, MACH_MSG_TYPE_MAKE_SEND);
  p += sizeof *pd;
  auto* od = reinterpret_cast<const mach_msg_ool_descriptor_t*>(p);
  EXPECT_EQ(od->type, MACH_MSG_OOL_DESCRIPTOR);
  EXPECT_EQ(od->size, 8192u);
  EXPECT_EQ(static_cast<const uint8_t*>(od->address)[8191], 0xab);
  EXPECT_FALSE(od->deallocate) << "the data belongs to the Cap'n Proto message";
  p += sizeof *od;
  auto* opd = reinterpret_cast<const mach_msg_ool_ports_descriptor_t*>(p);
  EXPECT_EQ(opd->type, MACH_MSG_OOL_PORTS_DESCRIPTOR);
  ASSERT_EQ(opd->count, 2u);
  EXPECT_EQ(static_cast<const mach_port_t*>(opd->address)[0], MACH_PORT_DEAD);
  EXPECT_EQ(static_cast<const mach_port_t*>(opd->address)[1], MACH_PORT_NULL);
  p += sizeof *opd;
  EXPECT_EQ(*reinterpret_cast<const uint32_t*>(p), tail);
  EXPECT_EQ(rights.imported, 4);
}

TEST(MessageCodec, APeersDescriptorsInASimpleMessageAreRefused) {
  capnp::MallocMessageBuilder b;
  auto m = b.initRoot<Message>();
  m.initReply().setKind(PortRef::Kind::NULL_);
  m.setComplex(false);
  m.initDescriptors(1).begin()->initPort().setKind(PortRef::Kind::NULL_);
  FakeRights rights;
  EXPECT_ANY_THROW(decode_message(m.asReader(), 1, MACH_MSG_TYPE_COPY_SEND, rights));
  EXPECT_EQ(rights.imported, 0) << "refused before any right is made";
}

TEST(MessageCodec, APeersBodyThatIsNotWholeWordsIsRefused) {
  capnp::MallocMessageBuilder b;
  auto m = b.initRoot<Message>();
  m.initReply().setKind(PortRef::Kind::NULL_);
  const uint8_t three[3] = {1, 2, 3};
  m.setInline(kj::arrayPtr(three, 3));
  FakeRights rights;
  EXPECT_ANY_THROW(decode_message(m.asReader(), 1, MACH_MSG_TYPE_COPY_SEND, rights));
  EXPECT_EQ(rights.imported, 0);
}

TEST(MessageCodec, AReceivedSimpleMessageTravelsWithItsReplyRightAndBytes) {
  ReceivedMessage in;
  struct {
    mach_msg_header_t h;
    uint64_t payload[2];
    mach_msg_audit_trailer_t t;
  } raw{};
  raw.h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_PORT_SEND_ONCE, MACH_MSG_TYPE_PORT_SEND);
  raw.h.msgh_size = sizeof raw.h + sizeof raw.payload;
  raw.h.msgh_remote_port = 0x1303;
  raw.h.msgh_local_port = 0x2003;
  raw.h.msgh_id = 99;
  raw.payload[0] = 0x0123456789abcdefull;
  raw.payload[1] = 42;
  raw.t.msgh_trailer_size = sizeof raw.t;
  in.bytes.assign(reinterpret_cast<uint8_t*>(&raw), reinterpret_cast<uint8_t*>(&raw) + sizeof raw);
  capnp::MallocMessageBuilder b;
  FakeRights rights;
  ASSERT_TRUE(encode_message(in, rights, b.initRoot<Message>()));
  auto m = b.getRoot<Message>().asReader();
  EXPECT_EQ(m.getId(), 99);
  EXPECT_FALSE(m.getComplex());
  ASSERT_EQ(rights.exported.size(), 1u);
  EXPECT_EQ(rights.exported[0].first, 0x1303u);
  EXPECT_EQ(rights.exported[0].second, static_cast<mach_msg_type_name_t>(MACH_MSG_TYPE_PORT_SEND_ONCE));
  ASSERT_EQ(m.getInline().size(), sizeof raw.payload);
  EXPECT_EQ(std::memcmp(m.getInline().begin(), raw.payload, sizeof raw.payload), 0);
}

TEST(MessageCodec, AMessageWithADescriptorTheNetworkCannotCarryGoesNowhereAndExportsNothing) {
  ReceivedMessage in;
  struct {
    mach_msg_header_t h;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
    mach_msg_port_descriptor_t unknown;
    mach_msg_audit_trailer_t t;
  } raw{};
  raw.h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_PORT_SEND_ONCE, 0) | MACH_MSGH_BITS_COMPLEX;
  raw.h.msgh_size = sizeof raw - sizeof raw.t;
  raw.h.msgh_remote_port = MACH_PORT_NULL;
  raw.body.msgh_descriptor_count = 2;
  raw.port.type = MACH_MSG_PORT_DESCRIPTOR;
  raw.port.disposition = MACH_MSG_TYPE_PORT_SEND;
  raw.port.name = MACH_PORT_NULL;
  raw.unknown.type = 0x7f;
  raw.t.msgh_trailer_size = sizeof raw.t;
  in.bytes.assign(reinterpret_cast<uint8_t*>(&raw), reinterpret_cast<uint8_t*>(&raw) + sizeof raw);
  capnp::MallocMessageBuilder b;
  FakeRights rights;
  EXPECT_FALSE(encode_message(in, rights, b.initRoot<Message>()));
  EXPECT_TRUE(rights.exported.empty()) << "checked before the first right moved";
}

TEST(MessageCodec, ARegionBeyondWhatTheNetworkCarriesDropsTheMessageWhole) {
  // Reserved address space only: destroying the message unmaps it.
  const size_t big = size_t(kMaxOutOfLineRegion) + 4096;
  void* region = mmap(nullptr, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  ReceivedMessage in;
  struct {
    mach_msg_header_t h;
    mach_msg_body_t body;
    mach_msg_port_descriptor_t port;
    mach_msg_ool_descriptor_t ool;
    mach_msg_audit_trailer_t t;
  } raw{};
  raw.h.msgh_bits = MACH_MSGH_BITS_COMPLEX;
  raw.h.msgh_size = sizeof raw - sizeof raw.t;
  raw.body.msgh_descriptor_count = 2;
  raw.port.type = MACH_MSG_PORT_DESCRIPTOR;
  raw.port.disposition = MACH_MSG_TYPE_PORT_SEND;
  raw.ool.type = MACH_MSG_OOL_DESCRIPTOR;
  raw.ool.address = region;
  raw.ool.size = static_cast<mach_msg_size_t>(big);
  raw.t.msgh_trailer_size = sizeof raw.t;
  in.bytes.assign(reinterpret_cast<uint8_t*>(&raw), reinterpret_cast<uint8_t*>(&raw) + sizeof raw);
  capnp::MallocMessageBuilder b;
  FakeRights rights;
  EXPECT_FALSE(encode_message(in, rights, b.initRoot<Message>()));
  EXPECT_TRUE(rights.exported.empty());
  munmap(region, big);  // if the destroy did not
}

}  // namespace
}  // namespace netmsg
