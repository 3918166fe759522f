/*
 * bsm/libbsm.h - the audit_token_to_* accessors of macOS's libbsm.  Only
 * these are provided: they read the fields of an audit_token_t (for one,
 * the MACH_RCV_TRAILER_AUDIT trailer of a received message), which XNU
 * fills in this order:
 *
 *   val[0] auid   val[1] euid   val[2] egid   val[3] ruid
 *   val[4] rgid   val[5] pid    val[6] asid   val[7] pidversion
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _BSM_LIBBSM_H_
#define _BSM_LIBBSM_H_

#include <sys/types.h>
#include <mach/_cdefs.h>
#include <mach/message.h>

__BEGIN_DECLS

#ifndef _MACH_COMPAT_AU_TYPES_
#define _MACH_COMPAT_AU_TYPES_
typedef uid_t au_id_t;      /* audit user id */
typedef pid_t au_asid_t;    /* audit session id */
#endif

static inline au_id_t audit_token_to_auid(audit_token_t atoken)
{
	return (au_id_t)atoken.val[0];
}

static inline uid_t audit_token_to_euid(audit_token_t atoken)
{
	return (uid_t)atoken.val[1];
}

static inline gid_t audit_token_to_egid(audit_token_t atoken)
{
	return (gid_t)atoken.val[2];
}

static inline uid_t audit_token_to_ruid(audit_token_t atoken)
{
	return (uid_t)atoken.val[3];
}

static inline gid_t audit_token_to_rgid(audit_token_t atoken)
{
	return (gid_t)atoken.val[4];
}

static inline pid_t audit_token_to_pid(audit_token_t atoken)
{
	return (pid_t)atoken.val[5];
}

static inline au_asid_t audit_token_to_asid(audit_token_t atoken)
{
	return (au_asid_t)atoken.val[6];
}

/* Tells apart processes that had the same pid at different times. */
static inline int audit_token_to_pidversion(audit_token_t atoken)
{
	return (int)atoken.val[7];
}

__END_DECLS

#endif /* _BSM_LIBBSM_H_ */
