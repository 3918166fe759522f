// tests/ipc/harness.h — many simulated tasks on one thread, with every message
// encoded to the exact user layout a client passes to mach_msg and every
// received message decoded back from the bytes the core returns.
//
// Each test fixture ends with a leak check: all tasks are terminated and the
// kernel's Stats must show nothing left but the kernel task itself.
#pragma once

#include <gtest/gtest.h>
#include <mach/message.h>
#include <mach/notify.h>
#include <mach/port.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel.h"

namespace machd::ipc::test {

// An out-of-line region in flight: plain bytes. Counts live instances.
class BytesPayload : public OolPayload {
 public:
  explicit BytesPayload(std::vector<uint8_t> d) : data(std::move(d)) { live++; }
  ~BytesPayload() override { live--; }
  uint64_t size() const override { return data.size(); }
  std::vector<uint8_t> data;
  static inline int64_t live = 0;
};

// One descriptor of a message to send.
struct Desc {
  mach_msg_descriptor_type_t type = MACH_MSG_PORT_DESCRIPTOR;
  mach_port_name_t name = MACH_PORT_NULL;            // port / guarded
  mach_msg_type_name_t disposition = 0;              // port / ool ports / guarded
  std::vector<uint8_t> ool;                          // OOL bytes
  bool deallocate = false;
  mach_msg_copy_options_t copy = MACH_MSG_VIRTUAL_COPY;
  std::vector<mach_port_name_t> ports;               // OOL ports
  mach_port_context_t context = 0;                   // guarded
  uint32_t guard_flags = 0;

  static Desc port(mach_port_name_t n, mach_msg_type_name_t disp) {
    Desc d;
    d.type = MACH_MSG_PORT_DESCRIPTOR;
    d.name = n;
    d.disposition = disp;
    return d;
  }
  static Desc memory(std::vector<uint8_t> bytes, bool dealloc = false,
                     mach_msg_copy_options_t copy = MACH_MSG_VIRTUAL_COPY) {
    Desc d;
    d.type = MACH_MSG_OOL_DESCRIPTOR;
    d.ool = std::move(bytes);
    d.deallocate = dealloc;
    d.copy = copy;
    return d;
  }
  static Desc port_array(std::vector<mach_port_name_t> names, mach_msg_type_name_t disp) {
    Desc d;
    d.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
    d.ports = std::move(names);
    d.disposition = disp;
    return d;
  }
  static Desc guarded(mach_port_name_t n, mach_port_context_t ctx, uint32_t flags) {
    Desc d;
    d.type = MACH_MSG_GUARDED_PORT_DESCRIPTOR;
    d.name = n;
    d.disposition = MACH_MSG_TYPE_MOVE_RECEIVE;
    d.context = ctx;
    d.guard_flags = flags;
    return d;
  }
};

// A message to send, encoded to the x86_64 user layout by encode().
struct Msg {
  mach_port_name_t remote = MACH_PORT_NULL;
  mach_msg_type_name_t remote_disp = MACH_MSG_TYPE_COPY_SEND;
  mach_port_name_t local = MACH_PORT_NULL;
  mach_msg_type_name_t local_disp = 0;
  mach_port_name_t voucher = MACH_PORT_NULL;
  mach_msg_type_name_t voucher_disp = 0;
  mach_msg_id_t id = 0;
  std::vector<Desc> descs;
  std::vector<uint8_t> data;  // inline data after descriptors (multiple of 4)
  bool complex = false;       // set automatically when descs is non-empty
  uint32_t extra_bits = 0;

