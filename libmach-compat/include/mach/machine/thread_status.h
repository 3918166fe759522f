/*
 * mach/machine/thread_status.h - x86 thread state flavors and layouts.
 *
 * Field names use the macOS UNIX03 spelling (__rax, __rip, ...).  Only
 * the general, exception, debug and legacy float states are defined.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_MACHINE_THREAD_STATUS_H_
#define _MACH_MACHINE_THREAD_STATUS_H_

#include <stdint.h>

/* Largest x86 state, in natural_t. */
#define I386_THREAD_STATE_MAX           (614)
/* Largest state of any architecture: what thread_state_t (MIG) holds. */
#define THREAD_STATE_MAX                (1296)

#define i386_THREAD_STATE               1
#define i386_FLOAT_STATE                2
#define i386_EXCEPTION_STATE            3

#define x86_THREAD_STATE32              1
#define x86_FLOAT_STATE32               2
#define x86_EXCEPTION_STATE32           3
#define x86_THREAD_STATE64              4
#define x86_FLOAT_STATE64               5
#define x86_EXCEPTION_STATE64           6
#define x86_THREAD_STATE                7
#define x86_FLOAT_STATE                 8
#define x86_EXCEPTION_STATE             9
#define x86_DEBUG_STATE32               10
#define x86_DEBUG_STATE64               11
#define x86_DEBUG_STATE                 12
#define THREAD_STATE_NONE               13
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

#define THREAD_MACHINE_STATE_MAX        THREAD_STATE_MAX

struct x86_state_hdr {
	uint32_t flavor;
	uint32_t count;
};
typedef struct x86_state_hdr x86_state_hdr_t;

/* 32-bit general registers. 64 bytes. */
typedef struct {
	unsigned int __eax, __ebx, __ecx, __edx, __edi, __esi, __ebp, __esp;
	unsigned int __ss, __eflags, __eip, __cs, __ds, __es, __fs, __gs;
} x86_thread_state32_t;
typedef x86_thread_state32_t i386_thread_state_t;

/* 64-bit general registers. 168 bytes. */
typedef struct {
	uint64_t __rax, __rbx, __rcx, __rdx, __rdi, __rsi, __rbp, __rsp;
	uint64_t __r8, __r9, __r10, __r11, __r12, __r13, __r14, __r15;
	uint64_t __rip, __rflags, __cs, __fs, __gs;
} x86_thread_state64_t;

/* Fault information. 12 / 16 bytes. */
typedef struct {
	uint16_t     __trapno;
	uint16_t     __cpu;
	uint32_t     __err;
	uint32_t     __faultvaddr;
} x86_exception_state32_t;
typedef x86_exception_state32_t i386_exception_state_t;

typedef struct {
	uint16_t     __trapno;
	uint16_t     __cpu;
	uint32_t     __err;
	uint64_t     __faultvaddr;
} x86_exception_state64_t;

/* Debug registers. 32 / 64 bytes. */
typedef struct {
	unsigned int __dr0, __dr1, __dr2, __dr3, __dr4, __dr5, __dr6, __dr7;
} x86_debug_state32_t;

typedef struct {
	uint64_t __dr0, __dr1, __dr2, __dr3, __dr4, __dr5, __dr6, __dr7;
} x86_debug_state64_t;

/* x87/SSE pieces of the float state. */
struct __darwin_fp_control { unsigned short __fp_control_bits; };  /* FCW */
struct __darwin_fp_status  { unsigned short __fp_status_bits; };   /* FSW */
struct __darwin_mmst_reg   { char __mmst_reg[10]; char __mmst_rsrv[6]; };
struct __darwin_xmm_reg    { char __xmm_reg[16]; };

