// libmach-compat/src/mach_msg_server.cc — the MIG server loops of libsyscall:
// mach_msg_server, mach_msg_server_once, mig_reply_setup. Each request is
// received with MACH_RCV_VOUCHER and its voucher adopted by the serving
// thread until the reply is sent (voucher.cc).
//
// mach_msg_server sends each reply in the call that receives the next
// request (one round trip to machd per request); mach_msg_server_once, by
// its nature, makes two.
//
// MIG's server contract: a demux fills the reply; a simple reply whose
// RetCode is MIG_NO_REPLY sends nothing; one with another error means the
// request was not consumed, so its body (rights, memory) is destroyed here;
// a reply that cannot be delivered is destroyed.
#include <mach/mach.h>
#include <mach/mig_errors.h>

#include <cstdlib>
#include <cstring>
#include <utility>

namespace {

using Demux = boolean_t (*)(mach_msg_header_t*, mach_msg_header_t*);

struct Buffers {
  mig_reply_error_t* request = nullptr;
  mig_reply_error_t* reply = nullptr;
  mach_msg_size_t size = 0;  // each buffer, trailer included
  bool grow(mach_msg_size_t want) {
    void* a = realloc(request, want);
    if (!a) return false;
    request = static_cast<mig_reply_error_t*>(a);
    void* b = realloc(reply, want);
    if (!b) return false;
    reply = static_cast<mig_reply_error_t*>(b);
    size = want;
    return true;
  }
  ~Buffers() {
    free(request);
    free(reply);
  }
};

// After the demux (libsyscall's mach_msg_server_mig_return_code and what
// follows it): a complex reply counts as a success (its RetCode field holds
// the descriptor count); MIG_NO_REPLY sends nothing; any other error means the
// request was not consumed, so its body and rights are destroyed here, all but
// the reply right, which the error reply carries.
void apply_contract(mig_reply_error_t* req, mig_reply_error_t* rep) {
  if (rep->Head.msgh_bits & MACH_MSGH_BITS_COMPLEX) return;
  if (rep->RetCode == KERN_SUCCESS) return;
  if (rep->RetCode == MIG_NO_REPLY) {
    rep->Head.msgh_remote_port = MACH_PORT_NULL;
    return;
  }
  req->Head.msgh_remote_port = MACH_PORT_NULL;
  mach_msg_destroy(&req->Head);
}

// The send errors after which the reply is still ours to destroy; after any
// other, machd may have destroyed part of it already.
bool recoverable_send_error(mach_msg_return_t mr) {
  return mr == MACH_SEND_INVALID_DEST || mr == MACH_SEND_TIMED_OUT || mr == MACH_SEND_INTERRUPTED;
}

// Destroys a reply that was not sent, its local right included
// (mach_msg_destroy leaves a header's local port alone).
void consume_unsent(mach_msg_header_t* head) {
  const mach_port_t local = head->msgh_local_port;
  const mach_msg_type_name_t disposition = MACH_MSGH_BITS_LOCAL(head->msgh_bits);
  if (MACH_PORT_VALID(local) &&
      (disposition == MACH_MSG_TYPE_MOVE_SEND || disposition == MACH_MSG_TYPE_MOVE_SEND_ONCE)) {
    mach_port_deallocate(mach_task_self(), local);
    head->msgh_local_port = MACH_PORT_NULL;
  }
  mach_msg_destroy(head);
}

// Runs the demux on the request in `b` and applies MIG's contract to its
// reply. Returns true when the reply is to be sent; false when there is
// none (a complex reply without a destination is destroyed here).
bool demux_request(Demux demux, Buffers& b) {
  b.reply->Head = mach_msg_header_t{};
  (void)demux(&b.request->Head, &b.reply->Head);
  apply_contract(b.request, b.reply);
  if (MACH_PORT_VALID(b.reply->Head.msgh_remote_port)) return true;
  if (b.reply->Head.msgh_bits & MACH_MSGH_BITS_COMPLEX) mach_msg_destroy(&b.reply->Head);
  return false;
}

mach_msg_option_t send_options(const mig_reply_error_t* rep, mach_msg_option_t options) {
  // As libsyscall: a reply to a send-once right never blocks anyway; one to
  // an ordinary send right is sent with a zero timeout, so that a client with
  // a full reply queue cannot hang the server (the reply is then dropped).
  mach_msg_option_t o = MACH_SEND_MSG | (options & ~MACH_RCV_MSG & ~MACH_RCV_TIMEOUT);
  if (MACH_MSGH_BITS_REMOTE(rep->Head.msgh_bits) != MACH_MSG_TYPE_MOVE_SEND_ONCE) o |= MACH_SEND_TIMEOUT;
  return o;
}

}  // namespace

