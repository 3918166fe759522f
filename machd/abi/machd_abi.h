/* machd/abi/machd_abi.h — the wire between libmach-compat (in every Mach task)
 * and machd. This header is the whole ABI: C structs with fixed-width fields,
 * static_asserts on their layout, and a version checked at hand-shake.
 *
 *  Control socket (AF_UNIX, SOCK_SEQPACKET)            Task region (memfd, MAP_SHARED)
 *  ───────────────────────────────────────             ──────────────────────────────────
 *  client → machd  machd_hello                         [0]      machd_region_header
 *  machd → client  machd_welcome + fds                          (flags, pending bitmap)
 *                  [region memfd, doorbell eventfd]    [ch_off] channel 0: machd_channel + data
 *  client → machd  machd_sock_request + fds                     channel 1 ...
 *                  (a request carrying fds: OOL memory)
 *  machd → client  machd_sock_fds + fds (OOL memory being received)
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
 *           swap state := MACHD_CH_DONE (release) and FUTEX_WAKE only if the
 *           old state was SLEEP (a spinning client costs no syscall).
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
#define MACHD_ABI_VERSION 1u

/* Region geometry (fixed for ABI version 1). */
#define MACHD_MAX_CHANNELS 256u           /* concurrent calling threads per task */
#define MACHD_CHANNEL_SIZE (256u * 1024u) /* bytes per channel, header included */
#define MACHD_REGION_HEADER_SIZE 4096u
#define MACHD_REGION_SIZE \
  ((uint64_t)MACHD_REGION_HEADER_SIZE + (uint64_t)MACHD_MAX_CHANNELS * MACHD_CHANNEL_SIZE)

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
  /* uint8_t data[MACHD_CHANNEL_DATA_SIZE] follows */
};
MACHD_STATIC_ASSERT(sizeof(struct machd_channel) == 144, "channel header layout");
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
   *        n_ool, n_ool_ports}; data = message bytes (msg_len, padded to 8),
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
  MACHD_OP_PORT_NAMES = 10,         /* args {task} → rets[0]=count; data = names[], types[] */
  MACHD_OP_PORT_INSERT_RIGHT = 11,  /* args {task, name, poly, poly_type} */
  MACHD_OP_PORT_EXTRACT_RIGHT = 12, /* args {task, name, msgt_name} → rets {poly, poly_type} */
  MACHD_OP_PORT_MOVE_MEMBER = 13,   /* args {task, member, after} */
  MACHD_OP_PORT_INSERT_MEMBER = 14, /* args {task, member, pset} */
  MACHD_OP_PORT_EXTRACT_MEMBER = 15,/* args {task, member, pset} */
  MACHD_OP_PORT_GET_SET_STATUS = 16,/* args {task, pset} → rets[0]=count; data = names[] */
  MACHD_OP_PORT_REQUEST_NOTIFICATION = 17, /* args {task, name, variant, sync, notify, notify_type} → rets[0] previous */
  MACHD_OP_PORT_GET_ATTRIBUTES = 18, /* args {task, name, flavor, count} → rets[0]=count; data = info[] */
  MACHD_OP_PORT_SET_ATTRIBUTES = 19, /* args {task, name, flavor, count}; data = info[] */
  MACHD_OP_PORT_CONSTRUCT = 20,     /* args {task, context}; data = mach_port_options_t → rets[0] name */
  MACHD_OP_PORT_DESTRUCT = 21,      /* args {task, name, srdelta, guard} */
  MACHD_OP_PORT_GUARD = 22,         /* args {task, name, guard, strict} */
  MACHD_OP_PORT_UNGUARD = 23,       /* args {task, name, guard} */
  MACHD_OP_PORT_SET_CONTEXT = 24,   /* args {task, name, context} */
  MACHD_OP_PORT_GET_CONTEXT = 25,   /* args {task, name} → rets[0] */
  MACHD_OP_PORT_SET_MSCOUNT = 26,   /* args {task, name, mscount} */
  MACHD_OP_PORT_SET_SEQNO = 27,     /* args {task, name, seqno} */
  MACHD_OP_PORT_GET_SRIGHTS = 28,   /* args {task, name} → rets[0] */
  MACHD_OP_PORT_RENAME = 29,        /* args {task, old, new} */
  MACHD_OP_PORT_PEEK = 30,          /* args {task, name, trailer_type, seqno} → rets {seqno, size, id, trailer_len}; data = trailer */
  MACHD_OP_TASK_GET_SPECIAL_PORT = 31, /* args {task, which} → rets[0] */
  MACHD_OP_TASK_SET_SPECIAL_PORT = 32, /* args {task, which, name} */
  MACHD_OP_PING = 33,               /* no args; result KERN_SUCCESS (tests, benchmarks) */
  MACHD_OP_STATS = 34,              /* no args; data = struct machd_stats */
  MACHD_OP_PID_FOR_TASK = 35,       /* args {task} → rets[0] = pid */
  MACHD_OP_MAX
};

/* What machd holds right now (tests check that nothing leaks). */
struct machd_stats {
  uint64_t tasks;        /* connected tasks (machd's own kernel task excluded) */
  uint64_t ports;        /* live ports, including machd's own */
  uint64_t port_sets;
  uint64_t entries;      /* names in use over all spaces */
  uint64_t messages;     /* queued or held by blocked senders */
  uint64_t ool_payloads; /* out-of-line regions in flight */
  uint64_t waiters;      /* blocked mach_msg calls */
  uint64_t memfd_payloads; /* memfd-backed regions alive in machd */
  uint64_t rss_bytes;    /* machd's resident set size */
  uint64_t reserved[3];
};
MACHD_STATIC_ASSERT(sizeof(struct machd_stats) == 96, "stats layout");

/* Reply flags for MACHD_OP_MSG (rets[0]). */
#define MACHD_MSG_HAS_MSG 0x1u      /* data holds a message for the user buffer */
#define MACHD_MSG_RETURNED_SEND 0x2u /* the message is the returned send (pseudo-receive) */

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

struct machd_hello {
  uint32_t kind; /* MACHD_SOCK_HELLO */
  uint32_t magic;
  uint32_t version;
  uint32_t reserved;
};
MACHD_STATIC_ASSERT(sizeof(struct machd_hello) == 16, "hello layout");

/* Sent with SCM_RIGHTS {region memfd, doorbell eventfd}. */
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
};
MACHD_STATIC_ASSERT(sizeof(struct machd_welcome) == 40, "welcome layout");

/* A request that carries fds: the channel holds the request as usual (state
 * MACHD_CH_REQ is NOT set); this socket message tells machd to take it, with
 * the fds attached. */
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

/* Largest message (header + body) that travels through a channel. Larger
 * sends fail with MACH_SEND_TOO_LARGE. The rest of a channel holds the
 * trailer, out-of-line records and small out-of-line regions. */
#define MACHD_MSG_MAX (128u * 1024u)

/* OOL regions at or above this size travel as memfd pages, below it they are
 * copied through the channel. */
#define MACHD_OOL_INLINE_MAX (16u * 1024u)

/* Default socket name under $XDG_RUNTIME_DIR (or /tmp/machd-$UID/). */
#define MACHD_SOCKET_BASENAME "machd.sock"

#ifdef __cplusplus
}
#endif

#endif /* MACHD_ABI_H */
