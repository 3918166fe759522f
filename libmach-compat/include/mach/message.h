/*
 * mach/message.h - Mach IPC message format and mach_msg().
 *
 * Layouts are those of macOS LP64 user space (x86_64): 4-byte port names,
 * descriptors and trailers packed to 4 bytes, the unsuffixed descriptor
 * types being the 64-bit forms.  Constant values mirror XNU's
 * osfmk/mach/message.h.  SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MESSAGE_H_
#define _MACH_MESSAGE_H_

#include <stdint.h>
#include <limits.h>
#include <mach/_cdefs.h>
#include <mach/boolean.h>
#include <mach/kern_return.h>
#include <mach/port.h>
#include <mach/machine/vm_types.h>

/* Timeouts are in milliseconds (MACH_SEND_TIMEOUT / MACH_RCV_TIMEOUT). */
typedef natural_t mach_msg_timeout_t;
#define MACH_MSG_TIMEOUT_NONE           ((mach_msg_timeout_t) 0)

/* ---- msgh_bits ------------------------------------------------------- */

#define MACH_MSGH_BITS_ZERO             0x00000000

#define MACH_MSGH_BITS_REMOTE_MASK      0x0000001f
#define MACH_MSGH_BITS_LOCAL_MASK       0x00001f00
#define MACH_MSGH_BITS_VOUCHER_MASK     0x001f0000
#define MACH_MSGH_BITS_PORTS_MASK \
	(MACH_MSGH_BITS_REMOTE_MASK | MACH_MSGH_BITS_LOCAL_MASK | MACH_MSGH_BITS_VOUCHER_MASK)

#define MACH_MSGH_BITS_COMPLEX          0x80000000U /* body has descriptors */
#define MACH_MSGH_BITS_USER             0x801f1f1fU /* bits user may set */
#define MACH_MSGH_BITS_RAISEIMP         0x20000000U /* importance raised */
#define MACH_MSGH_BITS_DENAP            MACH_MSGH_BITS_RAISEIMP
#define MACH_MSGH_BITS_IMPHOLDASRT      0x10000000U /* userland private */
#define MACH_MSGH_BITS_DENAPHOLDASRT    MACH_MSGH_BITS_IMPHOLDASRT
#define MACH_MSGH_BITS_CIRCULAR         0x10000000U /* kernel private */
#define MACH_MSGH_BITS_USED             0xb01f1f1fU

/* setters */
#define MACH_MSGH_BITS(remote, local)   ((remote) | ((local) << 8))
#define MACH_MSGH_BITS_SET_PORTS(remote, local, voucher) \
	(((remote) & MACH_MSGH_BITS_REMOTE_MASK) | \
	 (((local) << 8) & MACH_MSGH_BITS_LOCAL_MASK) | \
	 (((voucher) << 16) & MACH_MSGH_BITS_VOUCHER_MASK))
#define MACH_MSGH_BITS_SET(remote, local, voucher, other) \
	(MACH_MSGH_BITS_SET_PORTS((remote), (local), (voucher)) | \
	 ((other) & ~MACH_MSGH_BITS_PORTS_MASK))

/* getters */
#define MACH_MSGH_BITS_REMOTE(bits)     ((bits) & MACH_MSGH_BITS_REMOTE_MASK)
#define MACH_MSGH_BITS_LOCAL(bits)      (((bits) & MACH_MSGH_BITS_LOCAL_MASK) >> 8)
#define MACH_MSGH_BITS_VOUCHER(bits)    (((bits) & MACH_MSGH_BITS_VOUCHER_MASK) >> 16)
#define MACH_MSGH_BITS_PORTS(bits)      ((bits) & MACH_MSGH_BITS_PORTS_MASK)
#define MACH_MSGH_BITS_OTHER(bits)      ((bits) & ~MACH_MSGH_BITS_PORTS_MASK)

/* predicates */
#define MACH_MSGH_BITS_HAS_REMOTE(bits)  (MACH_MSGH_BITS_REMOTE(bits) != MACH_MSGH_BITS_ZERO)
#define MACH_MSGH_BITS_HAS_LOCAL(bits)   (MACH_MSGH_BITS_LOCAL(bits) != MACH_MSGH_BITS_ZERO)
#define MACH_MSGH_BITS_HAS_VOUCHER(bits) (MACH_MSGH_BITS_VOUCHER(bits) != MACH_MSGH_BITS_ZERO)
#define MACH_MSGH_BITS_IS_COMPLEX(bits) \
	(((bits) & MACH_MSGH_BITS_COMPLEX) != MACH_MSGH_BITS_ZERO)
