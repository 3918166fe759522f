/*
 * machd/abi/machd_introspect.h — the records of machd's introspection
 * subsystem (mig/defs/machd/machd_introspect.defs, MIG ids 7700-7799),
 * shared by machd, which fills them, and machctl, which prints them.
 *
 * Why here and not under libmach-compat/include: these are machd's own
 * records, not part of the Mach API a macOS program sees; they belong with
 * the rest of machd's wire ABI (machd_abi.h). Installed with the .defs so
 * that another tool can compile the subsystem (machd_introspect.defs
 * imports this header).
 *
 * Every record is a fixed-size struct of 32- and 64-bit fields with no
 * padding and a size that is a multiple of 4; a variable-length answer is an
 * out-of-line array of records. The sizes are pinned by _Static_assert
 * below and by the `struct[N] of natural_t` types of the .defs: a change to
 * a record changes both.
 *
 * Pids: a task's Linux pid; 0 is machd itself (its kernel task), -1 no task
 * (a receive right in transit in a message).
 */
#ifndef MACHD_INTROSPECT_H
#define MACHD_INTROSPECT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MACHD_INTROSPECT_COMMAND_LEN 16
#define MACHD_INTROSPECT_SERVICE_LEN 128

/* One connected task (machd_introspect_tasks). */
typedef struct machd_task_record {
	int32_t  pid;
	uint32_t uid;               /* effective uid, as verified at connect */
	uint32_t ports;             /* names in use in the task's space */
	uint32_t threads;           /* Linux threads of the process (/proc) */
	uint64_t resident_bytes;    /* VmRSS (/proc/PID/status), 0 if unreadable */
	uint64_t virtual_bytes;     /* VmSize */
	char     command[MACHD_INTROSPECT_COMMAND_LEN]; /* /proc/PID/comm, NUL-terminated */
} machd_task_record_t;

/* flags of a port record */
#define MACHD_PORT_NSREQUEST   0x1u  /* a no-senders notification is armed */
#define MACHD_PORT_PDREQUEST   0x2u  /* a port-destroyed notification is armed */

/* One name of a task's space (machd_introspect_ports). */
typedef struct machd_port_record {
	uint32_t name;
	uint32_t type;              /* MACH_PORT_TYPE_* rights and request bits */
	uint32_t urefs;
	uint32_t object;            /* mach_port_space_info's iin_object: the same
	                               for the same port in every task, 0 for a
	                               dead name */
	uint32_t msgcount;          /* queued messages */
	uint32_t qlimit;
	uint32_t seqno;
	uint32_t srights;           /* send rights extant */
	uint32_t sorights;          /* send-once rights extant */
	uint32_t requests;          /* dead-name / send-possible requests */
	uint32_t flags;             /* MACHD_PORT_* */
	int32_t  receiver_pid;      /* who holds the receive right */
	uint32_t kobject_type;      /* XNU's IKOT_* number, 0 for an ordinary port */
	uint32_t members;           /* a port set's member count */
	uint32_t reserved[2];
} machd_port_record_t;

/* Service states */
#define MACHD_SERVICE_ACTIVE   1u  /* a task holds the receive right */
#define MACHD_SERVICE_ONDEMAND 2u  /* created (bootstrap_create_service), not checked in */

/* One bootstrap service (machd_introspect_services). */
typedef struct machd_service_record {
	char     name[MACHD_INTROSPECT_SERVICE_LEN]; /* NUL-terminated */
	int32_t  pid;               /* task holding the receive right (0: machd) */
	uint32_t state;             /* MACHD_SERVICE_* */
	uint32_t object;            /* the service port's object id */
	uint32_t reserved;
} machd_service_record_t;

/* One port some task holds send rights to (machd_introspect_send_rights):
   the edge holder -> receiver of the send-right graph, per port. */
typedef struct machd_send_edge {
	int32_t  holder_pid;
	int32_t  receiver_pid;
	uint32_t object;            /* the port's object id */
	uint32_t urefs;             /* the holder's user references */
} machd_send_edge_t;

/* The latency histogram's buckets: bucket i counts calls that took
   [2^i, 2^(i+1)) microseconds (bucket 0 also below 1 µs; the last one
   everything above). */
#define MACHD_LATENCY_BUCKETS 16

