/*
 * mach/notify.h - kernel notification ids and message layouts.
 *
 * Each struct is the message as received with the default (format 0,
 * security) trailer.  The request part (everything before `trailer`)
 * matches the notify.defs MIG layout.  SPDX-License-Identifier: MIT
 */
#ifndef _MACH_NOTIFY_H_
#define _MACH_NOTIFY_H_

#include <mach/port.h>
#include <mach/message.h>
#include <mach/ndr.h>

/* msgh_id values (octal, as in Mach). */
#define MACH_NOTIFY_FIRST           0100
#define MACH_NOTIFY_PORT_DELETED    (MACH_NOTIFY_FIRST + 001) /* 65: send(-once) right deleted */
#define MACH_NOTIFY_SEND_POSSIBLE   (MACH_NOTIFY_FIRST + 002) /* 66: queue has room again */
#define MACH_NOTIFY_PORT_DESTROYED  (MACH_NOTIFY_FIRST + 005) /* 69: receive right returned */
#define MACH_NOTIFY_NO_SENDERS      (MACH_NOTIFY_FIRST + 006) /* 70: no send rights left */
#define MACH_NOTIFY_SEND_ONCE       (MACH_NOTIFY_FIRST + 007) /* 71: send-once right died */
#define MACH_NOTIFY_DEAD_NAME       (MACH_NOTIFY_FIRST + 010) /* 72: right became dead name */
#define MACH_NOTIFY_LAST            (MACH_NOTIFY_FIRST + 015) /* 77 */

typedef mach_port_t notify_port_t;

#pragma pack(push, 4)

typedef struct {
	mach_msg_header_t           not_header;
	NDR_record_t                NDR;
	mach_port_name_t            not_port;   /* MACH_MSG_TYPE_PORT_NAME */
	mach_msg_format_0_trailer_t trailer;
} mach_port_deleted_notification_t;         /* 56 bytes */

typedef struct {
	mach_msg_header_t           not_header;
	NDR_record_t                NDR;
	mach_port_name_t            not_port;   /* MACH_MSG_TYPE_PORT_NAME */
	mach_msg_format_0_trailer_t trailer;
} mach_send_possible_notification_t;        /* 56 bytes */

typedef struct {
	mach_msg_header_t           not_header;
	mach_msg_body_t             not_body;
	mach_msg_port_descriptor_t  not_port;   /* MACH_MSG_TYPE_PORT_RECEIVE */
	mach_msg_format_0_trailer_t trailer;
} mach_port_destroyed_notification_t;       /* 60 bytes */

typedef struct {
	mach_msg_header_t           not_header;
	NDR_record_t                NDR;
	mach_msg_type_number_t      not_count;  /* make-send count */
	mach_msg_format_0_trailer_t trailer;
} mach_no_senders_notification_t;           /* 56 bytes */

typedef struct {
	mach_msg_header_t           not_header;
	mach_msg_format_0_trailer_t trailer;
} mach_send_once_notification_t;            /* 44 bytes */

typedef struct {
	mach_msg_header_t           not_header;
	NDR_record_t                NDR;
	mach_port_name_t            not_port;   /* MACH_MSG_TYPE_PORT_NAME */
	mach_msg_format_0_trailer_t trailer;
} mach_dead_name_notification_t;            /* 56 bytes */

#pragma pack(pop)

#endif /* _MACH_NOTIFY_H_ */