#define MACH_MSGH_BITS_RAISED_IMPORTANCE(bits) \
	(((bits) & MACH_MSGH_BITS_RAISEIMP) != MACH_MSGH_BITS_ZERO)
#define MACH_MSGH_BITS_HOLDS_IMPORTANCE_ASSERTION(bits) \
	(((bits) & MACH_MSGH_BITS_IMPHOLDASRT) != MACH_MSGH_BITS_ZERO)

/* ---- basic message types --------------------------------------------- */

typedef unsigned int mach_msg_bits_t;
typedef natural_t    mach_msg_size_t;
typedef integer_t    mach_msg_id_t;

#define MACH_MSG_SIZE_NULL ((mach_msg_size_t *) 0)

typedef unsigned int mach_msg_priority_t;
#define MACH_MSG_PRIORITY_UNSPECIFIED ((mach_msg_priority_t) 0)

/* Port dispositions (what to do with a right when sending it). */
typedef unsigned int mach_msg_type_name_t;

#define MACH_MSG_TYPE_MOVE_RECEIVE      16  /* must hold receive right */
#define MACH_MSG_TYPE_MOVE_SEND         17  /* must hold send right(s) */
#define MACH_MSG_TYPE_MOVE_SEND_ONCE    18  /* must hold send-once right */
#define MACH_MSG_TYPE_COPY_SEND         19  /* must hold send right(s) */
#define MACH_MSG_TYPE_MAKE_SEND         20  /* must hold receive right */
#define MACH_MSG_TYPE_MAKE_SEND_ONCE    21  /* must hold receive right */
#define MACH_MSG_TYPE_COPY_RECEIVE      22  /* not valid */
#define MACH_MSG_TYPE_DISPOSE_RECEIVE   24
#define MACH_MSG_TYPE_DISPOSE_SEND      25
#define MACH_MSG_TYPE_DISPOSE_SEND_ONCE 26

/* Out-of-line copy strategies. */
typedef unsigned int mach_msg_copy_options_t;

#define MACH_MSG_PHYSICAL_COPY          0
#define MACH_MSG_VIRTUAL_COPY           1
#define MACH_MSG_ALLOCATE               2
#define MACH_MSG_OVERWRITE              3   /* deprecated */

/* Guarded port descriptor flags. */
#define MACH_MSG_GUARD_FLAGS_NONE                   0x0000
#define MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE      0x0001
#define MACH_MSG_GUARD_FLAGS_UNGUARDED_ON_SEND      0x0002
#define MACH_MSG_GUARD_FLAGS_MASK                   0x0003
typedef unsigned int mach_msg_guard_flags_t;

/* ---- descriptors ------------------------------------------------------
 * A complex message is: header, mach_msg_body_t (descriptor count), the
 * descriptors, then inline data.  On LP64 the descriptors differ in size
 * (port: 12 bytes, the others: 16), so they cannot be indexed as an
 * array.  Every descriptor keeps `type` in the top byte of its third
 * 32-bit word (byte 11), so mach_msg_type_descriptor_t reads the type of
 * any of them; walk the list by type.
 */
typedef unsigned int mach_msg_descriptor_type_t;

#define MACH_MSG_PORT_DESCRIPTOR            0
#define MACH_MSG_OOL_DESCRIPTOR             1
#define MACH_MSG_OOL_PORTS_DESCRIPTOR       2
#define MACH_MSG_OOL_VOLATILE_DESCRIPTOR    3
#define MACH_MSG_GUARDED_PORT_DESCRIPTOR    4

#define MACH_MSG_DESCRIPTOR_MAX MACH_MSG_GUARDED_PORT_DESCRIPTOR

#pragma pack(push, 4)

/* Generic view: only `type` is meaningful. 12 bytes. */
typedef struct {
	natural_t                  pad1;
	mach_msg_size_t            pad2;
	unsigned int               pad3 : 24;
	mach_msg_descriptor_type_t type : 8;
} mach_msg_type_descriptor_t;

/* One port right. 12 bytes. */
typedef struct {
	mach_port_t                name;
	mach_msg_size_t            pad1;
	unsigned int               pad2        : 16;
	mach_msg_type_name_t       disposition : 8;
	mach_msg_descriptor_type_t type        : 8;
} mach_msg_port_descriptor_t;

