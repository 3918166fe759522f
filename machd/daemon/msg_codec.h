// machd/daemon/msg_codec.h — mach_msg requests and completions in a channel.
//
// Request data (MACHD_OP_MSG):  [send message, padded to 8]
//                               [n_ool x machd_ool_in]
//                               [n_ool_ports x (u32 count, u32 0, names..., pad 8)]
//                               [inline OOL bytes, referenced by machd_ool_in.offset]
// Reply data:                   [message, padded to 8]
//                               [n_ool x machd_ool_out][n_ool_ports x machd_ool_out]
//                               [inline bytes referenced by the records]
// Memfd regions travel on the socket (Session::send_fds) before the reply.
#pragma once

#include "ipc/kernel.h"
#include "session.h"

namespace machd {

// Builds MsgArgs from a copied-out request. Every length, offset and index is
// checked; fds named by the request are adopted (sealed) as payloads.
// Returns MACH_MSG_SUCCESS or the mach_msg error to give the caller
// (MACH_SEND_INVALID_DATA / MACH_SEND_INVALID_MEMORY / MACH_SEND_TOO_LARGE).
mach_msg_return_t decode_msg_request(Request& req, ipc::MsgArgs& out);

// Encodes a completion into a channel reply; memfd payloads are sent to the
// session's socket first (tagged). Never fails: if the socket cannot take the
// fds (client not reading, or gone), those regions arrive empty (size 0)
// rather than the call hanging.
void encode_completion(ipc::Completion& c, Session& s, Reply& out);

}  // namespace machd