/* What machd counts (machd_introspect_stats). */
typedef struct machd_counters {
	uint64_t messages_sent;      /* mach_msg sends (trap, fast lanes excluded) */
	uint64_t messages_received;  /* messages handed to a receiver by a trap */
	uint64_t kernel_rpcs;        /* requests served by machd's MIG subsystems */
	uint64_t faults;             /* page faults routed to pagers */
	uint64_t exceptions;         /* exceptions raised */
	uint64_t tasks;              /* connected tasks now */
	uint64_t ports;              /* live ports now */
	uint64_t traced_dropped;     /* trace records dropped for slow tracers */
} machd_counters_t;

/* The latency of one kind of call, as machd saw it (from the request
   arriving to its answer leaving machd, blocked time excluded: a call that
   blocks is not timed). */
typedef struct machd_op_stat {
	uint32_t op;                 /* MACHD_OP_* (machd_abi.h) */
	uint32_t reserved;
	uint64_t count;
	uint64_t buckets[MACHD_LATENCY_BUCKETS];
} machd_op_stat_t;

/* ---- live message tracing (machd_introspect_trace) ------------------------ */

/* Which filters of machd_introspect_trace apply (the others match anything). */
#define MACHD_TRACE_PID   0x1u  /* the sender or the receiver is this pid */
#define MACHD_TRACE_PORT  0x2u  /* the destination is this object id */
#define MACHD_TRACE_ID    0x4u  /* msgh_id is this */

/* The msgh_id of a trace record message machd sends to a tracer. */
#define MACHD_TRACE_RECORD_ID 7799

/* result of a send that blocked (full queue, or sent and waiting to
   receive): its outcome is not known when the record is made. */
#define MACHD_TRACE_BLOCKED 0x10000001  /* MACH_SEND_IN_PROGRESS */

/* One mach_msg send through a trap, as machd handled it: the body of a
   simple message (msgh_id MACHD_TRACE_RECORD_ID) after its header. */
typedef struct machd_trace_record {
	uint64_t time_ns;           /* CLOCK_MONOTONIC when machd took the call */
	int32_t  sender_pid;
	int32_t  receiver_pid;      /* -1: in transit or no such port */
	uint32_t object;            /* the destination port's object id */
	int32_t  msgh_id;
	uint32_t size;              /* msgh_size */
	uint32_t port_rights;       /* rights carried in descriptors */
	uint64_t ool_bytes;         /* out-of-line memory carried */
	uint32_t kobject_type;      /* IKOT_* of the destination (0: none) */
	int32_t  result;            /* the send's mach_msg_return_t, or
	                               MACHD_TRACE_BLOCKED */
	uint32_t dropped;           /* records dropped for this tracer just
	                               before this one (its queue was full) */
	uint32_t reserved;
} machd_trace_record_t;

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
#define MACHD_INTROSPECT_ASSERT static_assert
#else
#define MACHD_INTROSPECT_ASSERT _Static_assert
#endif
MACHD_INTROSPECT_ASSERT(sizeof(machd_task_record_t) == 48, "machd_task_record_t: struct[12] in the .defs");
MACHD_INTROSPECT_ASSERT(sizeof(machd_port_record_t) == 64, "machd_port_record_t: struct[16] in the .defs");
MACHD_INTROSPECT_ASSERT(sizeof(machd_service_record_t) == 144, "machd_service_record_t: struct[36] in the .defs");
MACHD_INTROSPECT_ASSERT(sizeof(machd_send_edge_t) == 16, "machd_send_edge_t: struct[4] in the .defs");
MACHD_INTROSPECT_ASSERT(sizeof(machd_counters_t) == 64, "machd_counters_t: struct[16] in the .defs");
MACHD_INTROSPECT_ASSERT(sizeof(machd_op_stat_t) == 144, "machd_op_stat_t: struct[36] in the .defs");
MACHD_INTROSPECT_ASSERT(sizeof(machd_trace_record_t) == 56, "machd_trace_record_t");
#undef MACHD_INTROSPECT_ASSERT

typedef machd_task_record_t *machd_task_record_array_t;
typedef machd_port_record_t *machd_port_record_array_t;
typedef machd_service_record_t *machd_service_record_array_t;
typedef machd_send_edge_t *machd_send_edge_array_t;
typedef machd_op_stat_t *machd_op_stat_array_t;

#endif /* MACHD_INTROSPECT_H */