/* Out-of-line memory, 32-bit form. 12 bytes. */
typedef struct {
	uint32_t                   address;
	mach_msg_size_t            size;
	boolean_t                  deallocate : 8;
	mach_msg_copy_options_t    copy       : 8;
	unsigned int               pad1       : 8;
	mach_msg_descriptor_type_t type       : 8;
} mach_msg_ool_descriptor32_t;

/* Out-of-line memory, 64-bit form. 16 bytes. */
typedef struct {
	uint64_t                   address;
	boolean_t                  deallocate : 8;
	mach_msg_copy_options_t    copy       : 8;
	unsigned int               pad1       : 8;
	mach_msg_descriptor_type_t type       : 8;
	mach_msg_size_t            size;
} mach_msg_ool_descriptor64_t;

/* Out-of-line memory, native (LP64) form. 16 bytes. */
typedef struct {
	void                      *address;
	boolean_t                  deallocate : 8;
	mach_msg_copy_options_t    copy       : 8;
	unsigned int               pad1       : 8;
	mach_msg_descriptor_type_t type       : 8;
	mach_msg_size_t            size;
} mach_msg_ool_descriptor_t;

/* Out-of-line array of port names, 32-bit form. 12 bytes. */
typedef struct {
	uint32_t                   address;
	mach_msg_size_t            count;
	boolean_t                  deallocate  : 8;
	mach_msg_copy_options_t    copy        : 8;
	mach_msg_type_name_t       disposition : 8;
	mach_msg_descriptor_type_t type        : 8;
} mach_msg_ool_ports_descriptor32_t;

/* Out-of-line array of port names, 64-bit form. 16 bytes. */
typedef struct {
	uint64_t                   address;
	boolean_t                  deallocate  : 8;
	mach_msg_copy_options_t    copy        : 8;
	mach_msg_type_name_t       disposition : 8;
	mach_msg_descriptor_type_t type        : 8;
	mach_msg_size_t            count;
} mach_msg_ool_ports_descriptor64_t;

/* Out-of-line array of port names, native (LP64) form. 16 bytes. */
typedef struct {
	void                      *address;
	boolean_t                  deallocate  : 8;
	mach_msg_copy_options_t    copy        : 8;
	mach_msg_type_name_t       disposition : 8;
	mach_msg_descriptor_type_t type        : 8;
	mach_msg_size_t            count;
} mach_msg_ool_ports_descriptor_t;

/* Receive right carrying a guard, 32-bit form. 12 bytes. */
typedef struct {
	uint32_t                   context;
	mach_port_name_t           name;
	mach_msg_guard_flags_t     flags       : 16;
	mach_msg_type_name_t       disposition : 8;
	mach_msg_descriptor_type_t type        : 8;
} mach_msg_guarded_port_descriptor32_t;

/* Receive right carrying a guard, 64-bit form. 16 bytes. */
typedef struct {
	uint64_t                   context;
	mach_msg_guard_flags_t     flags       : 16;
	mach_msg_type_name_t       disposition : 8;
	mach_msg_descriptor_type_t type        : 8;
	mach_port_name_t           name;
} mach_msg_guarded_port_descriptor64_t;

/* Receive right carrying a guard, native (LP64) form. 16 bytes. */
typedef struct {
	mach_port_context_t        context;
	mach_msg_guard_flags_t     flags       : 16;
	mach_msg_type_name_t       disposition : 8;
	mach_msg_descriptor_type_t type        : 8;
	mach_port_name_t           name;
} mach_msg_guarded_port_descriptor_t;

/* Union of the native forms (16 bytes; not an array stride on LP64). */
typedef union {
	mach_msg_port_descriptor_t         port;
	mach_msg_ool_descriptor_t          out_of_line;
	mach_msg_ool_ports_descriptor_t    ool_ports;
	mach_msg_type_descriptor_t         type;
	mach_msg_guarded_port_descriptor_t guarded_port;
} mach_msg_descriptor_t;

typedef struct {
	mach_msg_size_t msgh_descriptor_count;
} mach_msg_body_t;

#define MACH_MSG_BODY_NULL          ((mach_msg_body_t *) 0)
#define MACH_MSG_DESCRIPTOR_NULL    ((mach_msg_descriptor_t *) 0)

/* ---- header ---------------------------------------------------------- */

