// tests/fuzz/fuzz_seeds.h — what the fuzz targets' seed writers share: Mach
// messages in the x86_64 user layout a task hands to mach_msg, and writing a
// seed file. Each target writes its seeds (corpus/<target>/) when run with
// MACHD_FUZZ_WRITE_SEEDS=<dir>, from the same fixture it fuzzes, so the seeds
// name the ports a fresh task really has.
#pragma once

#include <mach/message.h>
#include <mach/ndr.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace machd::fuzzseeds {

// Writes `bytes` to dir/name; exits on failure (seed writing is a one-off).
inline void write_seed(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = dir + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
}

// A simple message: the header, then `body` bytes of zeros (msgh_size set).
inline std::vector<uint8_t> simple_message(mach_port_name_t remote, mach_msg_type_name_t remote_disp,
                                           mach_port_name_t local, mach_msg_type_name_t local_disp,
                                           mach_msg_id_t id, size_t body) {
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(remote_disp, local_disp);
  h.msgh_size = mach_msg_size_t(sizeof h + body);
  h.msgh_remote_port = remote;
  h.msgh_local_port = local;
  h.msgh_id = id;
  std::vector<uint8_t> m(sizeof h + body, 0);
  std::memcpy(m.data(), &h, sizeof h);
  return m;
}

// A MIG request: header (reply right made send-once from `reply`), then,
// for a routine with arguments, the NDR record and the argument words. (A
// routine without any has a request of the header alone, as MIG lays it
// out: its server refuses any other size.)
inline std::vector<uint8_t> mig_request(mach_port_name_t remote, mach_port_name_t reply, mach_msg_id_t id,
                                        const std::vector<uint32_t>& words) {
  const size_t body = words.empty() ? 0 : sizeof(NDR_record_t) + words.size() * 4;
  std::vector<uint8_t> m = simple_message(remote, MACH_MSG_TYPE_COPY_SEND, reply,
                                          reply ? MACH_MSG_TYPE_MAKE_SEND_ONCE : 0, id, body);
  if (words.empty()) return m;
  std::memcpy(m.data() + sizeof(mach_msg_header_t), &NDR_record, sizeof(NDR_record_t));
  std::memcpy(m.data() + sizeof(mach_msg_header_t) + sizeof(NDR_record_t), words.data(), words.size() * 4);
  return m;
}

// A complex message to `dest` (COPY_SEND): a port descriptor (MAKE_SEND of
// `dest`), one out-of-line region of 16 bytes and, if `with_port_array`, an
// out-of-line array of two MAKE_SEND rights; then 8 bytes of data.
inline std::vector<uint8_t> complex_message(mach_port_name_t dest, bool with_port_array) {
  mach_msg_header_t h{};
  h.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  h.msgh_remote_port = dest;
  h.msgh_id = 2000;
  mach_msg_body_t body{with_port_array ? 3u : 2u};
  mach_msg_port_descriptor_t port{};
  port.name = dest;
  port.disposition = MACH_MSG_TYPE_MAKE_SEND;
  port.type = MACH_MSG_PORT_DESCRIPTOR;
  mach_msg_ool_descriptor_t ool{};
  ool.size = 16;
  ool.copy = MACH_MSG_VIRTUAL_COPY;
  ool.type = MACH_MSG_OOL_DESCRIPTOR;
  mach_msg_ool_ports_descriptor_t ports{};
  ports.count = 2;
  ports.disposition = MACH_MSG_TYPE_MAKE_SEND;
  ports.copy = MACH_MSG_PHYSICAL_COPY;
  ports.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
  std::vector<uint8_t> m;
  auto put = [&m](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    m.insert(m.end(), b, b + n);
  };
  put(&h, sizeof h);
  put(&body, sizeof body);
  put(&port, sizeof port);
  put(&ool, sizeof ool);
  if (with_port_array) put(&ports, sizeof ports);
  m.resize(m.size() + 8, 0x5a);
  const mach_msg_size_t size = mach_msg_size_t(m.size());
  std::memcpy(m.data() + offsetof(mach_msg_header_t, msgh_size), &size, sizeof size);
  return m;
}

}  // namespace machd::fuzzseeds
