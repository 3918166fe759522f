/*
 * mach/mig_errors.h - MIG error codes and the generic error reply.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MIG_ERRORS_H_
#define _MACH_MIG_ERRORS_H_

#include <mach/_cdefs.h>
#include <mach/mig.h>
#include <mach/ndr.h>
#include <mach/message.h>
#include <mach/kern_return.h>

/* Historical values, not in err_system() form. */
#define MIG_TYPE_ERROR          -300    /* client type check failure */
#define MIG_REPLY_MISMATCH      -301    /* wrong reply message id */
#define MIG_REMOTE_ERROR        -302    /* server detected error */
#define MIG_BAD_ID              -303    /* bad request message id */
#define MIG_BAD_ARGUMENTS       -304    /* server type check failure */
#define MIG_NO_REPLY            -305    /* no reply should be sent */
#define MIG_EXCEPTION           -306    /* server raised exception */
#define MIG_ARRAY_TOO_LARGE     -307    /* array not large enough */
#define MIG_SERVER_DIED         -308    /* server died */
#define MIG_TRAILER_ERROR       -309    /* unknown trailer format */

/* Reply sent whenever a MIG server fails a request. 36 bytes. */
#pragma pack(push, 4)
typedef struct {
	mach_msg_header_t Head;
	NDR_record_t      NDR;
	kern_return_t     RetCode;
} mig_reply_error_t;
#pragma pack(pop)

__BEGIN_DECLS

#define __NDR_convert__mig_reply_error_t__defined
static __inline__ void
__NDR_convert__mig_reply_error_t(mig_reply_error_t *x)
{
#if defined(__NDR_convert__int_rep__kern_return_t__defined)
	if (x->NDR.int_rep != NDR_record.int_rep) {
		__NDR_convert__int_rep__kern_return_t(&x->RetCode, x->NDR.int_rep);
	}
#else
	(void)x;
#endif
}

__END_DECLS

#endif /* _MACH_MIG_ERRORS_H_ */
