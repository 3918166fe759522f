// tests/net/net_protocol.h — the messages net_task instances exchange
// across hosts (the net tests and net_bench): an inline echo, an
// out-of-line transfer checked word for word, a request whose reply right
// the server destroys unused, a port right, and a bare value.
#pragma once

#include <mach/mach.h>

#include <cstdint>
#include <cstring>

namespace nettest {

enum : mach_msg_id_t {
  kEcho = 0x4e540001,  // EchoRequest -> EchoReply
  kEchoReply,
  kOol,  // OolRequest -> OolReply
  kOolReply,
  kDrop,   // a request the server destroys: its reply right dies unused
  kRight,  // RightMessage: one port descriptor
  kValue,  // ValueMessage
  kRights,  // RightsMessage: an out-of-line array of ports
};

constexpr uint32_t kInlineMax = 4096;

struct EchoRequest {
  mach_msg_header_t head;
  uint32_t size;  // bytes of data that follow
  uint8_t data[kInlineMax];
};

struct EchoReply {
  mach_msg_header_t head;
  uint32_t reply_type;  // the reply right as the server received it (MACH_MSG_TYPE_PORT_*)
  uint32_t size;
  uint8_t data[kInlineMax];  // each request byte complemented
};

// The size of an EchoRequest or EchoReply carrying `size` bytes.
template <typename M>
constexpr mach_msg_size_t echo_size(uint32_t size) {
  return mach_msg_size_t(offsetof(M, data) + ((size + 3) & ~3u));
}

struct OolRequest {
  mach_msg_header_t head;
  mach_msg_body_t body;
  mach_msg_ool_descriptor_t data;  // pattern(seed)
  uint64_t seed;
};

struct OolReply {
  mach_msg_header_t head;
  mach_msg_body_t body;
  mach_msg_ool_descriptor_t data;  // pattern(seed + 1), as long as the request's
  uint32_t request_ok;             // 1 when every word of the request matched
};

struct RightMessage {
  mach_msg_header_t head;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port;
};

struct RightsMessage {
  mach_msg_header_t head;
  mach_msg_body_t body;
  mach_msg_ool_ports_descriptor_t ports;
};

struct ValueMessage {
  mach_msg_header_t head;
  int32_t value;
};

// Word i (8 bytes) of the pattern of `seed`: every word differs from its
// neighbours and from the same word under another seed, so a misplaced,
// lost or duplicated page shows.
inline uint64_t pattern_word(uint64_t seed, uint64_t i) {
  return (i + 1) * 0x9e3779b97f4a7c15ull ^ (seed << 32 | seed);
}

inline void fill_pattern(void* p, uint64_t bytes, uint64_t seed) {
  auto* w = static_cast<uint64_t*>(p);
  for (uint64_t i = 0; i < bytes / 8; i++) w[i] = pattern_word(seed, i);
}

// The offset of the first word that differs from the pattern, or `bytes`.
inline uint64_t check_pattern(const void* p, uint64_t bytes, uint64_t seed) {
  const auto* w = static_cast<const uint64_t*>(p);
  for (uint64_t i = 0; i < bytes / 8; i++)
    if (w[i] != pattern_word(seed, i)) return i * 8;
  return bytes;
}

}  // namespace nettest
