/*
 * servers/netname_defs.h - the network name service's types and status
 * codes (servers/netname.defs, <servers/netname.h>).
 *
 * Part of machd (Mach IPC in user space on Linux).
 * SPDX-License-Identifier: MIT
 */
#ifndef _NETNAME_DEFS_
#define _NETNAME_DEFS_

#define NETNAME_SUCCESS         (0)
#define NETNAME_PENDING         (-1)
#define NETNAME_NOT_YOURS       (1000) /* check-out or replace with another signature */
#define NAME_NOT_YOURS          (1000)
#define NETNAME_NOT_CHECKED_IN  (1001) /* no such name on that host */
#define NAME_NOT_CHECKED_IN     (1001)
#define NETNAME_NO_SUCH_HOST    (1002) /* not a host name or address the server knows */
#define NETNAME_HOST_NOT_FOUND  (1003) /* the host could not be reached */
#define NETNAME_INVALID_PORT    (1004)

/* A host or service name, its NUL included. */
typedef char netname_name_t[80];

/* The bootstrap name machd's network message server registers its
 * netname port under (mach-netmsgd --service-name changes it). */
#define NETNAME_SERVICE_NAME "netname"

#endif /* _NETNAME_DEFS_ */
