// libmach-compat/src/emulation_serve.cc — mach_emulation_serve
// (<mach/emulation.h>): an emulation server's loop over the demux our mig
// generates from servers/emulation.defs.
#include <errno.h>
#include <mach/emulation.h>
#include <mach/mach.h>

extern "C" {
#include "emulationServer.h"
}

namespace {

struct Serving {
  mach_emulation_handler_t handler;
  void* ctx;
};
thread_local Serving t_serving{nullptr, nullptr};

constexpr mach_msg_size_t kRequest = sizeof(union __RequestUnion__do_emulation_subsystem) + MAX_TRAILER_SIZE;
constexpr mach_msg_size_t kReply = sizeof(union __ReplyUnion__do_emulation_subsystem);

}  // namespace

extern "C" {

kern_return_t do_emulation_syscall(mach_port_t, audit_token_t audit, int number, int thread_id,
                                   emulation_args_t args, int64_t* result) {
  const Serving& s = t_serving;
  *result = s.handler != nullptr ? s.handler(s.ctx, pid_t(audit.val[5]), thread_id, number, args) : -ENOSYS;
  return KERN_SUCCESS;
}

mach_msg_return_t mach_emulation_serve(mach_port_t port, mach_emulation_handler_t handler, void* ctx) {
  t_serving = {handler, ctx};
  mach_msg_return_t mr = mach_msg_server(emulation_server, kRequest > kReply ? kRequest : kReply, port,
                                         MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |
                                             MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT));
  t_serving = {nullptr, nullptr};
  return mr;
}

}  // extern "C"
