/*
 * mach/ndr.h - Network Data Representation label carried by MIG messages.
 *
 * MIG puts an 8-byte NDR_record_t after the header of simple messages;
 * NDR_record is this machine's own label (little-endian, ASCII, IEEE).
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_NDR_H_
#define _MACH_NDR_H_

#include <stdint.h>
#include <mach/_cdefs.h>

typedef struct {
	unsigned char mig_vers;
	unsigned char if_vers;
	unsigned char reserved1;
	unsigned char mig_encoding;
	unsigned char int_rep;
	unsigned char char_rep;
	unsigned char float_rep;
	unsigned char reserved2;
} NDR_record_t;

#define NDR_PROTOCOL_2_0        0
#define NDR_INT_BIG_ENDIAN      0
#define NDR_INT_LITTLE_ENDIAN   1
#define NDR_FLOAT_IEEE          0
#define NDR_FLOAT_VAX           1
#define NDR_FLOAT_CRAY          2
#define NDR_FLOAT_IBM           3
#define NDR_CHAR_ASCII          0
#define NDR_CHAR_EBCDIC         1

__BEGIN_DECLS
extern NDR_record_t NDR_record;
__END_DECLS

/* Conversion hooks used by MIG-generated code (integers only). */
#ifndef __NDR_convert__
#define __NDR_convert__ 1
#endif
#ifndef __NDR_convert__int_rep__
#define __NDR_convert__int_rep__ 1
#endif
#ifndef __NDR_convert__char_rep__
#define __NDR_convert__char_rep__ 0
#endif
#ifndef __NDR_convert__float_rep__
#define __NDR_convert__float_rep__ 0
#endif

#if __NDR_convert__

#define __NDR_convert__NOOP             do ; while (0)
#define __NDR_convert__UNKNOWN(s)       __NDR_convert__NOOP
#define __NDR_convert__SINGLE(a, f, r)  do { r((a), (f)); } while (0)
#define __NDR_convert__ARRAY(a, f, c, r) \
	do { int __i__, __C__ = (c); \
	     for (__i__ = 0; __i__ < __C__; __i__++) r(&(a)[__i__], f); } while (0)
#define __NDR_convert__2DARRAY(a, f, s, c, r) \
	do { int __i__, __C__ = (c), __S__ = (s); \
	     for (__i__ = 0; __i__ < __C__; __i__++) r(&(a)[__i__ * __S__], f, __S__); } while (0)

#if __NDR_convert__int_rep__

#define __NDR_READSWAP_assign(a, rs)    do { *(a) = rs(a); } while (0)

#define __NDR_READSWAP__uint16_t(a)     __builtin_bswap16(*(const uint16_t *)(a))
#define __NDR_READSWAP__int16_t(a)      ((int16_t)__builtin_bswap16(*(const uint16_t *)(a)))
#define __NDR_READSWAP__uint32_t(a)     __builtin_bswap32(*(const uint32_t *)(a))
#define __NDR_READSWAP__int32_t(a)      ((int32_t)__builtin_bswap32(*(const uint32_t *)(a)))
#define __NDR_READSWAP__uint64_t(a)     __builtin_bswap64(*(const uint64_t *)(a))
#define __NDR_READSWAP__int64_t(a)      ((int64_t)__builtin_bswap64(*(const uint64_t *)(a)))

#define __NDR_convert__int_rep__int16_t__defined
#define __NDR_convert__int_rep__int16_t(v, f)  __NDR_READSWAP_assign(v, __NDR_READSWAP__int16_t)
#define __NDR_convert__int_rep__uint16_t__defined
#define __NDR_convert__int_rep__uint16_t(v, f) __NDR_READSWAP_assign(v, __NDR_READSWAP__uint16_t)
#define __NDR_convert__int_rep__int32_t__defined
#define __NDR_convert__int_rep__int32_t(v, f)  __NDR_READSWAP_assign(v, __NDR_READSWAP__int32_t)
#define __NDR_convert__int_rep__uint32_t__defined
#define __NDR_convert__int_rep__uint32_t(v, f) __NDR_READSWAP_assign(v, __NDR_READSWAP__uint32_t)
#define __NDR_convert__int_rep__int64_t__defined
#define __NDR_convert__int_rep__int64_t(v, f)  __NDR_READSWAP_assign(v, __NDR_READSWAP__int64_t)
#define __NDR_convert__int_rep__uint64_t__defined
#define __NDR_convert__int_rep__uint64_t(v, f) __NDR_READSWAP_assign(v, __NDR_READSWAP__uint64_t)

#define __NDR_convert__int_rep__boolean_t__defined
#define __NDR_convert__int_rep__boolean_t(v, f)     __NDR_convert__int_rep__int32_t(v, f)
#define __NDR_convert__int_rep__kern_return_t__defined
#define __NDR_convert__int_rep__kern_return_t(v, f) __NDR_convert__int_rep__int32_t(v, f)
#define __NDR_convert__int_rep__mach_port_name_t__defined
#define __NDR_convert__int_rep__mach_port_name_t(v, f) __NDR_convert__int_rep__uint32_t(v, f)
#define __NDR_convert__int_rep__mach_msg_type_number_t__defined
#define __NDR_convert__int_rep__mach_msg_type_number_t(v, f) __NDR_convert__int_rep__uint32_t(v, f)

#endif /* __NDR_convert__int_rep__ */
#endif /* __NDR_convert__ */

#endif /* _MACH_NDR_H_ */
