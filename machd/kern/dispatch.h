// machd/kern/dispatch.h — routing a message that arrived on a kernel object
// port to the MIG subsystem that serves its msgh_id, as XNU's
// ipc_kobject_server does with its table of subsystems.
//
// Subsystems are global (one table for all object types): each routine
// translates its object argument itself and answers KERN_INVALID_ARGUMENT
// (or what XNU answers) when the port is not the object it serves. Ids no
// subsystem covers get MIG_BAD_ID. A no-senders or send-once notification
// that arrives on an object port goes to the handler registered for the
// object's type.
#pragma once

#include <functional>
#include <vector>

#include "daemon/kernel_servers.h"
#include "kobject.h"

namespace machd::kern {

struct Subsystem {
  const char* name;
  mach_msg_id_t base;  // first id
  mach_msg_id_t end;   // one past the last id
  MigDemux demux;      // <subsystem>_server from the generated stubs
  size_t max_reply;    // sizeof(union __ReplyUnion__<subsystem>)
};

// (object, kernel-task name of its port, make-send count the notification carries)
using NoSendersHandler = std::function<void(ipc::KObject, mach_port_name_t, mach_port_mscount_t)>;
// (object, kernel-task name of its port)
using SendOnceHandler = std::function<void(ipc::KObject, mach_port_name_t)>;
// (the message as the kernel task received it, the object of the port)
using MessageHandler = std::function<void(const std::vector<uint8_t>&, ipc::KObject)>;

class Dispatch {
 public:
  void add(const Subsystem& s);
  void on_no_senders(KType type, NoSendersHandler h);
  // A send-once right to a port of `type` was destroyed unused (XNU's
  // ipc_kobject_notify_send_once): `h` runs. Without a handler the
  // notification is dropped. `sole_right`: a port of this type only ever
  // has one right, a send-once one, so any message that arrives on it used
  // that right up; `h` then also runs after the message was served (if the
  // routine took the object, `h` must find nothing to do), as XNU's
  // destruction of such a request releases the right.
  void on_send_once(KType type, SendOnceHandler h, bool sole_right = false);
  // Every message that arrives on a port of `type` goes to `h` instead of
  // a subsystem: ports on which machd receives replies (machd is then the
  // client). Nothing is answered; the rights the message carried are
  // released after `h` returns.
  void on_message(KType type, MessageHandler h);

  // Serves `msg` (header, body, trailer as the kernel task received it, with
  // out-of-line memory mapped in machd) that arrived on the port of `ko`.
  // Sets runtime().request() for the routine. The result follows MIG's
  // server contract (kernel_servers.h).
  KernelReply serve(const std::vector<uint8_t>& msg, ipc::KObject ko);

  // The subsystem serving `id`, or null.
  const Subsystem* find(mach_msg_id_t id) const;

 private:
  std::vector<Subsystem> subsystems_;
  std::vector<NoSendersHandler> no_senders_ = std::vector<NoSendersHandler>(size_t(KType::kCount));
  KernelReply serve_message(const std::vector<uint8_t>& msg, ipc::KObject ko);

  std::vector<SendOnceHandler> send_once_ = std::vector<SendOnceHandler>(size_t(KType::kCount));
  std::vector<bool> sole_right_ = std::vector<bool>(size_t(KType::kCount));
  std::vector<MessageHandler> messages_ = std::vector<MessageHandler>(size_t(KType::kCount));
};

}  // namespace machd::kern