extern "C" {

void mig_reply_setup(mach_msg_header_t* request, mach_msg_header_t* reply) {
  auto* r = reinterpret_cast<mig_reply_error_t*>(reply);
  r->Head.msgh_bits = MACH_MSGH_BITS(MACH_MSGH_BITS_REMOTE(request->msgh_bits), 0);
  r->Head.msgh_size = sizeof(mig_reply_error_t);
  r->Head.msgh_remote_port = request->msgh_remote_port;
  r->Head.msgh_local_port = MACH_PORT_NULL;
  r->Head.msgh_voucher_port = MACH_PORT_NULL;
  r->Head.msgh_id = mach_msg_id_t(natural_t(request->msgh_id) + 100u);  // any id: wraps, never overflows
  r->NDR = NDR_record;
  r->RetCode = KERN_SUCCESS;
}

mach_msg_return_t mach_msg_server_once(Demux demux, mach_msg_size_t max_size, mach_port_t rcv_name,
                                       mach_msg_options_t options) {
  Buffers b;
  if (!b.grow(max_size + MAX_TRAILER_SIZE)) return KERN_RESOURCE_SHORTAGE;
  // As libsyscall: requests come with their vouchers, which the serving
  // thread adopts for the time of the request.
  mach_msg_option_t rcv = MACH_RCV_MSG | MACH_RCV_VOUCHER | (options & ~(MACH_SEND_MSG | MACH_RCV_VOUCHER));
  mach_msg_return_t mr;
  for (;;) {
    mr = mach_msg(&b.request->Head, rcv, 0, b.size, rcv_name, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
    if (mr == MACH_RCV_TOO_LARGE && (options & MACH_RCV_LARGE)) {
      if (!b.grow(b.request->Head.msgh_size + MAX_TRAILER_SIZE)) return KERN_RESOURCE_SHORTAGE;
      continue;
    }
    break;
  }
  if (mr != MACH_MSG_SUCCESS) return mr;
  const voucher_mach_msg_state_t old_state = voucher_mach_msg_adopt(&b.request->Head);
  if (!demux_request(demux, b)) {
    voucher_mach_msg_revert(old_state);
    return MACH_MSG_SUCCESS;
  }
  mr = mach_msg(&b.reply->Head, send_options(b.reply, options & ~MACH_RCV_VOUCHER), b.reply->Head.msgh_size, 0,
                MACH_PORT_NULL, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
  voucher_mach_msg_revert(old_state);
  if (recoverable_send_error(mr)) {
    consume_unsent(&b.reply->Head);
    return MACH_MSG_SUCCESS;  // the client is gone: nothing to report
  }
  return mr;
}

// As libsyscall's, the buffers live for the whole loop and each reply goes
// out in the same call that receives the next request. libsyscall asks that
// call's receive not to wait (MACH_RCV_TIMEOUT, 0) and, when nothing is
// queued, receives again alone, reverting the voucher in between. Here every
// call is a round trip to machd, and the poll would double the cost of each
// request, so the call blocks for the next request itself: the program sees
// the same requests, replies and errors, and its serving thread keeps the
// last request's voucher only while it is blocked in mach_msg.
mach_msg_return_t mach_msg_server(Demux demux, mach_msg_size_t max_size, mach_port_t rcv_name,
                                  mach_msg_options_t options) {
  options &= ~(MACH_SEND_MSG | MACH_RCV_MSG | MACH_RCV_VOUCHER);
  const mach_msg_option_t rcv = MACH_RCV_MSG | MACH_RCV_VOUCHER | options;
  Buffers b;
  if (!b.grow(max_size + MAX_TRAILER_SIZE)) return KERN_RESOURCE_SHORTAGE;
  auto receive = [&] {
    return mach_msg(&b.request->Head, rcv, 0, b.size, rcv_name, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
  };
  mach_msg_return_t mr;
  for (;;) {
    mr = receive();
    while (mr == MACH_MSG_SUCCESS) {
      voucher_mach_msg_state_t old_state = voucher_mach_msg_adopt(&b.request->Head);
      if (!demux_request(demux, b)) {
        voucher_mach_msg_revert(old_state);
        mr = receive();
        continue;
      }
      // The reply, and the next request into the request buffer.
      mr = mach_msg_overwrite(&b.reply->Head, send_options(b.reply, options) | rcv, b.reply->Head.msgh_size, b.size,
                              rcv_name, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL, &b.request->Head, 0);
      voucher_mach_msg_revert(old_state);
      if (recoverable_send_error(mr)) {
        // The client is gone or not listening: nothing was received either.
        consume_unsent(&b.reply->Head);
        mr = receive();
      }
    }
    // As libsyscall: with MACH_RCV_LARGE, a request too large for the buffer
    // stays queued; the buffers grow to hold it and the loop receives it.
    if (mr == MACH_RCV_TOO_LARGE && (options & MACH_RCV_LARGE)) {
      if (!b.grow(b.request->Head.msgh_size + MAX_TRAILER_SIZE)) return KERN_RESOURCE_SHORTAGE;
      continue;
    }
    return mr;  // only errors end the loop
  }
}

mach_msg_return_t mach_msg_server_importance(Demux demux, mach_msg_size_t max_size, mach_port_t rcv_name,
                                             mach_msg_options_t options) {
  return mach_msg_server(demux, max_size, rcv_name, options);
}

}  // extern "C"
