/*
 * mach/i386/thread_status.h - x86 thread state flavors: the flavor numbers
 * of thread_get_state()/thread_set_state() and exception messages, the
 * typedef and the count (in natural_t) of each, and the flavor-tagged
 * x86_*_state_t forms that hold either the 32- or the 64-bit state.
 * The structs are in <mach/i386/_structs.h>.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_I386_THREAD_STATUS_H_
#define _MACH_I386_THREAD_STATUS_H_

#include <stdint.h>
#include <mach/message.h>
#include <mach/i386/_structs.h>
#include <mach/i386/thread_state.h>

/* ---- flavors ------------------------------------------------------------- */

#define i386_THREAD_STATE               1   /* old names of the 32-bit ones */
#define i386_FLOAT_STATE                2
#define i386_EXCEPTION_STATE            3

#define x86_THREAD_STATE32              1
#define x86_FLOAT_STATE32               2
#define x86_EXCEPTION_STATE32           3
#define x86_THREAD_STATE64              4
#define x86_FLOAT_STATE64               5
#define x86_EXCEPTION_STATE64           6
#define x86_THREAD_STATE                7   /* tagged: 32 or 64 by the task */
#define x86_FLOAT_STATE                 8
#define x86_EXCEPTION_STATE             9
#define x86_DEBUG_STATE32               10
#define x86_DEBUG_STATE64               11
#define x86_DEBUG_STATE                 12
#define THREAD_STATE_NONE               13
/* 14 and 15 are kernel-private (saved states). */
#define x86_AVX_STATE32                 16
#define x86_AVX_STATE64                 (x86_AVX_STATE32 + 1)
#define x86_AVX_STATE                   (x86_AVX_STATE32 + 2)
#define x86_AVX512_STATE32              19
#define x86_AVX512_STATE64              (x86_AVX512_STATE32 + 1)
#define x86_AVX512_STATE                (x86_AVX512_STATE32 + 2)
#define x86_PAGEIN_STATE                22
#define x86_THREAD_FULL_STATE64         23
#define x86_INSTRUCTION_STATE           24
#define x86_LAST_BRANCH_STATE           25

/* One more than the largest flavor. */
#define THREAD_STATE_FLAVORS            26

#define THREAD_MACHINE_STATE_MAX        THREAD_STATE_MAX

/* Flavors that set the general registers. */
#define FLAVOR_MODIFIES_CORE_CPU_REGISTERS(x) \
	((x) == x86_THREAD_STATE || (x) == x86_THREAD_STATE32 || \
	 (x) == x86_THREAD_STATE64 || (x) == x86_THREAD_FULL_STATE64)

#define VALID_THREAD_STATE_FLAVOR(x) \
	(((x) >= x86_THREAD_STATE32 && (x) <= THREAD_STATE_NONE) || \
	 ((x) >= x86_AVX_STATE32 && (x) <= x86_LAST_BRANCH_STATE))

/* The tag of the x86_*_state_t forms. */
struct x86_state_hdr {
	uint32_t flavor;
	uint32_t count;
};
typedef struct x86_state_hdr x86_state_hdr_t;

/* Segment selectors of user and kernel code in 32-bit tasks. */
#define USER_CODE_SELECTOR      0x0017
#define USER_DATA_SELECTOR      0x001f
#define KERN_CODE_SELECTOR      0x0008
#define KERN_DATA_SELECTOR      0x0010

/* ---- one typedef and count per flavor ------------------------------------ */

#define _MACH_X86_COUNT(type) \
	((mach_msg_type_number_t)(sizeof(type) / sizeof(natural_t)))

typedef _STRUCT_X86_THREAD_STATE32 x86_thread_state32_t;
typedef _STRUCT_X86_THREAD_STATE32 i386_thread_state_t;
#define x86_THREAD_STATE32_COUNT        _MACH_X86_COUNT(x86_thread_state32_t)
#define i386_THREAD_STATE_COUNT         _MACH_X86_COUNT(i386_thread_state_t)

typedef _STRUCT_X86_FLOAT_STATE32 x86_float_state32_t;
typedef _STRUCT_X86_FLOAT_STATE32 i386_float_state_t;
#define x86_FLOAT_STATE32_COUNT         _MACH_X86_COUNT(x86_float_state32_t)
#define i386_FLOAT_STATE_COUNT          _MACH_X86_COUNT(i386_float_state_t)

typedef _STRUCT_X86_AVX_STATE32 x86_avx_state32_t;
#define x86_AVX_STATE32_COUNT           _MACH_X86_COUNT(x86_avx_state32_t)

typedef _STRUCT_X86_AVX512_STATE32 x86_avx512_state32_t;
#define x86_AVX512_STATE32_COUNT        _MACH_X86_COUNT(x86_avx512_state32_t)

typedef _STRUCT_X86_EXCEPTION_STATE32 x86_exception_state32_t;
typedef _STRUCT_X86_EXCEPTION_STATE32 i386_exception_state_t;
#define x86_EXCEPTION_STATE32_COUNT     _MACH_X86_COUNT(x86_exception_state32_t)
#define i386_EXCEPTION_STATE_COUNT      _MACH_X86_COUNT(i386_exception_state_t)
#define I386_EXCEPTION_STATE_COUNT      i386_EXCEPTION_STATE_COUNT

