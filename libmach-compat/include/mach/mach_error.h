/*
 * mach/mach_error.h - printable names for Mach error codes.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACH_ERROR_H_
#define _MACH_MACH_ERROR_H_

#include <mach/_cdefs.h>
#include <mach/error.h>

__BEGIN_DECLS

/* Description of error_value (static storage; never NULL). */
char *mach_error_string(mach_error_t error_value);

/* Print "str description (0x..)" to stderr. */
void mach_error(const char *str, mach_error_t error_value);

/* "(system/subsystem)" the error belongs to (static storage). */
char *mach_error_type(mach_error_t error_value);

__END_DECLS

#endif /* _MACH_MACH_ERROR_H_ */