/* 24 bytes. msgh_size counts header, body, descriptors and inline data. */
typedef struct {
	mach_msg_bits_t  msgh_bits;
	mach_msg_size_t  msgh_size;
	mach_port_t      msgh_remote_port;   /* destination */
	mach_port_t      msgh_local_port;    /* reply port */
	mach_port_name_t msgh_voucher_port;
	mach_msg_id_t    msgh_id;
} mach_msg_header_t;

#define msgh_reserved   msgh_voucher_port
#define MACH_MSG_NULL   ((mach_msg_header_t *) 0)

typedef struct {
	mach_msg_header_t header;
	mach_msg_body_t   body;
} mach_msg_base_t;

/* ---- trailers ---------------------------------------------------------
 * The kernel appends a trailer after the received message (at
 * msgh_size rounded up); MACH_RCV_TRAILER_ELEMENTS() picks how much.
 */
typedef unsigned int mach_msg_trailer_type_t;

#define MACH_MSG_TRAILER_FORMAT_0       0

typedef unsigned int mach_msg_trailer_size_t;
typedef char        *mach_msg_trailer_info_t;

typedef struct {
	mach_msg_trailer_type_t msgh_trailer_type;
	mach_msg_trailer_size_t msgh_trailer_size;
} mach_msg_trailer_t;                                   /* 8 bytes */

typedef struct {
	mach_msg_trailer_type_t msgh_trailer_type;
	mach_msg_trailer_size_t msgh_trailer_size;
	mach_port_seqno_t       msgh_seqno;
} mach_msg_seqno_trailer_t;                             /* 12 bytes */

typedef struct {
	unsigned int val[2];   /* [0] = sender uid, [1] = gid */
} security_token_t;

typedef struct {
	mach_msg_trailer_type_t msgh_trailer_type;
	mach_msg_trailer_size_t msgh_trailer_size;
	mach_port_seqno_t       msgh_seqno;
	security_token_t        msgh_sender;
} mach_msg_security_trailer_t;                          /* 20 bytes */

/* Opaque identity of a task (see libbsm's audit_token_to_*). */
typedef struct {
	unsigned int val[8];
} audit_token_t;

#define INVALID_AUDIT_TOKEN_VALUE {{ \
	UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX, \
	UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX }}

typedef struct {
	mach_msg_trailer_type_t msgh_trailer_type;
	mach_msg_trailer_size_t msgh_trailer_size;
	mach_port_seqno_t       msgh_seqno;
	security_token_t        msgh_sender;
	audit_token_t           msgh_audit;
} mach_msg_audit_trailer_t;                             /* 52 bytes */

typedef struct {
	mach_msg_trailer_type_t msgh_trailer_type;
	mach_msg_trailer_size_t msgh_trailer_size;
	mach_port_seqno_t       msgh_seqno;
	security_token_t        msgh_sender;
	audit_token_t           msgh_audit;
	mach_port_context_t     msgh_context;
} mach_msg_context_trailer_t;                           /* 60 bytes */

typedef struct {
	mach_port_name_t sender;
} msg_labels_t;

typedef int mach_msg_filter_id;
#define MACH_MSG_FILTER_POLICY_ALLOW ((mach_msg_filter_id) 0)

typedef struct {
	mach_msg_trailer_type_t msgh_trailer_type;
	mach_msg_trailer_size_t msgh_trailer_size;
	mach_port_seqno_t       msgh_seqno;
	security_token_t        msgh_sender;
	audit_token_t           msgh_audit;
	mach_port_context_t     msgh_context;
	mach_msg_filter_id      msgh_ad;
	msg_labels_t            msgh_labels;
} mach_msg_mac_trailer_t;                               /* 68 bytes */

#define MACH_MSG_TRAILER_MINIMUM_SIZE   sizeof(mach_msg_trailer_t)

typedef mach_msg_mac_trailer_t mach_msg_max_trailer_t;
#define MAX_TRAILER_SIZE ((mach_msg_size_t) sizeof(mach_msg_max_trailer_t))

/* Legacy: "format 0" trailer is the security trailer, forever. */
typedef mach_msg_security_trailer_t mach_msg_format_0_trailer_t;
#define MACH_MSG_TRAILER_FORMAT_0_SIZE  sizeof(mach_msg_format_0_trailer_t)

#define KERNEL_SECURITY_TOKEN_VALUE     { {0, 1} }
#define KERNEL_AUDIT_TOKEN_VALUE        { {0, 0, 0, 0, 0, 0, 0, 0} }