  SendArgs encode() const;
};

// A decoded descriptor of a received (or returned) message.
struct DescOut {
  mach_msg_descriptor_type_t type = 0;
  mach_port_name_t name = MACH_PORT_NULL;
  mach_msg_type_name_t disposition = 0;
  uint32_t size = 0;  // OOL size / OOL ports count
  bool deallocate = false;
  uint32_t copy = 0;
  std::vector<uint8_t> ool;
  std::vector<mach_port_name_t> ports;
  uint64_t context = 0;
  uint32_t guard_flags = 0;
};

struct Received {
  mach_msg_return_t mr = MACH_MSG_SUCCESS;
  bool blocked = false;       // the call blocked (no completion yet)
  bool returned_send = false;
  bool has_header = false;
  mach_msg_header_t hdr{};
  std::vector<DescOut> descs;
  std::vector<uint8_t> data;   // inline bytes after the descriptors
  std::vector<uint8_t> raw;    // everything the core returned
  mach_msg_max_trailer_t trailer{};
  uint32_t trailer_bytes = 0;  // bytes of trailer present
};

// Decodes a completion: header, descriptors (walking by type), OOL material,
// inline data and trailer, checking the layout as it goes.
Received decode(Completion&& c);

class IpcTest : public ::testing::Test {
 protected:
  void TearDown() override;

  TaskId task(uint32_t pid = 0);
  void kill(TaskId t);

  mach_port_name_t recv_port(TaskId t);
  // A receive right with a send right under the same name.
  mach_port_name_t port_with_send(TaskId t);
  // Gives `to` a send right (made from `owner`'s receive right `name`);
  // returns its name in `to`.
  mach_port_name_t give_send(TaskId owner, mach_port_name_t name, TaskId to);
  mach_port_name_t give_send_once(TaskId owner, mach_port_name_t name, TaskId to);
  mach_port_name_t move_receive(TaskId owner, mach_port_name_t name, TaskId to);
  // mach_port_extract_right of `owner`'s `name` with `disp` into `to`
  // (expected to succeed); the right's type in *type if given.
  mach_port_name_t extract(TaskId owner, mach_port_name_t name, mach_msg_type_name_t disp,
                           TaskId to, mach_msg_type_name_t* type = nullptr);

  // mach_msg send. Returns the result, or kBlocked when the thread blocked.
  static constexpr mach_msg_return_t kBlocked = 0x7fff0001;
  mach_msg_return_t send(TaskId t, const Msg& m, mach_msg_option_t extra = 0,
                         mach_msg_timeout_t timeout = 0, WaiterId w = 0);
  // The full outcome (for returned messages).
  Received send_full(TaskId t, const Msg& m, mach_msg_option_t extra = 0,
                     mach_msg_timeout_t timeout = 0, WaiterId w = 0);
  // mach_msg receive (with MACH_RCV_TIMEOUT 0 unless `block`).
  Received receive(TaskId t, mach_port_name_t name, mach_msg_option_t extra = 0,
                   mach_msg_size_t size = 4096, bool block = false, WaiterId w = 0,
                   mach_msg_timeout_t timeout = 0);
  // Combined send + receive.
  Received rpc(TaskId t, const Msg& m, mach_port_name_t rcv, mach_msg_option_t extra = 0,
               mach_msg_size_t size = 4096, WaiterId w = 0);
  // k.msg as thread `w` (a fresh id if 0), completions collected; the
  // outcome decoded, or `blocked`.
  Received run(TaskId t, MsgArgs&& a, WaiterId w);
  // Simple message to `dest` (COPY_SEND) with id and optional reply.
  Msg simple(mach_port_name_t dest, mach_msg_id_t id = 100,
             mach_msg_type_name_t dest_disp = MACH_MSG_TYPE_COPY_SEND);

  // Completions gathered from take_completions(), by waiter id.
  std::optional<Received> completion(WaiterId w);
  void collect();

  mach_port_type_t type_of(TaskId t, mach_port_name_t n);
  mach_port_urefs_t refs(TaskId t, mach_port_name_t n, mach_port_right_t r);
  mach_port_status_t status(TaskId t, mach_port_name_t n);

  WaiterId next_waiter() { return ++waiter_seq_; }

  // The leak check (also run by TearDown).
  void expect_no_leaks();

  Kernel k;
  std::vector<TaskId> tasks_;
  std::vector<std::pair<WaiterId, Received>> done_;
  WaiterId waiter_seq_ = 1000;
  uint64_t now_ = 1'000'000'000;
};

std::string mr_name(mach_msg_return_t mr);

}  // namespace machd::ipc::test
