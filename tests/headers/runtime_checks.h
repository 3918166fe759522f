/*
 * Run-time half of the header checker: things a static_assert cannot
 * see (bit-field placement) plus a printout of key values.
 * SPDX-License-Identifier: MIT
 */
#ifndef MACH_HEADERS_RUNTIME_CHECKS_H
#define MACH_HEADERS_RUNTIME_CHECKS_H

#include <stdio.h>
#include <string.h>
#include "layout_checks.h"

static int g_failures;

#define EXPECT_EQ(actual, expected) do { \
	unsigned long long a_ = (unsigned long long)(actual); \
	unsigned long long e_ = (unsigned long long)(expected); \
	if (a_ != e_) { \
		fprintf(stderr, "FAIL %s:%d: %s == 0x%llx, expected 0x%llx\n", \
		    __FILE__, __LINE__, #actual, a_, e_); \
		g_failures++; \
	} \
} while (0)

/* Byte i of an object's representation. */
static unsigned byte_at(const void *p, size_t i)
{
	return ((const unsigned char *)p)[i];
}

static int run_checks(const char *lang)
{
	/* Port descriptor: disposition in byte 10, type in byte 11. */
	mach_msg_port_descriptor_t pd;
	memset(&pd, 0, sizeof pd);
	pd.name = 0x1234;
	pd.disposition = MACH_MSG_TYPE_MOVE_SEND_ONCE;
	pd.type = MACH_MSG_PORT_DESCRIPTOR;
	EXPECT_EQ(byte_at(&pd, 0), 0x34);
	EXPECT_EQ(byte_at(&pd, 10), MACH_MSG_TYPE_MOVE_SEND_ONCE);
	EXPECT_EQ(byte_at(&pd, 11), MACH_MSG_PORT_DESCRIPTOR);

	/* OOL descriptor: deallocate byte 8, copy byte 9, type byte 11, size 12. */
	mach_msg_ool_descriptor_t od;
	memset(&od, 0, sizeof od);
	od.address = &od;
	od.deallocate = TRUE;
	od.copy = MACH_MSG_VIRTUAL_COPY;
	od.type = MACH_MSG_OOL_DESCRIPTOR;
	od.size = 0x01020304;
	EXPECT_EQ(byte_at(&od, 8), 1);
	EXPECT_EQ(byte_at(&od, 9), MACH_MSG_VIRTUAL_COPY);
	EXPECT_EQ(byte_at(&od, 11), MACH_MSG_OOL_DESCRIPTOR);
	EXPECT_EQ(byte_at(&od, 12), 0x04);

	/* OOL ports: disposition byte 10, type byte 11, count at 12. */
	mach_msg_ool_ports_descriptor_t opd;
	memset(&opd, 0, sizeof opd);
	opd.disposition = MACH_MSG_TYPE_COPY_SEND;
	opd.type = MACH_MSG_OOL_PORTS_DESCRIPTOR;
	opd.count = 7;
	EXPECT_EQ(byte_at(&opd, 10), MACH_MSG_TYPE_COPY_SEND);
	EXPECT_EQ(byte_at(&opd, 11), MACH_MSG_OOL_PORTS_DESCRIPTOR);
	EXPECT_EQ(byte_at(&opd, 12), 7);

	/* Guarded port: flags bytes 8-9, disposition 10, type 11, name 12. */
	mach_msg_guarded_port_descriptor_t gd;
	memset(&gd, 0, sizeof gd);
	gd.context = 0x1122334455667788ull;
	gd.flags = MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE;
	gd.disposition = MACH_MSG_TYPE_MOVE_RECEIVE;
	gd.type = MACH_MSG_GUARDED_PORT_DESCRIPTOR;
	gd.name = 0x99;
	EXPECT_EQ(byte_at(&gd, 0), 0x88);
	EXPECT_EQ(byte_at(&gd, 8), MACH_MSG_GUARD_FLAGS_IMMOVABLE_RECEIVE);
	EXPECT_EQ(byte_at(&gd, 10), MACH_MSG_TYPE_MOVE_RECEIVE);
	EXPECT_EQ(byte_at(&gd, 11), MACH_MSG_GUARDED_PORT_DESCRIPTOR);
	EXPECT_EQ(byte_at(&gd, 12), 0x99);

	/* The generic view reads the type of any descriptor. */
	mach_msg_type_descriptor_t td;
	memcpy(&td, &gd, sizeof td);
	EXPECT_EQ(td.type, MACH_MSG_GUARDED_PORT_DESCRIPTOR);

	/* Header bit helpers. */
	mach_msg_bits_t bits = MACH_MSGH_BITS_SET(MACH_MSG_TYPE_COPY_SEND,
	    MACH_MSG_TYPE_MAKE_SEND_ONCE, MACH_MSG_TYPE_MOVE_SEND, MACH_MSGH_BITS_COMPLEX);
	EXPECT_EQ(MACH_MSGH_BITS_REMOTE(bits), MACH_MSG_TYPE_COPY_SEND);
	EXPECT_EQ(MACH_MSGH_BITS_LOCAL(bits), MACH_MSG_TYPE_MAKE_SEND_ONCE);
	EXPECT_EQ(MACH_MSGH_BITS_VOUCHER(bits), MACH_MSG_TYPE_MOVE_SEND);
	EXPECT_EQ(MACH_MSGH_BITS_IS_COMPLEX(bits), 1);

	/* libbsm: audit token fields in XNU's order. */
	{
		audit_token_t at;
		unsigned i;
		for (i = 0; i < 8; i++)
			at.val[i] = 100 + i;
		EXPECT_EQ(audit_token_to_auid(at), 100);
		EXPECT_EQ(audit_token_to_euid(at), 101);
		EXPECT_EQ(audit_token_to_egid(at), 102);
		EXPECT_EQ(audit_token_to_ruid(at), 103);
		EXPECT_EQ(audit_token_to_rgid(at), 104);
		EXPECT_EQ(audit_token_to_pid(at), 105);
		EXPECT_EQ(audit_token_to_asid(at), 106);
		EXPECT_EQ(audit_token_to_pidversion(at), 107);
	}

	/* x87 control word bits land where FCW has them. */
	{
		struct __darwin_fp_control fcw;
		memset(&fcw, 0, sizeof fcw);
		fcw.__pc = FP_PREC_64B;
		fcw.__rc = FP_CHOP;
		EXPECT_EQ(byte_at(&fcw, 1), 0x0f);   /* PC bits 8-9, RC bits 10-11 */
	}

	/* A few values, printed for the log. */
	printf("[%s] mach_msg_header_t=%zu port_desc=%zu ool_desc=%zu "
	    "guarded_desc=%zu max_trailer=%zu mig_reply_error=%zu "
	    "dead_name_notification=%zu port_options=%zu\n", lang,
	    sizeof(mach_msg_header_t), sizeof(mach_msg_port_descriptor_t),
	    sizeof(mach_msg_ool_descriptor_t),
	    sizeof(mach_msg_guarded_port_descriptor_t),
	    sizeof(mach_msg_max_trailer_t), sizeof(mig_reply_error_t),
	    sizeof(mach_dead_name_notification_t), sizeof(mach_port_options_t));
	printf("[%s] MACH_RCV_TOO_LARGE=0x%x MACH_SEND_INVALID_DEST=0x%x "
	    "KERN_INVALID_RIGHT=%d MACH_PORT_QLIMIT_DEFAULT=%d "
	    "BOOTSTRAP_UNKNOWN_SERVICE=%d\n", lang,
	    (unsigned)MACH_RCV_TOO_LARGE, (unsigned)MACH_SEND_INVALID_DEST,
	    KERN_INVALID_RIGHT, MACH_PORT_QLIMIT_DEFAULT, BOOTSTRAP_UNKNOWN_SERVICE);

	if (g_failures) {
		fprintf(stderr, "[%s] %d check(s) failed\n", lang, g_failures);
		return 1;
	}
	printf("[%s] all header checks passed\n", lang);
	return 0;
}

#endif /* MACH_HEADERS_RUNTIME_CHECKS_H */