typedef integer_t mach_msg_options_t;

typedef struct {
	mach_msg_header_t header;
} mach_msg_empty_send_t;

typedef struct {
	mach_msg_header_t  header;
	mach_msg_trailer_t trailer;
} mach_msg_empty_rcv_t;

typedef union {
	mach_msg_empty_send_t send;
	mach_msg_empty_rcv_t  rcv;
} mach_msg_empty_t;

#pragma pack(pop)

/* Round a message size up to a multiple of 4 (natural_t). */
#define round_msg(x) (((mach_msg_size_t)(x) + sizeof(natural_t) - 1) & \
	~(sizeof(natural_t) - 1))

/* No fixed upper bound on message size. */
#define MACH_MSG_SIZE_MAX       ((mach_msg_size_t) ~0)
#define MACH_MSG_SIZE_RELIABLE  ((mach_msg_size_t) 256 * 1024)

/* Compatibility with the old msgh_kind field. */
#define MACH_MSGH_KIND_NORMAL           0x00000000
#define MACH_MSGH_KIND_NOTIFICATION     0x00000001
#define msgh_kind                       msgh_seqno
#define mach_msg_kind_t                 mach_port_seqno_t

typedef natural_t mach_msg_type_size_t;
typedef natural_t mach_msg_type_number_t;

/* What a receiver gets (the right the disposition produced). */
#define MACH_MSG_TYPE_PORT_NONE         0
#define MACH_MSG_TYPE_PORT_NAME         15  /* just a name, no right */
#define MACH_MSG_TYPE_PORT_RECEIVE      MACH_MSG_TYPE_MOVE_RECEIVE
#define MACH_MSG_TYPE_PORT_SEND         MACH_MSG_TYPE_MOVE_SEND
#define MACH_MSG_TYPE_PORT_SEND_ONCE    MACH_MSG_TYPE_MOVE_SEND_ONCE

#define MACH_MSG_TYPE_LAST              22

#define MACH_MSG_TYPE_POLYMORPHIC       ((mach_msg_type_name_t) -1)

#define MACH_MSG_TYPE_PORT_ANY(x) \
	(((x) >= MACH_MSG_TYPE_MOVE_RECEIVE) && ((x) <= MACH_MSG_TYPE_MAKE_SEND_ONCE))
#define MACH_MSG_TYPE_PORT_ANY_SEND(x) \
	(((x) >= MACH_MSG_TYPE_MOVE_SEND) && ((x) <= MACH_MSG_TYPE_MAKE_SEND_ONCE))
#define MACH_MSG_TYPE_PORT_ANY_RIGHT(x) \
	(((x) >= MACH_MSG_TYPE_MOVE_RECEIVE) && ((x) <= MACH_MSG_TYPE_MOVE_SEND_ONCE))

/* ---- options --------------------------------------------------------- */

typedef integer_t mach_msg_option_t;

#define MACH_MSG_OPTION_NONE            0x00000000

#define MACH_SEND_MSG                   0x00000001
#define MACH_RCV_MSG                    0x00000002

#define MACH_RCV_LARGE                  0x00000004  /* report size if too large */
#define MACH_RCV_LARGE_IDENTITY         0x00000008  /* ...and which port */

#define MACH_SEND_TIMEOUT               0x00000010
#define MACH_SEND_OVERRIDE              0x00000020
#define MACH_SEND_INTERRUPT             0x00000040  /* don't restart */
#define MACH_SEND_NOTIFY                0x00000080  /* arm send-possible */
#define MACH_SEND_ALWAYS                0x00010000  /* ignore qlimit; kernel only */
#define MACH_SEND_FILTER_NONFATAL       0x00010000  /* user only */
#define MACH_SEND_TRAILER               0x00020000
#define MACH_SEND_NOIMPORTANCE          0x00040000
#define MACH_SEND_NODENAP               MACH_SEND_NOIMPORTANCE
#define MACH_SEND_IMPORTANCE            0x00080000  /* kernel only */
#define MACH_SEND_SYNC_OVERRIDE         0x00100000
#define MACH_SEND_PROPAGATE_QOS         0x00200000
#define MACH_SEND_SYNC_USE_THRPRI       MACH_SEND_PROPAGATE_QOS
#define MACH_SEND_KERNEL                0x00400000  /* kernel only */
#define MACH_SEND_SYNC_BOOTSTRAP_CHECKIN 0x00800000

