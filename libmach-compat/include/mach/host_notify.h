/*
 * mach/host_notify.h - host_request_notification types and the ids of the
 * one-shot messages machd sends (a bare header, to the registered
 * send-once right).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_HOST_NOTIFY_H_
#define _MACH_HOST_NOTIFY_H_

#define HOST_NOTIFY_CALENDAR_CHANGE     0
#define HOST_NOTIFY_CALENDAR_SET        1
#define HOST_NOTIFY_TYPE_MAX            1

#define HOST_CALENDAR_CHANGED_REPLYID   950
#define HOST_CALENDAR_SET_REPLYID       951

#endif /* _MACH_HOST_NOTIFY_H_ */
