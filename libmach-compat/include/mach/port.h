/*
 * mach/port.h - port names, rights, types and port attributes.
 *
 * In user space a port right is named by a 32-bit integer that is local
 * to the task (mach_port_name_t); mach_port_t is the same integer, used
 * when a right comes with the name.  Values mirror XNU's osfmk/mach/port.h.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_PORT_H_
#define _MACH_PORT_H_

#include <stdint.h>
#include <mach/_cdefs.h>
#include <mach/boolean.h>
#include <mach/machine/vm_types.h>

/* ---- names and rights ------------------------------------------------ */

typedef natural_t         mach_port_name_t;
typedef mach_port_name_t *mach_port_name_array_t;

#ifndef _MACH_PORT_T
#define _MACH_PORT_T
typedef mach_port_name_t  mach_port_t;      /* __darwin_mach_port_t */
#endif
typedef mach_port_t      *mach_port_array_t;

#define MACH_PORT_NULL          0   /* loosely typed on purpose */
#define MACH_PORT_DEAD          ((mach_port_name_t) ~0)
#define MACH_PORT_VALID(name) \
	(((name) != MACH_PORT_NULL) && ((name) != MACH_PORT_DEAD))

/* Kernel-chosen names: index in the high 24 bits, generation in the low 8. */
#define MACH_PORT_INDEX(name)       ((name) >> 8)
#define MACH_PORT_GEN(name)         (((name) & 0xff) << 24)
#define MACH_PORT_MAKE(index, gen)  (((index) << 8) | (gen) >> 24)

typedef natural_t mach_port_right_t;

#define MACH_PORT_RIGHT_SEND        ((mach_port_right_t) 0)
#define MACH_PORT_RIGHT_RECEIVE     ((mach_port_right_t) 1)
#define MACH_PORT_RIGHT_SEND_ONCE   ((mach_port_right_t) 2)
#define MACH_PORT_RIGHT_PORT_SET    ((mach_port_right_t) 3)
#define MACH_PORT_RIGHT_DEAD_NAME   ((mach_port_right_t) 4)
#define MACH_PORT_RIGHT_LABELH      ((mach_port_right_t) 5) /* obsolete */
#define MACH_PORT_RIGHT_NUMBER      ((mach_port_right_t) 6) /* count */

typedef natural_t         mach_port_type_t;
typedef mach_port_type_t *mach_port_type_array_t;

#define MACH_PORT_TYPE(right) \
	((mach_port_type_t)(((mach_port_type_t) 1) << ((right) + ((mach_port_right_t) 16))))
#define MACH_PORT_TYPE_NONE         ((mach_port_type_t) 0L)
#define MACH_PORT_TYPE_SEND         MACH_PORT_TYPE(MACH_PORT_RIGHT_SEND)      /* 0x00010000 */
#define MACH_PORT_TYPE_RECEIVE      MACH_PORT_TYPE(MACH_PORT_RIGHT_RECEIVE)   /* 0x00020000 */
#define MACH_PORT_TYPE_SEND_ONCE    MACH_PORT_TYPE(MACH_PORT_RIGHT_SEND_ONCE) /* 0x00040000 */
#define MACH_PORT_TYPE_PORT_SET     MACH_PORT_TYPE(MACH_PORT_RIGHT_PORT_SET)  /* 0x00080000 */
#define MACH_PORT_TYPE_DEAD_NAME    MACH_PORT_TYPE(MACH_PORT_RIGHT_DEAD_NAME) /* 0x00100000 */
#define MACH_PORT_TYPE_LABELH       MACH_PORT_TYPE(MACH_PORT_RIGHT_LABELH)    /* obsolete */

#define MACH_PORT_TYPE_SEND_RECEIVE (MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_RECEIVE)
#define MACH_PORT_TYPE_SEND_RIGHTS  (MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_SEND_ONCE)
#define MACH_PORT_TYPE_PORT_RIGHTS  (MACH_PORT_TYPE_SEND_RIGHTS | MACH_PORT_TYPE_RECEIVE)
#define MACH_PORT_TYPE_PORT_OR_DEAD (MACH_PORT_TYPE_PORT_RIGHTS | MACH_PORT_TYPE_DEAD_NAME)
#define MACH_PORT_TYPE_ALL_RIGHTS   (MACH_PORT_TYPE_PORT_OR_DEAD | MACH_PORT_TYPE_PORT_SET)