#define MACH_RCV_TIMEOUT                0x00000100
#define MACH_RCV_NOTIFY                 0x00000000  /* legacy (was 0x200) */
#define MACH_RCV_INTERRUPT              0x00000400  /* don't restart */
#define MACH_RCV_VOUCHER                0x00000800
#define MACH_RCV_OVERWRITE              0x00000000  /* legacy scatter receive */
#define MACH_RCV_GUARDED_DESC           0x00001000
#define MACH_RCV_SYNC_WAIT              0x00004000
#define MACH_RCV_SYNC_PEEK              0x00008000

#define MACH_MSG_STRICT_REPLY           0x00000200  /* on both send and receive */

/* Trailer request (receive options bits 24..31). */
#define MACH_RCV_TRAILER_NULL           0
#define MACH_RCV_TRAILER_SEQNO          1
#define MACH_RCV_TRAILER_SENDER         2
#define MACH_RCV_TRAILER_AUDIT          3
#define MACH_RCV_TRAILER_CTX            4
#define MACH_RCV_TRAILER_AV             7
#define MACH_RCV_TRAILER_LABELS         8

#define MACH_RCV_TRAILER_TYPE(x)        (((x) & 0xf) << 28)
#define MACH_RCV_TRAILER_ELEMENTS(x)    (((x) & 0xf) << 24)
#define MACH_RCV_TRAILER_MASK           ((0xf << 24))

#define GET_RCV_ELEMENTS(y)             (((y) >> 24) & 0xf)

/* Size of the trailer a given receive option asks for. */
#define REQUESTED_TRAILER_SIZE_NATIVE(y) \
	((mach_msg_trailer_size_t) \
	 ((GET_RCV_ELEMENTS(y) == MACH_RCV_TRAILER_NULL) ? \
	  sizeof(mach_msg_trailer_t) : \
	  ((GET_RCV_ELEMENTS(y) == MACH_RCV_TRAILER_SEQNO) ? \
	   sizeof(mach_msg_seqno_trailer_t) : \
	   ((GET_RCV_ELEMENTS(y) == MACH_RCV_TRAILER_SENDER) ? \
	    sizeof(mach_msg_security_trailer_t) : \
	    ((GET_RCV_ELEMENTS(y) == MACH_RCV_TRAILER_AUDIT) ? \
	     sizeof(mach_msg_audit_trailer_t) : \
	     ((GET_RCV_ELEMENTS(y) == MACH_RCV_TRAILER_CTX) ? \
	      sizeof(mach_msg_context_trailer_t) : \
	      ((GET_RCV_ELEMENTS(y) == MACH_RCV_TRAILER_AV) ? \
	       sizeof(mach_msg_mac_trailer_t) : \
	       sizeof(mach_msg_max_trailer_t))))))))

#define REQUESTED_TRAILER_SIZE(y)       REQUESTED_TRAILER_SIZE_NATIVE(y)

/* ---- return codes -----------------------------------------------------
 * mach_msg_return_t is a kern_return_t.  IPC errors are err_system(4):
 * send errors subsystem 0, receive errors subsystem 1.  The bits in
 * MACH_MSG_MASK may be or-ed into some codes to say why.
 */
typedef kern_return_t mach_msg_return_t;

#define MACH_MSG_SUCCESS                0x00000000

#define MACH_MSG_MASK                   0x00003e00
#define MACH_MSG_IPC_SPACE              0x00002000  /* no room in name space */
#define MACH_MSG_VM_SPACE               0x00001000  /* no room in address space */
#define MACH_MSG_IPC_KERNEL             0x00000800  /* kernel IPC shortage */
#define MACH_MSG_VM_KERNEL              0x00000400  /* kernel VM shortage */