typedef _STRUCT_X86_DEBUG_STATE32 x86_debug_state32_t;
#define x86_DEBUG_STATE32_COUNT         _MACH_X86_COUNT(x86_debug_state32_t)
#define X86_DEBUG_STATE32_COUNT         x86_DEBUG_STATE32_COUNT

typedef _STRUCT_X86_THREAD_STATE64 x86_thread_state64_t;
#define x86_THREAD_STATE64_COUNT        _MACH_X86_COUNT(x86_thread_state64_t)

typedef _STRUCT_X86_THREAD_FULL_STATE64 x86_thread_full_state64_t;
#define x86_THREAD_FULL_STATE64_COUNT   _MACH_X86_COUNT(x86_thread_full_state64_t)

typedef _STRUCT_X86_FLOAT_STATE64 x86_float_state64_t;
#define x86_FLOAT_STATE64_COUNT         _MACH_X86_COUNT(x86_float_state64_t)

typedef _STRUCT_X86_AVX_STATE64 x86_avx_state64_t;
#define x86_AVX_STATE64_COUNT           _MACH_X86_COUNT(x86_avx_state64_t)

typedef _STRUCT_X86_AVX512_STATE64 x86_avx512_state64_t;
#define x86_AVX512_STATE64_COUNT        _MACH_X86_COUNT(x86_avx512_state64_t)

typedef _STRUCT_X86_EXCEPTION_STATE64 x86_exception_state64_t;
#define x86_EXCEPTION_STATE64_COUNT     _MACH_X86_COUNT(x86_exception_state64_t)
#define X86_EXCEPTION_STATE64_COUNT     x86_EXCEPTION_STATE64_COUNT

typedef _STRUCT_X86_DEBUG_STATE64 x86_debug_state64_t;
#define x86_DEBUG_STATE64_COUNT         _MACH_X86_COUNT(x86_debug_state64_t)
#define X86_DEBUG_STATE64_COUNT         x86_DEBUG_STATE64_COUNT

typedef _STRUCT_X86_PAGEIN_STATE x86_pagein_state_t;
#define x86_PAGEIN_STATE_COUNT          _MACH_X86_COUNT(x86_pagein_state_t)
#define X86_PAGEIN_STATE_COUNT          x86_PAGEIN_STATE_COUNT

typedef _STRUCT_X86_INSTRUCTION_STATE x86_instruction_state_t;
#define x86_INSTRUCTION_STATE_COUNT     _MACH_X86_COUNT(x86_instruction_state_t)
#define X86_INSTRUCTION_STATE_COUNT     x86_INSTRUCTION_STATE_COUNT

typedef _STRUCT_LAST_BRANCH_STATE last_branch_state_t;
#define x86_LAST_BRANCH_STATE_COUNT     _MACH_X86_COUNT(last_branch_state_t)
#define X86_LAST_BRANCH_STATE_COUNT     x86_LAST_BRANCH_STATE_COUNT

/* ---- flavor-tagged forms (x86_THREAD_STATE, x86_FLOAT_STATE, ...) -------- */

struct x86_thread_state {
	x86_state_hdr_t tsh;
	union {
		x86_thread_state32_t ts32;
		x86_thread_state64_t ts64;
	} uts;
};
typedef struct x86_thread_state x86_thread_state_t;
#define x86_THREAD_STATE_COUNT          _MACH_X86_COUNT(x86_thread_state_t)

struct x86_float_state {
	x86_state_hdr_t fsh;
	union {
		x86_float_state32_t fs32;
		x86_float_state64_t fs64;
	} ufs;
};
typedef struct x86_float_state x86_float_state_t;
#define x86_FLOAT_STATE_COUNT           _MACH_X86_COUNT(x86_float_state_t)

struct x86_exception_state {
	x86_state_hdr_t esh;
	union {
		x86_exception_state32_t es32;
		x86_exception_state64_t es64;
	} ues;
};
typedef struct x86_exception_state x86_exception_state_t;
#define x86_EXCEPTION_STATE_COUNT       _MACH_X86_COUNT(x86_exception_state_t)

struct x86_debug_state {
	x86_state_hdr_t dsh;
	union {
		x86_debug_state32_t ds32;
		x86_debug_state64_t ds64;
	} uds;
};
typedef struct x86_debug_state x86_debug_state_t;
#define x86_DEBUG_STATE_COUNT           _MACH_X86_COUNT(x86_debug_state_t)

struct x86_avx_state {
	x86_state_hdr_t ash;
	union {
		x86_avx_state32_t as32;
		x86_avx_state64_t as64;
	} ufs;
};
typedef struct x86_avx_state x86_avx_state_t;
#define x86_AVX_STATE_COUNT             _MACH_X86_COUNT(x86_avx_state_t)

struct x86_avx512_state {
	x86_state_hdr_t ash;
	union {
		x86_avx512_state32_t as32;
		x86_avx512_state64_t as64;
	} ufs;
};
typedef struct x86_avx512_state x86_avx512_state_t;
#define x86_AVX512_STATE_COUNT          _MACH_X86_COUNT(x86_avx512_state_t)

#define MACHINE_THREAD_STATE            x86_THREAD_STATE
#define MACHINE_THREAD_STATE_COUNT      x86_THREAD_STATE_COUNT

#endif /* _MACH_I386_THREAD_STATUS_H_ */