/* Extra bits mach_port_type()/mach_port_names() may report. */
#define MACH_PORT_TYPE_DNREQUEST            0x80000000  /* dead-name request armed */
#define MACH_PORT_TYPE_SPREQUEST            0x40000000  /* send-possible armed */
#define MACH_PORT_TYPE_SPREQUEST_DELAYED    0x20000000

/* ---- counters -------------------------------------------------------- */

typedef natural_t mach_port_urefs_t;     /* user references */
typedef integer_t mach_port_delta_t;     /* change in urefs */

typedef natural_t mach_port_seqno_t;     /* sequence number */
typedef natural_t mach_port_mscount_t;   /* make-send count */
typedef natural_t mach_port_msgcount_t;  /* number of messages */
typedef natural_t mach_port_rights_t;    /* number of rights */

#define MACH_PORT_SRIGHTS_NONE      0
#define MACH_PORT_SRIGHTS_PRESENT   1
typedef unsigned int mach_port_srights_t;

/* ---- attributes (mach_port_get_attributes & co.) --------------------- */

typedef struct mach_port_status {
	mach_port_rights_t   mps_pset;       /* containing port sets */
	mach_port_seqno_t    mps_seqno;      /* sequence number */
	mach_port_mscount_t  mps_mscount;    /* make-send count */
	mach_port_msgcount_t mps_qlimit;     /* queue limit */
	mach_port_msgcount_t mps_msgcount;   /* messages queued */
	mach_port_rights_t   mps_sorights;   /* send-once rights */
	boolean_t            mps_srights;    /* send rights exist? */
	boolean_t            mps_pdrequest;  /* port-destroyed requested? */
	boolean_t            mps_nsrequest;  /* no-senders requested? */
	natural_t            mps_flags;      /* MACH_PORT_STATUS_FLAG_* */
} mach_port_status_t;

/* Queue limits. */
#define MACH_PORT_QLIMIT_ZERO       (0)
#define MACH_PORT_QLIMIT_BASIC      (5)
#define MACH_PORT_QLIMIT_SMALL      (16)
#define MACH_PORT_QLIMIT_LARGE      (1024)
#define MACH_PORT_QLIMIT_KERNEL     (65534)
#define MACH_PORT_QLIMIT_MIN        MACH_PORT_QLIMIT_ZERO
#define MACH_PORT_QLIMIT_DEFAULT    MACH_PORT_QLIMIT_BASIC
#define MACH_PORT_QLIMIT_MAX        MACH_PORT_QLIMIT_LARGE

typedef struct mach_port_limits {
	mach_port_msgcount_t mpl_qlimit;
} mach_port_limits_t;

/* mps_flags bits. */
#define MACH_PORT_STATUS_FLAG_TEMPOWNER                 0x01
#define MACH_PORT_STATUS_FLAG_GUARDED                   0x02
#define MACH_PORT_STATUS_FLAG_STRICT_GUARD              0x04
#define MACH_PORT_STATUS_FLAG_IMP_DONATION              0x08
#define MACH_PORT_STATUS_FLAG_REVIVE                    0x10
#define MACH_PORT_STATUS_FLAG_TASKPTR                   0x20
#define MACH_PORT_STATUS_FLAG_GUARD_IMMOVABLE_RECEIVE   0x40
#define MACH_PORT_STATUS_FLAG_NO_GRANT                  0x80

typedef struct mach_port_info_ext {
	mach_port_status_t   mpie_status;
	mach_port_msgcount_t mpie_boost_cnt;
	uint32_t             reserved[6];
} mach_port_info_ext_t;

typedef struct mach_port_guard_info {
	uint64_t mpgi_guard;
} mach_port_guard_info_t;

typedef integer_t *mach_port_info_t;   /* varying array of natural_t */