#define MACH_SEND_IN_PROGRESS           0x10000001  /* internal */
#define MACH_SEND_INVALID_DATA          0x10000002  /* bad inline data */
#define MACH_SEND_INVALID_DEST          0x10000003  /* bad destination port */
#define MACH_SEND_TIMED_OUT             0x10000004
#define MACH_SEND_INVALID_VOUCHER       0x10000005
#define MACH_SEND_INTERRUPTED           0x10000007
#define MACH_SEND_MSG_TOO_SMALL         0x10000008  /* incomplete message */
#define MACH_SEND_INVALID_REPLY         0x10000009  /* bad reply port */
#define MACH_SEND_INVALID_RIGHT         0x1000000a  /* bad right in body */
#define MACH_SEND_INVALID_NOTIFY        0x1000000b
#define MACH_SEND_INVALID_MEMORY        0x1000000c  /* bad OOL pointer */
#define MACH_SEND_NO_BUFFER             0x1000000d
#define MACH_SEND_TOO_LARGE             0x1000000e
#define MACH_SEND_INVALID_TYPE          0x1000000f  /* bad descriptor */
#define MACH_SEND_INVALID_HEADER        0x10000010
#define MACH_SEND_INVALID_TRAILER       0x10000011
#define MACH_SEND_INVALID_CONTEXT       0x10000012
#define MACH_SEND_INVALID_OPTIONS       0x10000013
#define MACH_SEND_INVALID_RT_OOL_SIZE   0x10000015  /* no longer returned */
#define MACH_SEND_NO_GRANT_DEST         0x10000016
#define MACH_SEND_MSG_FILTERED          0x10000017
#define MACH_SEND_AUX_TOO_SMALL         0x10000018
#define MACH_SEND_AUX_TOO_LARGE         0x10000019

#define MACH_RCV_IN_PROGRESS            0x10004001  /* internal */
#define MACH_RCV_INVALID_NAME           0x10004002  /* bad port/set name */
#define MACH_RCV_TIMED_OUT              0x10004003
#define MACH_RCV_TOO_LARGE              0x10004004  /* buffer too small */
#define MACH_RCV_INTERRUPTED            0x10004005
#define MACH_RCV_PORT_CHANGED           0x10004006  /* port destroyed/moved while waiting */
#define MACH_RCV_INVALID_NOTIFY         0x10004007
#define MACH_RCV_INVALID_DATA           0x10004008  /* bad receive buffer */
#define MACH_RCV_PORT_DIED              0x10004009  /* name is a dead name */
#define MACH_RCV_IN_SET                 0x1000400a  /* no longer returned */
#define MACH_RCV_HEADER_ERROR           0x1000400b
#define MACH_RCV_BODY_ERROR             0x1000400c
#define MACH_RCV_INVALID_TYPE           0x1000400d
#define MACH_RCV_SCATTER_SMALL          0x1000400e
#define MACH_RCV_INVALID_TRAILER        0x1000400f
#define MACH_RCV_IN_PROGRESS_TIMED      0x10004011  /* internal */
#define MACH_RCV_INVALID_REPLY          0x10004012
#define MACH_RCV_INVALID_ARGUMENTS      0x10004013

__BEGIN_DECLS

extern const security_token_t KERNEL_SECURITY_TOKEN;
extern const audit_token_t    KERNEL_AUDIT_TOKEN;

/*
 * mach_msg_overwrite - send and/or receive; the reply lands in rcv_msg
 * (or in msg when rcv_msg is NULL).  Interrupted operations restart unless
 * MACH_SEND_INTERRUPT / MACH_RCV_INTERRUPT is given.
 */
extern mach_msg_return_t mach_msg_overwrite(
	mach_msg_header_t  *msg,
	mach_msg_option_t   option,
	mach_msg_size_t     send_size,
	mach_msg_size_t     rcv_size,
	mach_port_name_t    rcv_name,
	mach_msg_timeout_t  timeout,
	mach_port_name_t    notify,
	mach_msg_header_t  *rcv_msg,
	mach_msg_size_t     rcv_limit);

/* mach_msg - send and/or receive one message using the same buffer. */
extern mach_msg_return_t mach_msg(
	mach_msg_header_t  *msg,
	mach_msg_option_t   option,
	mach_msg_size_t     send_size,
	mach_msg_size_t     rcv_size,
	mach_port_name_t    rcv_name,
	mach_msg_timeout_t  timeout,
	mach_port_name_t    notify);

/* Send msg (size msgh_size) without timeout. */
extern mach_msg_return_t mach_msg_send(mach_msg_header_t *msg);

/* Receive into msg (capacity msgh_size) from msgh_local_port. */
extern mach_msg_return_t mach_msg_receive(mach_msg_header_t *msg);

/* Release every right and OOL region a (received) message carries. */
extern void mach_msg_destroy(mach_msg_header_t *msg);

/* Drop one user reference of a voucher send right (mach_port_deallocate). */
extern kern_return_t mach_voucher_deallocate(mach_port_name_t voucher);

__END_DECLS

#endif /* _MACH_MESSAGE_H_ */
