/*
 * mach_pager_test.h - what mach-pager-test tells the pager it runs, and the
 * initial content it expects of a pager in pattern mode (the default).
 *
 * Part of machd (Mach IPC in user space on Linux).
 * SPDX-License-Identifier: MIT
 *
 * mach-pager-test [options] -- PAGER [ARGS...] runs PAGER with these
 * environment variables set:
 *
 *   MACH_PAGER_NAME  a bootstrap name, unique to the run.  The pager makes
 *                    its memory object port reachable under it: either
 *                    bootstrap_check_in(bootstrap_port, name, &port) and
 *                    serve that receive right as the object port, or
 *                    bootstrap_register(bootstrap_port, name, send_right)
 *                    with a send right to the object port it serves.
 *   MACH_PAGER_SEED  a 64-bit number (decimal or 0x hexadecimal).
 *   MACH_PAGER_SIZE  the bytes of the object the kit maps (offsets
 *                    [0, size)); a multiple of 4096.
 *   MACHD_SOCKET     the machd to talk to (libmach-compat reads it).
 *
 * Pattern mode (--content pattern): before anything is written back to it,
 * the object holds at every offset `off` that is a multiple of 8 the 64-bit
 * little-endian word  off ^ seed.  A page is therefore never all zeroes,
 * and a page supplied at the wrong offset or filled with anything else is
 * told apart byte for byte.  Any mode (--content any) leaves the content to
 * the pager and checks only that it is consistent (see README.md).
 */
#ifndef MACH_PAGER_TEST_H
#define MACH_PAGER_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MACH_PAGER_TEST_ENV_NAME "MACH_PAGER_NAME"
#define MACH_PAGER_TEST_ENV_SEED "MACH_PAGER_SEED"
#define MACH_PAGER_TEST_ENV_SIZE "MACH_PAGER_SIZE"

/* The word the object holds at `off` (a multiple of 8) in pattern mode. */
static inline uint64_t mach_pager_test_word(uint64_t off, uint64_t seed) { return off ^ seed; }

/* Fills buf with the pattern of [off, off + len); off and len multiples of
 * 8 (a page and a page size are). */
static inline void mach_pager_test_fill(void *buf, uint64_t off, uint64_t len, uint64_t seed)
{
	unsigned char *p = (unsigned char *)buf;
	uint64_t i;
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w = mach_pager_test_word(off + i, seed);
		unsigned char le[8];
		int b;
		for (b = 0; b < 8; ++b)
			le[b] = (unsigned char)(w >> (8 * b));
		memcpy(p + i, le, 8);
	}
}

/* The number in environment variable `var` (strtoull, base 0), or `dflt`
 * when it is unset or not a number. */
static inline uint64_t mach_pager_test_env(const char *var, uint64_t dflt)
{
	const char *s = getenv(var);
	char *end = NULL;
	unsigned long long v;
	if (s == NULL || *s == '\0')
		return dflt;
	v = strtoull(s, &end, 0);
	return (end != NULL && *end == '\0') ? (uint64_t)v : dflt;
}

#endif /* MACH_PAGER_TEST_H */