typedef int mach_port_flavor_t;
#define MACH_PORT_LIMITS_INFO           1   /* mach_port_limits_t */
#define MACH_PORT_RECEIVE_STATUS        2   /* mach_port_status_t */
#define MACH_PORT_DNREQUESTS_SIZE       3   /* int */
#define MACH_PORT_TEMPOWNER             4
#define MACH_PORT_IMPORTANCE_RECEIVER   5
#define MACH_PORT_DENAP_RECEIVER        6
#define MACH_PORT_INFO_EXT              7   /* mach_port_info_ext_t */
#define MACH_PORT_GUARD_INFO            8   /* mach_port_guard_info_t */
#define MACH_PORT_SERVICE_THROTTLED     9   /* int */

#define MACH_PORT_LIMITS_INFO_COUNT \
	((natural_t)(sizeof(mach_port_limits_t) / sizeof(natural_t)))
#define MACH_PORT_RECEIVE_STATUS_COUNT \
	((natural_t)(sizeof(mach_port_status_t) / sizeof(natural_t)))
#define MACH_PORT_DNREQUESTS_SIZE_COUNT 1
#define MACH_PORT_INFO_EXT_COUNT \
	((natural_t)(sizeof(mach_port_info_ext_t) / sizeof(natural_t)))
#define MACH_PORT_GUARD_INFO_COUNT \
	((natural_t)(sizeof(mach_port_guard_info_t) / sizeof(natural_t)))
#define MACH_PORT_SERVICE_THROTTLED_COUNT 1

/* Legacy allocation request (mach_port_allocate_qos/full). */
typedef struct mach_port_qos {
	unsigned int name     : 1;   /* name given */
	unsigned int prealloc : 1;   /* preallocated message */
	boolean_t    pad1     : 30;
	natural_t    len;
} mach_port_qos_t;

/* Service port description (MPO_SERVICE_PORT; launchd only). */
#define MACH_SERVICE_PORT_INFO_STRING_NAME_MAX_BUF_LEN 255

typedef struct mach_service_port_info {
	char    mspi_string_name[MACH_SERVICE_PORT_INFO_STRING_NAME_MAX_BUF_LEN];
	uint8_t mspi_domain_type;
} mach_service_port_info_data_t;

#define MACH_SERVICE_PORT_INFO_COUNT \
	((char)(sizeof(mach_service_port_info_data_t) / sizeof(char)))

typedef struct mach_service_port_info *mach_service_port_info_t;

/* mach_port_options_t.flags (mach_port_construct). */
#define MPO_CONTEXT_AS_GUARD             0x01    /* guard the port with its context */
#define MPO_QLIMIT                       0x02    /* apply mpl.mpl_qlimit */
#define MPO_TEMPOWNER                    0x04
#define MPO_IMPORTANCE_RECEIVER          0x08
#define MPO_INSERT_SEND_RIGHT            0x10    /* also make a send right */
#define MPO_STRICT                       0x20    /* strict guard */
#define MPO_DENAP_RECEIVER               0x40
#define MPO_IMMOVABLE_RECEIVE            0x80    /* receive right can't move */
#define MPO_FILTER_MSG                   0x100
#define MPO_TG_BLOCK_TRACKING            0x200
#define MPO_SERVICE_PORT                 0x400
#define MPO_CONNECTION_PORT              0x800
#define MPO_REPLY_PORT                   0x1000
#define MPO_ENFORCE_REPLY_PORT_SEMANTICS 0x2000
#define MPO_PROVISIONAL_REPLY_PORT       0x4000
#define MPO_PROVISIONAL_ID_PROT_OPTOUT   0x8000

/* Optional attributes for a new port; 24 bytes on LP64. */
typedef struct mach_port_options {
	uint32_t           flags;   /* MPO_* */
	mach_port_limits_t mpl;     /* queue limit (MPO_QLIMIT) */
	union {
		uint64_t                 reserved[2];
		mach_port_name_t         work_interval_port;
		mach_service_port_info_t service_port_info;  /* MPO_SERVICE_PORT */
		mach_port_name_t         service_port_name;  /* MPO_CONNECTION_PORT */
	};
} mach_port_options_t;