/* Legacy FXSAVE-style float state, 64-bit. 524 bytes. */
typedef struct {
	int                        __fpu_reserved[2];
	struct __darwin_fp_control __fpu_fcw;
	struct __darwin_fp_status  __fpu_fsw;
	uint8_t                    __fpu_ftw;
	uint8_t                    __fpu_rsrv1;
	uint16_t                   __fpu_fop;
	uint32_t                   __fpu_ip;
	uint16_t                   __fpu_cs;
	uint16_t                   __fpu_rsrv2;
	uint32_t                   __fpu_dp;
	uint16_t                   __fpu_ds;
	uint16_t                   __fpu_rsrv3;
	uint32_t                   __fpu_mxcsr;
	uint32_t                   __fpu_mxcsrmask;
	struct __darwin_mmst_reg   __fpu_stmm0, __fpu_stmm1, __fpu_stmm2, __fpu_stmm3;
	struct __darwin_mmst_reg   __fpu_stmm4, __fpu_stmm5, __fpu_stmm6, __fpu_stmm7;
	struct __darwin_xmm_reg    __fpu_xmm0, __fpu_xmm1, __fpu_xmm2, __fpu_xmm3;
	struct __darwin_xmm_reg    __fpu_xmm4, __fpu_xmm5, __fpu_xmm6, __fpu_xmm7;
	struct __darwin_xmm_reg    __fpu_xmm8, __fpu_xmm9, __fpu_xmm10, __fpu_xmm11;
	struct __darwin_xmm_reg    __fpu_xmm12, __fpu_xmm13, __fpu_xmm14, __fpu_xmm15;
	char                       __fpu_rsrv4[6 * 16];
	int                        __fpu_reserved1;
} x86_float_state64_t;

#define x86_THREAD_STATE32_COUNT    ((mach_msg_type_number_t)(sizeof(x86_thread_state32_t) / sizeof(int)))
#define i386_THREAD_STATE_COUNT     x86_THREAD_STATE32_COUNT
#define x86_THREAD_STATE64_COUNT    ((mach_msg_type_number_t)(sizeof(x86_thread_state64_t) / sizeof(int)))
#define x86_EXCEPTION_STATE32_COUNT ((mach_msg_type_number_t)(sizeof(x86_exception_state32_t) / sizeof(int)))
#define i386_EXCEPTION_STATE_COUNT  x86_EXCEPTION_STATE32_COUNT
#define I386_EXCEPTION_STATE_COUNT  i386_EXCEPTION_STATE_COUNT
#define x86_EXCEPTION_STATE64_COUNT ((mach_msg_type_number_t)(sizeof(x86_exception_state64_t) / sizeof(int)))
#define X86_EXCEPTION_STATE64_COUNT x86_EXCEPTION_STATE64_COUNT
#define x86_DEBUG_STATE32_COUNT     ((mach_msg_type_number_t)(sizeof(x86_debug_state32_t) / sizeof(int)))
#define X86_DEBUG_STATE32_COUNT     x86_DEBUG_STATE32_COUNT
#define x86_DEBUG_STATE64_COUNT     ((mach_msg_type_number_t)(sizeof(x86_debug_state64_t) / sizeof(int)))
#define X86_DEBUG_STATE64_COUNT     x86_DEBUG_STATE64_COUNT
#define x86_FLOAT_STATE64_COUNT     ((mach_msg_type_number_t)(sizeof(x86_float_state64_t) / sizeof(unsigned int)))

/* Self-describing (flavor-tagged) combined states. */
struct x86_thread_state {
	x86_state_hdr_t tsh;
	union {
		x86_thread_state32_t ts32;
		x86_thread_state64_t ts64;
	} uts;
};
typedef struct x86_thread_state x86_thread_state_t;
#define x86_THREAD_STATE_COUNT      ((mach_msg_type_number_t)(sizeof(x86_thread_state_t) / sizeof(int)))

struct x86_exception_state {
	x86_state_hdr_t esh;
	union {
		x86_exception_state32_t es32;
		x86_exception_state64_t es64;
	} ues;
};
typedef struct x86_exception_state x86_exception_state_t;
#define x86_EXCEPTION_STATE_COUNT   ((mach_msg_type_number_t)(sizeof(x86_exception_state_t) / sizeof(unsigned int)))

struct x86_debug_state {
	x86_state_hdr_t dsh;
	union {
		x86_debug_state32_t ds32;
		x86_debug_state64_t ds64;
	} uds;
};
typedef struct x86_debug_state x86_debug_state_t;
#define x86_DEBUG_STATE_COUNT       ((mach_msg_type_number_t)(sizeof(x86_debug_state_t) / sizeof(unsigned int)))

#define MACHINE_THREAD_STATE        x86_THREAD_STATE
#define MACHINE_THREAD_STATE_COUNT  x86_THREAD_STATE_COUNT

#endif /* _MACH_MACHINE_THREAD_STATUS_H_ */
