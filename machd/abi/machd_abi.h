/* machd/abi/machd_abi.h — the wire between libmach-compat (in every Mach task)
 * and machd. This header is the whole ABI: C structs with fixed-width fields,
 * static_asserts on their layout, and a version checked at hand-shake.
 *
 *  Control socket (AF_UNIX, SOCK_SEQPACKET)            Task region (memfd, MAP_SHARED)
 *  ───────────────────────────────────────             ──────────────────────────────────
 *  client → machd  machd_hello                         [0]  machd_region_header
 *  machd → client  machd_welcome + fds                      (flags, pending bitmap),
 *                  [region memfd, doorbell eventfd]         then the fast lanes
 *  client → machd  machd_sock_request + fds            [MACHD_CHANNELS_OFFSET]
 *                  (a request carrying fds: OOL memory)     channel 0: machd_channel + data
 *  machd → client  machd_sock_fds + fds (OOL memory         channel 1 ...
 *                  being received)                     (the geometry is below)
 *
 * One thread of a task uses one channel at a time. A call:
 *   client: fill channel (op, args, data), state := MACHD_CH_REQ (release),
 *           set bit `channel` in pending[], and if flags has NEED_WAKEUP write the
 *           doorbell eventfd. To sleep it swaps state REQ -> SLEEP and
 *           FUTEX_WAITs while state is SLEEP.
 *   machd:  on the doorbell, swap pending[] words with 0; for each set bit whose
 *           state is REQ or SLEEP copy the request out ONCE (bounded by the data
 *           size), validate it, act on the copy; when the call finishes (now, or
 *           later for a blocked mach_msg) write the reply into the channel,
 *           swap state := MACHD_CH_DONE (release) and, only if the old state
 *           was SLEEP, FUTEX_WAKE it once the batch of work in hand is done
 *           (a spinning client costs no syscall).
 *   client: read the reply, state := MACHD_CH_IDLE.
 * Everything in the region is untrusted input for machd. A task that breaks
 * the protocol is disconnected (its task dies); no other task is affected.
 */