typedef mach_port_options_t *mach_port_options_ptr_t;

/* ---- guards ---------------------------------------------------------- */

#define GUARD_TYPE_MACH_PORT    0x1

/* EXC_GUARD reasons for a guarded port. */
enum mach_port_guard_exception_codes {
	kGUARD_EXC_DESTROY                      = 1,
	kGUARD_EXC_MOD_REFS                     = 2,
	kGUARD_EXC_INVALID_OPTIONS              = 3,
	kGUARD_EXC_SET_CONTEXT                  = 4,
	kGUARD_EXC_THREAD_SET_STATE             = 5,
	kGUARD_EXC_EXCEPTION_BEHAVIOR_ENFORCE   = 6,
	kGUARD_EXC_UNGUARDED                    = 1u << 3,
	kGUARD_EXC_INCORRECT_GUARD              = 1u << 4,
	kGUARD_EXC_IMMOVABLE                    = 1u << 5,
	kGUARD_EXC_STRICT_REPLY                 = 1u << 6,
	kGUARD_EXC_MSG_FILTERED                 = 1u << 7,
	/* optionally non-fatal */
	kGUARD_EXC_INVALID_RIGHT                = 1u << 8,
	kGUARD_EXC_INVALID_NAME                 = 1u << 9,
	kGUARD_EXC_INVALID_VALUE                = 1u << 10,
	kGUARD_EXC_INVALID_ARGUMENT             = 1u << 11,
	kGUARD_EXC_RIGHT_EXISTS                 = 1u << 12,
	kGUARD_EXC_KERN_NO_SPACE                = 1u << 13,
	kGUARD_EXC_KERN_FAILURE                 = 1u << 14,
	kGUARD_EXC_KERN_RESOURCE                = 1u << 15,
	kGUARD_EXC_SEND_INVALID_REPLY           = 1u << 16,
	kGUARD_EXC_SEND_INVALID_VOUCHER         = 1u << 17,
	kGUARD_EXC_SEND_INVALID_RIGHT           = 1u << 18,
	kGUARD_EXC_RCV_INVALID_NAME             = 1u << 19,
	/* always non-fatal */
	kGUARD_EXC_RCV_GUARDED_DESC             = 1u << 20,
	kGUARD_EXC_MOD_REFS_NON_FATAL           = 1u << 21,
	kGUARD_EXC_IMMOVABLE_NON_FATAL          = 1u << 22,
	kGUARD_EXC_REQUIRE_REPLY_PORT_SEMANTICS = 1u << 23
};

#define MAX_FATAL_kGUARD_EXC_CODE       (1u << 7)
#define MAX_OPTIONAL_kGUARD_EXC_CODE    (1u << 19)

#define MPG_FLAGS_NONE                              (0x00ull)
#define MPG_FLAGS_STRICT_REPLY_INVALID_REPLY_DISP   (0x01ull << 56)
#define MPG_FLAGS_STRICT_REPLY_INVALID_REPLY_PORT   (0x02ull << 56)
#define MPG_FLAGS_STRICT_REPLY_INVALID_VOUCHER      (0x04ull << 56)
#define MPG_FLAGS_STRICT_REPLY_NO_BANK_ATTR         (0x08ull << 56)
#define MPG_FLAGS_STRICT_REPLY_MISMATCHED_PERSONA   (0x10ull << 56)
#define MPG_FLAGS_STRICT_REPLY_MASK                 (0xffull << 56)
#define MPG_FLAGS_MOD_REFS_PINNED_DEALLOC           (0x01ull << 56)
#define MPG_FLAGS_MOD_REFS_PINNED_DESTROY           (0x02ull << 56)
#define MPG_FLAGS_MOD_REFS_PINNED_COPYIN            (0x04ull << 56)
#define MPG_FLAGS_IMMOVABLE_PINNED                  (0x01ull << 56)

/* mach_port_guard_with_flags() flags. */
#define MPG_STRICT              0x01    /* strict guarding */
#define MPG_IMMOVABLE_RECEIVE   0x02    /* receive right cannot move */

#endif /* _MACH_PORT_H_ */