#ifndef MACHD_ABI_H
#define MACHD_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define MACHD_STATIC_ASSERT static_assert
extern "C" {
#else
#define MACHD_STATIC_ASSERT _Static_assert
#endif

#define MACHD_ABI_MAGIC 0x4d414348u /* "MACH" */
#define MACHD_ABI_VERSION 8u

/* Region geometry (fixed for ABI version 2):
 *   [0, 4096)                 machd_region_header, credit table, lane controls
 *   [MACHD_SEND_RING_OFFSET)  the send ring (fast lane, client -> machd)
 *   [MACHD_LANES_OFFSET)      the receive lanes (fast lane, machd -> client)
 *   [MACHD_CHANNELS_OFFSET)   the channels (one per calling thread)
 *   [MACHD_AGENT_OFFSET)      the in-task agent: mailbox, then thread slots */
#define MACHD_MAX_CHANNELS 256u           /* concurrent calling threads per task */
#define MACHD_CHANNEL_SIZE (256u * 1024u) /* bytes per channel, header included */
#define MACHD_REGION_HEADER_SIZE 4096u
#define MACHD_SEND_SLOTS 512u             /* send ring entries */
#define MACHD_SEND_SLOT_SIZE 256u
#define MACHD_LANES 16u                   /* receive lanes (one port each) */
#define MACHD_LANE_SLOTS 256u             /* entries per lane */
#define MACHD_LANE_SLOT_SIZE 256u
#define MACHD_SEND_RING_OFFSET ((uint64_t)MACHD_REGION_HEADER_SIZE)
#define MACHD_LANES_OFFSET \
  (MACHD_SEND_RING_OFFSET + (uint64_t)MACHD_SEND_SLOTS * MACHD_SEND_SLOT_SIZE)
#define MACHD_CHANNELS_OFFSET \
  (MACHD_LANES_OFFSET + (uint64_t)MACHD_LANES * MACHD_LANE_SLOTS * MACHD_LANE_SLOT_SIZE)
#define MACHD_AGENT_OFFSET \
  (MACHD_CHANNELS_OFFSET + (uint64_t)MACHD_MAX_CHANNELS * MACHD_CHANNEL_SIZE)
#define MACHD_REGION_SIZE (MACHD_AGENT_OFFSET + (uint64_t)MACHD_AGENT_AREA_SIZE)

/* machd_region_header.flags */
#define MACHD_FLAG_NEED_WAKEUP 0x1u /* machd may be asleep: ring the doorbell */
#define MACHD_FLAG_SHUTDOWN 0x2u    /* machd is gone: every call fails */

struct machd_region_header {
  uint32_t magic;
  uint32_t version;
  uint32_t nchannels;
  uint32_t channel_size;
  uint64_t region_size;
  uint32_t flags;       /* written by machd, read by clients (atomic) */
  uint32_t reserved0;
  uint64_t pending[MACHD_MAX_CHANNELS / 64]; /* written by clients (atomic OR) */
};
MACHD_STATIC_ASSERT(sizeof(struct machd_region_header) == 64, "region header layout");
MACHD_STATIC_ASSERT(offsetof(struct machd_region_header, flags) == 24, "flags offset");
MACHD_STATIC_ASSERT(offsetof(struct machd_region_header, pending) == 32, "pending offset");

/* ---- fast lanes --------------------------------------------------------------
 * Two batching paths for small simple messages, so that a stream of them does
 * not cost machd a wake-up per message. Both are optional: machd offers them
 * only to a client whose hello has MACHD_HELLO_FAST_LANES, and every call a
 * lane cannot carry exactly goes through the channels. Everything here is
 * untrusted input for machd, as above.
 *
 * Send credits and the send ring (client -> machd)
 *   machd reserves queue slots for this task on a port it sends to, and writes
 *   in credits[MACH_PORT_INDEX(name) % MACHD_CREDITS] the word
 *   MACHD_CREDIT(name, epoch, count). A credit is room reserved in the
 *   port's queue, so the message is sent the moment a slot is taken. To
 *   send a simple message (bits MACH_MSGH_BITS(COPY_SEND, 0), no local or
 *   voucher port, at most MACHD_SEND_MSG_MAX bytes) without a trap, a
 *   thread CASes the word from count to count-1 (the name must match), takes
 *   a ring position with fetch_add on send_tail, writes the slot (credit,
 *   size, message), stores seq = position + 1 (release), then sets
 *   MACHD_ASYNC_SEND in async_pending (a locked RMW) and, if it was clear
 *   and NEED_WAKEUP is set, rings the doorbell. mach_msg returns
 *   MACH_MSG_SUCCESS. machd posts every written slot, in position order,
 *   before any other request of any task, so every later call sees the
 *   message sent; a slot taken but not written yet does not hold the others
 *   back. machd keeps the positions a task may take within a ring's worth
 *   of the oldest unconsumed one, so a slot is always free for a credited
 *   sender. To revoke a credit machd exchanges the word for count 0 (a
 *   message whose slot was taken before that still arrives and is sent).
 *
 * Receive lanes (machd -> client)
 *   machd copies ("lends") messages queued on a port whose receive right this
 *   task holds into lane i: slots of machd_lane_slot, the message exactly as
 *   mach_msg would return it followed at round_msg(size) by a full format-0
 *   trailer (the client trims it to what the caller asked for). The lane
 *   control word head is MACHD_LANE_HEAD(name, closed, index): a thread
 *   receiving on `name` (a receive without a send) reads head, checks name and
 *   closed, compares index with tail, copies the slot and CASes head to
 *   index + 1. Lent messages stay queued on the port for everything else
 *   (qlimit, status) until machd learns how many were taken; it closes the lane
 *   (sets the closed bit) before any operation that must see the queue as it
 *   is. When a sender waits for room on the port, machd sets
 *   MACHD_LANE_SENDERS_WAITING: a thread that takes a message then sets
 *   MACHD_ASYNC_SETTLE in async_pending and rings the doorbell as above. */
#define MACHD_CREDITS 64u
#define MACHD_CREDIT(name, epoch, count) \
  (((uint64_t)(name) << 32) | ((uint64_t)((epoch) & 0xffffu) << 16) | (uint64_t)((count) & 0xffffu))
#define MACHD_CREDIT_NAME(w) ((uint32_t)((w) >> 32))
#define MACHD_CREDIT_EPOCH(w) ((uint32_t)(((w) >> 16) & 0xffffu))
#define MACHD_CREDIT_COUNT(w) ((uint32_t)((w)&0xffffu))

#define MACHD_ASYNC_SEND 0x1u   /* the send ring has entries */
#define MACHD_ASYNC_SETTLE 0x2u /* a lane with waiting senders was taken from */

#define MACHD_LANE_HEAD(name, closed, index) \
  (((uint64_t)(name) << 32) | ((closed) ? 0x80000000ull : 0ull) | (uint64_t)((index)&0x7fffffffu))
#define MACHD_LANE_HEAD_NAME(w) ((uint32_t)((w) >> 32))
#define MACHD_LANE_HEAD_CLOSED(w) (((w)&0x80000000ull) != 0)
#define MACHD_LANE_HEAD_INDEX(w) ((uint32_t)((w)&0x7fffffffu))
#define MACHD_LANE_SENDERS_WAITING 0x1u

struct machd_lane {
  uint64_t head;  /* MACHD_LANE_HEAD: machd sets name/closed, clients CAS the index */
  uint32_t tail;  /* machd: index one past the last lent message (31 bits, wraps) */
  uint32_t flags; /* machd: MACHD_LANE_* */
  uint64_t reserved[6];
};
MACHD_STATIC_ASSERT(sizeof(struct machd_lane) == 64, "lane layout");

/* The fast-lane part of the header page, at MACHD_FAST_OFFSET. */
struct machd_fast_header {
  uint32_t async_pending; /* clients: atomic OR of MACHD_ASYNC_*; machd swaps with 0 */
  uint32_t reserved0[15];
  uint64_t send_tail;     /* clients: fetch_add to take a ring position */
  uint64_t reserved1[7];
  uint64_t credits[MACHD_CREDITS]; /* machd writes, clients CAS the count down */
  struct machd_lane lanes[MACHD_LANES];
};
#define MACHD_FAST_OFFSET 1024u
MACHD_STATIC_ASSERT(offsetof(struct machd_fast_header, send_tail) == 64, "send_tail offset");
MACHD_STATIC_ASSERT(offsetof(struct machd_fast_header, credits) == 128, "credits offset");
MACHD_STATIC_ASSERT(offsetof(struct machd_fast_header, lanes) == 640, "lanes offset");
MACHD_STATIC_ASSERT(MACHD_FAST_OFFSET + sizeof(struct machd_fast_header) <= MACHD_REGION_HEADER_SIZE,
                    "fast header fits the header page");

struct machd_send_slot {
  uint64_t seq;    /* position + 1 once the slot is written (release) */
  uint32_t credit; /* credit slot index | epoch << 16 */
  uint32_t size;   /* bytes of msg[] used: the message (header included) */
  uint8_t msg[MACHD_SEND_SLOT_SIZE - 16];
};
MACHD_STATIC_ASSERT(sizeof(struct machd_send_slot) == MACHD_SEND_SLOT_SIZE, "send slot layout");
#define MACHD_SEND_MSG_MAX (MACHD_SEND_SLOT_SIZE - 16u)

struct machd_lane_slot {
  uint32_t size;     /* message bytes (msgh_size); the trailer follows at round_msg(size) */
  uint32_t reserved;
  uint8_t image[MACHD_LANE_SLOT_SIZE - 8];
};
MACHD_STATIC_ASSERT(sizeof(struct machd_lane_slot) == MACHD_LANE_SLOT_SIZE, "lane slot layout");
#define MACHD_LANE_IMAGE_MAX (MACHD_LANE_SLOT_SIZE - 8u)

/* ---- the in-task agent ------------------------------------------------------
 * libmach-compat starts one agent thread in every task. It does for machd
 * what only the process can do (map memory in itself, create threads), and
 * every thread of the task can be parked in a signal handler with its full
 * context saved in a thread slot, where machd reads and writes it.
 *
 * Mailbox (machd -> agent, answered agent -> machd)
 *   machd fills a free call slot (op, args, seq; fds first sent on the socket
 *   as machd_sock_fds, the tag in args), stores state := MACHD_AC_REQ
 *   (release), increments agent.wake and FUTEX_WAKEs it. The agent sleeps on
 *   agent.wake; it runs every REQ slot, writes result/rets, stores state :=
 *   MACHD_AC_DONE (release), sets agent.done := 1 and writes the doorbell.
 *   machd, on every doorbell, swaps agent.done with 0 and takes every DONE
 *   slot whose seq it is waiting for (copying the answer once), then frees it
 *   (state := MACHD_AC_FREE). machd never waits for the agent: an unanswered
 *   call times out in machd.
 *
 * Thread slots (parking)
 *   machd owns the assignment of slots to threads. To stop thread `tid` it
 *   writes slot.tid, slot.flags, state := MACHD_TS_STOPPING, then sends
 *   MACHD_THREAD_SIGNAL to the thread with rt_tgsigqueueinfo, si_value = the
 *   slot index. The handler (on that thread) checks slot.tid, saves the
 *   ucontext (gregs, fs/gs bases, the signal frame's FP/xstate) into the slot,
 *   CASes state STOPPING -> PARKED (if machd already resumed, it returns at
 *   once), sets bit `slot` in agent.parked, agent.done := 1, writes the
 *   doorbell and FUTEX_WAITs while state is PARKED. machd reads the context
 *   (thread_get_state) and may rewrite it, setting MACHD_TSF_DIRTY. To let the
 *   thread go it stores state := MACHD_TS_RUNNING and FUTEX_WAKEs the slot's
 *   state; the handler copies a DIRTY context back into the ucontext (its
 *   sigreturn applies it) and, with MACHD_TSF_EXIT, ends the thread instead.
 *   The agent thread blocks MACHD_THREAD_SIGNAL. */
#define MACHD_THREAD_SIGNAL 63 /* SIGRTMAX-1: libmach-compat's handler */
#define MACHD_AGENT_CALLS 32u
#define MACHD_THREAD_SLOTS 256u
#define MACHD_THREAD_SLOT_SIZE 8192u
#define MACHD_AGENT_HEADER_SIZE 4096u
#define MACHD_AGENT_AREA_SIZE \
  (MACHD_AGENT_HEADER_SIZE + (uint64_t)MACHD_THREAD_SLOTS * MACHD_THREAD_SLOT_SIZE)

/* machd_agent_call.state */
#define MACHD_AC_FREE 0u
#define MACHD_AC_REQ 1u  /* machd -> agent */
#define MACHD_AC_BUSY 2u /* the agent took it */
#define MACHD_AC_DONE 3u /* agent -> machd: result and rets are written */

/* Agent operations. Addresses and sizes are the task's. */
enum machd_agent_op {
  MACHD_AGENT_NOP = 0,      /* answers KERN_SUCCESS (liveness) */
  MACHD_AGENT_MMAP = 1,     /* args {addr, len, prot, flags, fd tag (0: none), offset} -> rets[0] address;
                               result KERN_SUCCESS or KERN_NO_SPACE/INVALID_ADDRESS/INVALID_ARGUMENT,
                               rets[1] = errno */
  MACHD_AGENT_MUNMAP = 2,   /* args {addr, len} */
  MACHD_AGENT_MPROTECT = 3, /* args {addr, len, prot} (PROT_*) */
  MACHD_AGENT_MADVISE = 4,  /* args {addr, len, advice} (MADV_*) */
  MACHD_AGENT_THREAD_CREATE = 5, /* args {slot}: a new thread that parks at once in `slot` (tid
                                    written in the slot by machd's reading) -> rets[0] = tid */
  MACHD_AGENT_MLOCK = 6,    /* args {addr, len}: mlock; KERN_RESOURCE_SHORTAGE when Linux refuses
                               (RLIMIT_MEMLOCK, EAGAIN), rets[1] = errno */
  MACHD_AGENT_MUNLOCK = 7,  /* args {addr, len}: munlock */
  MACHD_AGENT_EMULATION = 8, /* no args: the task's emulation changed (kern/emulation.h): fetch the
                                vector and the server port and install them; KERN_NOT_SUPPORTED when
                                the process cannot filter system calls (seccomp) */
  MACHD_AGENT_FORK_CORPSE = 9, /* no args: fork the process's corpse (kern/corpse.h: a copy that only
                                   waits, with no exit signal) -> rets[0] its pid */
  MACHD_AGENT_REAP_CORPSE = 10, /* args {pid}: that corpse is done with: kill it and reap it */
  MACHD_AGENT_OP_COUNT
};

struct machd_agent_call {
  uint32_t state; /* MACHD_AC_* */
  uint32_t op;    /* machd_agent_op */
  uint32_t seq;   /* machd's id of the call (the answer must keep it) */
  int32_t result; /* agent: kern_return_t */
  uint64_t args[6];
  uint64_t rets[2];
};
MACHD_STATIC_ASSERT(sizeof(struct machd_agent_call) == 80, "agent call layout");

struct machd_agent_header {
  uint32_t wake;      /* futex word the agent sleeps on: machd increments it */
  uint32_t done;      /* agent (and parked threads): 1 = look at the calls/slots */
  uint32_t agent_tid; /* the agent thread (never listed, never stopped) */
  uint32_t pid;       /* the process, as the agent sees it */
  uint64_t parked[MACHD_THREAD_SLOTS / 64]; /* handlers: atomic OR of a slot's bit once parked */
  uint64_t exc_interest; /* machd: bit (1 << exception type) set while some exception port (the
                            task's, the host's or one of its threads') takes that exception */
  uint64_t reserved;
  struct machd_agent_call calls[MACHD_AGENT_CALLS];
};
MACHD_STATIC_ASSERT(offsetof(struct machd_agent_header, parked) == 16, "parked offset");
MACHD_STATIC_ASSERT(offsetof(struct machd_agent_header, calls) == 64, "calls offset");
MACHD_STATIC_ASSERT(sizeof(struct machd_agent_header) <= MACHD_AGENT_HEADER_SIZE, "agent header fits");

/* machd_thread_slot.state (futex word) */
#define MACHD_TS_FREE 0u
#define MACHD_TS_STOPPING 1u /* machd: signal sent */
#define MACHD_TS_PARKED 2u   /* handler: context saved, waiting */
#define MACHD_TS_RUNNING 3u  /* machd: go on (the handler returns) */
/* machd_thread_slot.flags (machd) */
#define MACHD_TSF_DIRTY 0x1u /* machd rewrote gregs/fpstate: load them */
#define MACHD_TSF_EXIT 0x2u  /* end the thread instead of returning */
#define MACHD_TSF_EXC_HANDLED 0x4u /* an exception handler answered KERN_SUCCESS: resume */
#define MACHD_TSF_CORPSE_WANTED 0x8u /* EXC_CRASH: nobody handled it and a level takes
                                        EXC_CORPSE_NOTIFY: fork the corpse (MACHD_OP_CORPSE_FORKED) */
/* machd_thread_slot.fp_kind (handler) */
#define MACHD_FP_NONE 0u
#define MACHD_FP_FXSAVE 1u /* fpstate holds a 512-byte FXSAVE image */
#define MACHD_FP_XSAVE 2u  /* FXSAVE image + XSAVE header and components (standard format) */

/* gregs[] indexes are glibc's REG_* (REG_R8 = 0 ... REG_CR2 = 22). */
#define MACHD_NGREG 23u
struct machd_thread_slot {
  uint32_t state;   /* MACHD_TS_* */
  uint32_t tid;     /* machd: the thread this slot is for */
  uint32_t flags;   /* MACHD_TSF_* */
  uint32_t fp_kind; /* MACHD_FP_* */
  uint32_t fp_size; /* bytes of fpstate[] in use */
  uint32_t reserved0;
  uint64_t fs_base;
  uint64_t gs_base;
  uint64_t gregs[MACHD_NGREG];
  uint64_t reserved1[4];
  uint8_t fpstate[MACHD_THREAD_SLOT_SIZE - 256];
};
MACHD_STATIC_ASSERT(offsetof(struct machd_thread_slot, gregs) == 40, "gregs offset");
MACHD_STATIC_ASSERT(offsetof(struct machd_thread_slot, fpstate) == 256, "fpstate offset");
MACHD_STATIC_ASSERT(sizeof(struct machd_thread_slot) == MACHD_THREAD_SLOT_SIZE, "thread slot layout");

/* machd_channel.state (the futex word). */
#define MACHD_CH_IDLE 0u
#define MACHD_CH_REQ 1u   /* client → machd: a request is ready */
#define MACHD_CH_SLEEP 2u /* client is (about to be) in FUTEX_WAIT */
#define MACHD_CH_DONE 3u  /* machd → client: the reply is ready */

#define MACHD_CH_ARGS 10u
#define MACHD_CH_RETS 6u

struct machd_channel {
  uint32_t state;      /* futex word, see above */
  uint32_t op;         /* enum machd_op */
  uint32_t data_len;   /* request: bytes used in data[]; reply: bytes written */
  int32_t result;      /* reply: kern_return_t / mach_msg_return_t */
  uint64_t args[MACHD_CH_ARGS];
  uint64_t rets[MACHD_CH_RETS];
  int32_t tid;         /* request: the calling thread's Linux tid (thread_abort
                        * finds a thread's blocked mach_msg by it) */
  uint32_t reserved;
  /* uint8_t data[MACHD_CHANNEL_DATA_SIZE] follows */
};
MACHD_STATIC_ASSERT(sizeof(struct machd_channel) == 152, "channel header layout");
MACHD_STATIC_ASSERT(offsetof(struct machd_channel, tid) == 144, "tid offset");
MACHD_STATIC_ASSERT(offsetof(struct machd_channel, args) == 16, "args offset");
MACHD_STATIC_ASSERT(offsetof(struct machd_channel, rets) == 96, "rets offset");
#define MACHD_CHANNEL_DATA_SIZE (MACHD_CHANNEL_SIZE - (uint32_t)sizeof(struct machd_channel))

/* Operations (traps). For each: args in, rets/data out. Names are in the
 * calling task's space unless said otherwise; `task` is a task port name
 * (mach_task_self() or another task port the caller holds a send right to). */
enum machd_op {
  MACHD_OP_NONE = 0,
  /* mach_msg: args = {options, send_size, rcv_size, rcv_name, timeout, notify,
   *                   n_ool, n_ool_ports, msg address, receive buffer address}
   * data = send message (send_size bytes, padded to 8), then n_ool
   *        machd_ool_in records, then the OOL ports arrays (names), in order.
   * reply: result = mach_msg_return_t; rets = {flags(MACHD_MSG_*), msg_len,
   *        n_ool, n_ool_ports, message fd tag}; data = message bytes (msg_len, padded to 8),
   *        then n_ool machd_ool_out, then n_ool_ports machd_ool_out (kind
   *        INLINE, names). */
  MACHD_OP_MSG = 1,
  MACHD_OP_REPLY_PORT = 2,          /* rets[0] = name */
  MACHD_OP_PORT_ALLOCATE = 3,       /* args {task, right} → rets[0] name */
  MACHD_OP_PORT_ALLOCATE_NAME = 4,  /* args {task, right, name} */
  MACHD_OP_PORT_DEALLOCATE = 5,     /* args {task, name} */
  MACHD_OP_PORT_DESTROY = 6,        /* args {task, name} */
  MACHD_OP_PORT_MOD_REFS = 7,       /* args {task, name, right, delta} */
  MACHD_OP_PORT_GET_REFS = 8,       /* args {task, name, right} → rets[0] */
  MACHD_OP_PORT_TYPE = 9,           /* args {task, name} → rets[0] */
  MACHD_OP_PORT_NAMES = 10,         /* args {task} → rets[0]=count; names[], types[]: in data if rets[1]==0, else in the memfd of fd tag rets[1] (each array page-aligned) */
  MACHD_OP_PORT_INSERT_RIGHT = 11,  /* args {task, name, poly, poly_type} */
  MACHD_OP_PORT_EXTRACT_RIGHT = 12, /* args {task, name, msgt_name} → rets {poly, poly_type} */
  MACHD_OP_PORT_MOVE_MEMBER = 13,   /* args {task, member, after} */
  MACHD_OP_PORT_INSERT_MEMBER = 14, /* args {task, member, pset} */
  MACHD_OP_PORT_EXTRACT_MEMBER = 15,/* args {task, member, pset} */
  MACHD_OP_PORT_GET_SET_STATUS = 16,/* args {task, pset} → rets[0]=count; names[] as for PORT_NAMES */
  MACHD_OP_PORT_REQUEST_NOTIFICATION = 17, /* args {task, name, variant, sync, notify, notify_type} → rets[0] previous */
  MACHD_OP_PORT_GET_ATTRIBUTES = 18, /* args {task, name, flavor, count} → rets[0]=count; data = info[] */
  MACHD_OP_PORT_SET_ATTRIBUTES = 19, /* args {task, name, flavor, count}; data = info[] */
  MACHD_OP_PORT_CONSTRUCT = 20,     /* args {task, context}; data = mach_port_options_t → rets[0] name */
  MACHD_OP_PORT_DESTRUCT = 21,      /* args {task, name, srdelta, guard} */
  MACHD_OP_PORT_GUARD = 22,         /* args {task, name, guard, flags (MPG_STRICT | MPG_IMMOVABLE_RECEIVE)} */
  MACHD_OP_PORT_UNGUARD = 23,       /* args {task, name, guard} */
  MACHD_OP_PORT_SET_CONTEXT = 24,   /* args {task, name, context} */
  MACHD_OP_PORT_GET_CONTEXT = 25,   /* args {task, name} → rets[0] */
  MACHD_OP_PORT_SET_MSCOUNT = 26,   /* args {task, name, mscount} */
  MACHD_OP_PORT_SET_SEQNO = 27,     /* args {task, name, seqno} */
  MACHD_OP_PORT_GET_SRIGHTS = 28,   /* args {task, name} → rets[0] */
  MACHD_OP_PORT_RENAME = 29,        /* args {task, old, new} */
  MACHD_OP_PORT_PEEK = 30,          /* args {task, name, trailer_type, seqno} → rets {seqno, size, id, trailer_len}; data = trailer */
  /* 31, 32: retired (task_get/set_special_port are MIG routines on the task port). */
  MACHD_OP_PING = 33,               /* no args; result KERN_SUCCESS (tests, benchmarks) */
  MACHD_OP_STATS = 34,              /* no args; data = struct machd_stats */
  MACHD_OP_PID_FOR_TASK = 35,       /* args {task port of any flavor} → rets[0] = pid */
  MACHD_OP_HOST_SELF = 36,          /* no args → rets[0] = send right to the host port */
  /* 70-89: host, clocks, timers, time (machd/kern/timer.h, clock.h) */
  MACHD_OP_MK_TIMER_CREATE = 70,    /* no args → rets[0] = receive right to a new timer port */
  MACHD_OP_MK_TIMER_DESTROY = 71,   /* args {name} */
  MACHD_OP_MK_TIMER_ARM = 72,       /* args {name, expire_time, leeway, flags} (mach_absolute_time units) */
  MACHD_OP_MK_TIMER_CANCEL = 73,    /* args {name} → rets[0] = the armed deadline (0 if none) */
  MACHD_OP_CLOCK_OF = 74,           /* args {name} → rets[0] = clock id of the clock a send right names */
  MACHD_OP_MEMORY_ENTRY_MAP = 90,   /* args {task (self), entry name} → rets {fd tag, offset, size, protection};
                                       the entry's memfd comes with the tag (vm/memory_entry.h) */
  MACHD_OP_OBJECTS_INHERIT = 91,    /* args {task (self), parent pid}: a forked child (before fork() returns in it)
                                       takes over its parent's memory object mappings inherited
                                       VM_INHERIT_SHARE → rets[0] = how many (vm/memory_objects.h);
                                       args[2]: the fork's copy token (0: none), whose claim this call
                                       ends (vm/fork_copies.h) */
  /* fork() and VM_INHERIT_COPY object mappings (vm/fork_copies.h): */
  MACHD_OP_OBJECTS_FORK_PREPARE = 92,  /* args {task (self), tid (the forking thread)}: before fork, copies of
                                          the caller's COPY object mappings; answered once made (the
                                          pager may be asked for pages) → rets {token (0: none), count};
                                          data = {address, length} (uint64_t each) of every copy, which the
                                          child reserves before it maps anything */
  MACHD_OP_OBJECTS_FORK_DONE = 93,     /* args {task (self), token}: the fork returned in the parent */
  MACHD_OP_OBJECTS_FORK_COPY = 94,     /* args {task (self), parent pid, token, index}: the forked child takes
                                          copy `index` → rets {fd tag, address, length, offset in the memfd,
                                          protection, flags (MACHD_FORK_COPY_*)}; the memfd comes with the tag.
                                          The child maps it at the address (MAP_SHARED with
                                          MACHD_FORK_COPY_SHARED, then FORK_COPY_MAPPED; else MAP_PRIVATE) */
  MACHD_OP_OBJECTS_FORK_COPY_MAPPED = 95, /* args {task (self), token, index}: the child mapped that shared copy;
                                             machd routes its faults. An error: the child unmaps it */
  /* threads (40-59) */
  MACHD_OP_THREAD_SELF = 40,        /* args {tid: the caller's gettid()} -> rets[0] = send right to
                                       the thread's port (a user reference more per call), 0 if the
                                       tid is not a thread of the caller's process */
  /* A hardware exception (kern/exception_delivery.h): args {tid (the caller's gettid()), exception
   * type, code, subcode}, data = the thread's context as a struct machd_thread_slot image up to the
   * end of its fp state (state, tid and flags ignored). machd parks the thread on the call itself
   * and raises the exception to the thread's, the task's and the host's exception ports; the call
   * is answered when the thread is let go: KERN_SUCCESS with rets[0] = the MACHD_TSF_* flags
   * (EXC_HANDLED: a handler answered KERN_SUCCESS, resume; EXIT: end the thread) and, with DIRTY,
   * the rewritten context as data (same layout). Answered at once: KERN_ABORTED, a stop of the
   * thread is in flight (let it park and resume, then ask again); KERN_FAILURE, no exception port
   * takes it (the signal goes to the program). */
  MACHD_OP_EXCEPTION_RAISE = 41,
  /* Ranges by kernel-object area (kern/), each documented where it is used:
   *   40-59 threads and the in-task agent   60-69 tasks
   *   70-89 host, clocks, timers, time      90-109 virtual memory
   *   110-129 semaphores and lock sets
   * An op inside a range that machd does not know answers KERN_NOT_SUPPORTED. */
  /* tasks (kern/task.h): the Mach traps task_for_pid and task_name_for_pid.
   * args {target_tport (the caller's own task port), pid} → rets[0] = a send
   * right in the caller to the task's control / name port. */
  MACHD_OP_TASK_FOR_PID = 60,
  MACHD_OP_TASK_NAME_FOR_PID = 61,
  MACHD_OP_EMULATION_INHERIT = 62,  /* args {task (self), pid}: a forked child (pid: its parent) or an
                                       exec'd image (pid: its own) takes the emulation its parent or
                                       old image had (kern/emulation.h) → rets[0] = entries */
  /* A crash's corpse (kern/corpse.h): after EXC_CRASH answered MACHD_TSF_CORPSE_WANTED, the
   * crashing thread forked `child`, a copy of the process that only waits (its memory is the
   * corpse's). args {tid (the caller's gettid()), child pid} → KERN_SUCCESS: machd keeps it as the
   * corpse task (and ends it with SIGKILL); any error: the caller kills the child. */
  MACHD_OP_CORPSE_FORKED = 63,
  /* The shared page of a semaphore: args {name of a send right to a
   * semaphore in the caller's space} → rets {fd tag, semaphore id}; the
   * memfd (one page, struct machd_semaphore_word at offset 0) travels as
   * machd_sock_fds before the reply. Not a semaphore: KERN_INVALID_ARGUMENT. */
  MACHD_OP_SEMAPHORE_PAGE = 110,
  MACHD_OP_MAX = 130
};

/* rets[5] of MACHD_OP_OBJECTS_FORK_COPY. */
#define MACHD_FORK_COPY_SHARED 1u /* the cache of a copy object: MAP_SHARED, routed once FORK_COPY_MAPPED */

/* What machd holds right now (tests check that nothing leaks). */
struct machd_stats {
  uint64_t tasks;        /* tasks, machd's own kernel task included */
  uint64_t ports;        /* live ports, including machd's own */
  uint64_t port_sets;
  uint64_t entries;      /* names in use over all spaces */
  uint64_t messages;     /* queued or held by blocked senders */
  uint64_t ool_payloads; /* out-of-line regions in flight */
  uint64_t waiters;      /* blocked mach_msg calls */
  uint64_t memfd_payloads; /* memfd-backed regions alive in machd */
  uint64_t rss_bytes;    /* machd's resident set size */
  uint64_t vouchers;     /* live vouchers */
  uint64_t voucher_values; /* attribute values the voucher managers keep (kern/voucher.h) */
  uint64_t reserved[1];
};
MACHD_STATIC_ASSERT(sizeof(struct machd_stats) == 96, "stats layout");

/* The word of a semaphore every task holding it maps (MACHD_OP_SEMAPHORE_PAGE).
 * count = units available - threads waiting (negative while threads wait);
 * a signal that finds count < 0 adds one to `tokens` and FUTEX_WAKEs it
 * (shared, not PRIVATE: the waiters are in other processes); a waiter
 * sleeps on `tokens` and takes one. machd sets `destroyed` (then adds
 * tokens for every waiter and wakes them all) when the semaphore is
 * destroyed. machd never reads the word: a task that scribbles on it
 * breaks only the semaphores it holds. */
struct machd_semaphore_word {
  int32_t count;
  uint32_t tokens;    /* futex word */
  uint32_t destroyed; /* set once by machd */
  uint32_t reserved[13];
};
MACHD_STATIC_ASSERT(sizeof(struct machd_semaphore_word) == 64, "semaphore word layout");
#define MACHD_SEMAPHORE_PAGE_SIZE 4096u

/* Reply flags for MACHD_OP_MSG (rets[0]). */
#define MACHD_MSG_HAS_MSG 0x1u      /* data holds a message for the user buffer */
#define MACHD_MSG_RETURNED_SEND 0x2u /* the message is the returned send (pseudo-receive) */
#define MACHD_MSG_IN_FD 0x4u         /* the message is in a memfd, tag rets[4] (see MACHD_MSG_MAX) */

/* Out-of-line memory of a message, on the way in (one per OOL descriptor). */
#define MACHD_OOL_INLINE 1u /* bytes follow in the channel data (copied) */
#define MACHD_OOL_FD 2u     /* a memfd passed with the request (socket path) */
#define MACHD_OOL_EMPTY 3u  /* zero-size region */

struct machd_ool_in {
  uint32_t kind;     /* MACHD_OOL_* */
  uint32_t fd_index; /* FD: index into the fds of the request (records may share one) */
  uint64_t size;     /* bytes of the region */
  uint64_t offset;   /* INLINE: offset of the bytes in data[]; FD: offset in the memfd */
};
MACHD_STATIC_ASSERT(sizeof(struct machd_ool_in) == 24, "ool_in layout");

/* Out-of-line memory of a received message (one per OOL / OOL-ports descriptor). */
struct machd_ool_out {
  uint32_t kind;              /* MACHD_OOL_* */
  uint32_t descriptor_offset; /* offset of the descriptor in the message */
  uint64_t size;              /* bytes of the region */
  uint64_t offset;            /* INLINE: offset in data[]; FD: memfd offset */
  uint64_t fd_tag;            /* FD: tag of the machd_sock_fds carrying the memfd */
};
MACHD_STATIC_ASSERT(sizeof(struct machd_ool_out) == 32, "ool_out layout");

/* ---- control socket messages ---- */
#define MACHD_SOCK_HELLO 1u
#define MACHD_SOCK_WELCOME 2u
#define MACHD_SOCK_REQUEST 3u /* a channel request whose OOL memory travels as fds */
#define MACHD_SOCK_FDS 4u     /* memfds of OOL memory being received */
#define MACHD_SOCK_REFUSED 5u
/* Before its hello, a task that cannot make a full userfaultfd itself (only
 * UFFD_USER_MODE_ONLY) may ask once for machd's /dev/userfaultfd: a
 * machd_hello whose kind is MACHD_SOCK_UFFD_DEVICE (flags 0, no fds).
 * machd answers a machd_welcome of the same kind: error 0 with the device's
 * fd (SCM_RIGHTS) when it lends it (machd --lend-userfaultfd), else
 * KERN_NOT_SUPPORTED and no fd; then it waits for the hello as before. The
 * task makes its userfaultfd with USERFAULTFD_IOC_NEW on the device, so
 * faults the kernel takes on its behalf (a read(2) into a memory object)
 * reach machd too. A second ask, or one from a uid machd does not serve,
 * is refused as a bad hello would be. */
#define MACHD_SOCK_UFFD_DEVICE 6u

#define MACHD_HELLO_FAST_LANES 0x1u /* the client uses the fast lanes */
#define MACHD_HELLO_UFFD 0x2u       /* the hello carries (SCM_RIGHTS) the task's userfaultfd */
#define MACHD_HELLO_UFFD_USER_ONLY 0x4u /* ... made with UFFD_USER_MODE_ONLY (faults in syscalls fail) */

/* The userfaultfd features the library asks for (UFFD_FEATURE_* bits):
 * MISSING_SHMEM, EVENT_UNMAP, EVENT_REMAP, THREAD_ID, MINOR_SHMEM,
 * WP_HUGETLBFS_SHMEM, POISON. machd routes faults on memory objects only
 * when the first three and MINOR_SHMEM were granted. */
#define MACHD_UFFD_FEATURES \
  ((1ull << 5) | (1ull << 6) | (1ull << 2) | (1ull << 8) | (1ull << 10) | (1ull << 12) | (1ull << 14))

struct machd_hello {
  uint32_t kind; /* MACHD_SOCK_HELLO */
  uint32_t magic;
  uint32_t version;
  uint32_t flags; /* MACHD_HELLO_*: machd grants credits and lends only when asked */
  uint64_t uffd_features; /* MACHD_HELLO_UFFD: what UFFDIO_API granted */
};
MACHD_STATIC_ASSERT(sizeof(struct machd_hello) == 24, "hello layout");

/* Sent with SCM_RIGHTS {region memfd, doorbell eventfd, liveness memfd}.
 * The liveness memfd is one page, sealed against writable mappings: its
 * 32-bit word at MACHD_LIVENESS_WORD_OFFSET is a robust futex held by a
 * thread of machd, so the kernel sets FUTEX_OWNER_DIED (0x40000000) in it
 * when machd's process ends, however it ends. A task maps it read-only and
 * tests the bit with a plain load (no system call) before fast-lane sends.
 * The word also carries FUTEX_WAITERS (0x80000000), so the kernel wakes one
 * thread sleeping on the word (FUTEX_WAIT or futex_waitv, shared) as it sets
 * the bit; a task woken so wakes every other sleeper (FUTEX_WAKE).
 * machd may send -1 for it (no liveness page): the task then relies on its
 * other checks. */
#define MACHD_LIVENESS_WORD_OFFSET 0u
struct machd_welcome {
  uint32_t kind; /* MACHD_SOCK_WELCOME or MACHD_SOCK_REFUSED */
  uint32_t version;
  uint32_t task_self;      /* name of the task's send right to its task port */
  uint32_t bootstrap_port; /* name of the bootstrap send right (or 0) */
  uint64_t region_size;
  uint32_t nchannels;
  uint32_t channel_size;
  uint32_t task_id;        /* machd's id of the task (diagnostics) */
  int32_t error;           /* REFUSED: why (kern_return_t) */
  uint32_t flags;          /* MACHD_WELCOME_* */
  uint32_t reserved;       /* 0 */
};
MACHD_STATIC_ASSERT(sizeof(struct machd_welcome) == 48, "welcome layout");

/* machd keeps the task's anonymous memory under its budget (machd
 * --memory-limit): the library sends vm_allocate on its own task to machd
 * instead of mapping it in-process. */
#define MACHD_WELCOME_MANAGED_MEMORY 0x1u

/* A request that carries fds: the channel holds the request as usual (state
 * MACHD_CH_REQ) but its pending bit is NOT set; this socket message tells
 * machd to take it, with the fds attached. */
struct machd_sock_request {
  uint32_t kind; /* MACHD_SOCK_REQUEST */
  uint32_t channel;
  uint32_t nfds;
  uint32_t reserved;
};
MACHD_STATIC_ASSERT(sizeof(struct machd_sock_request) == 16, "sock_request layout");

#define MACHD_MAX_FDS_PER_MSG 64u

/* machd → client: fds of received OOL memory, each tagged. */
struct machd_sock_fds {
  uint32_t kind; /* MACHD_SOCK_FDS */
  uint32_t nfds;
  uint64_t first_tag; /* fd i has tag first_tag + i */
};
MACHD_STATIC_ASSERT(sizeof(struct machd_sock_fds) == 16, "sock_fds layout");

/* Largest message (header + body) that travels through a channel. The rest
 * of a channel holds the trailer, out-of-line records and small out-of-line
 * regions. A larger message travels in a memfd:
 *   send: send_size (args[1]) > MACHD_MSG_MAX; the request goes over the
 *     socket and its LAST fd holds the message at offset 0; the channel data
 *     holds what would follow the message (records, port arrays, inline
 *     out-of-line bytes), their offsets counted as if the message, padded to
 *     8, came first.
 *   receive: the reply flags have MACHD_MSG_IN_FD, rets[4] is the tag of the
 *     memfd (sent as with out-of-line memory) holding the message (rets[1]
 *     bytes); the records start at offset 0 of the channel data. */
#define MACHD_MSG_MAX (128u * 1024u)

/* Largest message machd accepts (XNU's ipc_kmsg_max_body_space); larger
 * sends fail with MACH_SEND_TOO_LARGE. */
#define MACHD_MSG_SIZE_LIMIT ((64u << 20) / 4u * 3u - 68u)

/* OOL regions at or above this size travel as memfd pages, below it they are
 * copied through the channel. */
#define MACHD_OOL_INLINE_MAX (16u * 1024u)

/* Default socket name under $XDG_RUNTIME_DIR (or /tmp/machd-$UID/). */
#define MACHD_SOCKET_BASENAME "machd.sock"

#ifdef __cplusplus
}
#endif

#endif /* MACHD_ABI_H */
