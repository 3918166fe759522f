/*
 * mach/i386/_structs.h - the x86 register-state structs behind the thread
 * state flavors of <mach/i386/thread_status.h>, with macOS's tags and field
 * names (the UNIX03 spelling: struct __darwin_x86_thread_state64, __rax,
 * ...) and its layouts (natural alignment, no packing).  Each is also
 * reachable through its _STRUCT_X86_* macro, as in Apple's header.
 *
 * The x87/SSE/AVX area is the FXSAVE image (512 bytes from __fpu_fcw)
 * followed by the upper halves of the vector registers; the long register
 * lists are spelled with the _MACH_X86_REGS* helpers below.
 * SPDX-License-Identifier: MIT
 */
#ifndef _MACH_I386__STRUCTS_H_
#define _MACH_I386__STRUCTS_H_

#include <stdint.h>

/* ---- registers ----------------------------------------------------------- */

/* x87 control word (FCW), bit by bit (unsigned short bit-fields, as on
 * macOS: a GCC extension to ISO C, hence __extension__). */
#define _STRUCT_FP_CONTROL      struct __darwin_fp_control
_STRUCT_FP_CONTROL {
	__extension__ unsigned short __invalid : 1, __denorm : 1, __zdiv : 1, __ovrfl : 1,
	    __undfl : 1, __precis : 1, : 2,
	    __pc : 2,           /* precision: FP_PREC_* */
	    __rc : 2,           /* rounding: FP_RND_*, FP_CHOP */
	    : 3;
};
typedef _STRUCT_FP_CONTROL __darwin_fp_control_t;

#define FP_PREC_24B             0
#define FP_PREC_53B             2
#define FP_PREC_64B             3
#define FP_RND_NEAR             0
#define FP_RND_DOWN             1
#define FP_RND_UP               2
#define FP_CHOP                 3

/* x87 status word (FSW). */
#define _STRUCT_FP_STATUS       struct __darwin_fp_status
_STRUCT_FP_STATUS {
	__extension__ unsigned short __invalid : 1, __denorm : 1, __zdiv : 1, __ovrfl : 1,
	    __undfl : 1, __precis : 1, __stkflt : 1, __errsumm : 1,
	    __c0 : 1, __c1 : 1, __c2 : 1, __tos : 3, __c3 : 1, __busy : 1;
};
typedef _STRUCT_FP_STATUS __darwin_fp_status_t;

/* An x87/MMX register as FXSAVE stores it: 80 bits, padded to 16 bytes. */
#define _STRUCT_MMST_REG        struct __darwin_mmst_reg
_STRUCT_MMST_REG { char __mmst_reg[10]; char __mmst_rsrv[6]; };

#define _STRUCT_XMM_REG         struct __darwin_xmm_reg
_STRUCT_XMM_REG { char __xmm_reg[16]; };

#define _STRUCT_YMM_REG         struct __darwin_ymm_reg
_STRUCT_YMM_REG { char __ymm_reg[32]; };

#define _STRUCT_ZMM_REG         struct __darwin_zmm_reg
_STRUCT_ZMM_REG { char __zmm_reg[64]; };

#define _STRUCT_OPMASK_REG      struct __darwin_opmask_reg
_STRUCT_OPMASK_REG { char __opmask_reg[8]; };

/* Bytes of FXSAVE data from __fpu_fcw on. */
#define FP_STATE_BYTES          512

/* Helpers: register lists named <prefix>0, <prefix>1, ... */
#define _MACH_X86_REGS8(T, p) \
	T p##0; T p##1; T p##2; T p##3; T p##4; T p##5; T p##6; T p##7
#define _MACH_X86_REGS8_HI(T, p) \
	T p##8; T p##9; T p##10; T p##11; T p##12; T p##13; T p##14; T p##15
#define _MACH_X86_REGS16(T, p) _MACH_X86_REGS8(T, p); _MACH_X86_REGS8_HI(T, p)
#define _MACH_X86_REGS16_HI(T, p) \
	T p##16; T p##17; T p##18; T p##19; T p##20; T p##21; T p##22; \
	T p##23; T p##24; T p##25; T p##26; T p##27; T p##28; T p##29; \
	T p##30; T p##31

/* The FXSAVE header: FCW up to MXCSR_MASK (32 bytes, after 8 reserved). */
#define _MACH_X86_FPU_HEADER \
	int                __fpu_reserved[2]; \
	_STRUCT_FP_CONTROL __fpu_fcw; \
	_STRUCT_FP_STATUS  __fpu_fsw; \
	uint8_t            __fpu_ftw;      /* abridged tag word */ \
	uint8_t            __fpu_rsrv1; \
	uint16_t           __fpu_fop; \
	uint32_t           __fpu_ip; \
	uint16_t           __fpu_cs; \
	uint16_t           __fpu_rsrv2; \
	uint32_t           __fpu_dp; \
	uint16_t           __fpu_ds; \
	uint16_t           __fpu_rsrv3; \
	uint32_t           __fpu_mxcsr; \
	uint32_t           __fpu_mxcsrmask; \
	_MACH_X86_REGS8(_STRUCT_MMST_REG, __fpu_stmm)

/* 32-bit tasks see XMM0-7; the other 8 slots are reserved. */
#define _MACH_X86_FPU32 \
	_MACH_X86_FPU_HEADER; \
	_MACH_X86_REGS8(_STRUCT_XMM_REG, __fpu_xmm); \
	char __fpu_rsrv4[14 * 16]; \
	int  __fpu_reserved1
#define _MACH_X86_FPU64 \
	_MACH_X86_FPU_HEADER; \
	_MACH_X86_REGS16(_STRUCT_XMM_REG, __fpu_xmm); \
	char __fpu_rsrv4[6 * 16]; \
	int  __fpu_reserved1

/* ---- 32-bit states ------------------------------------------------------- */

#define _STRUCT_X86_THREAD_STATE32      struct __darwin_i386_thread_state
_STRUCT_X86_THREAD_STATE32 {
	unsigned int __eax, __ebx, __ecx, __edx, __edi, __esi, __ebp, __esp;
	unsigned int __ss, __eflags, __eip, __cs, __ds, __es, __fs, __gs;
};

#define _STRUCT_X86_FLOAT_STATE32       struct __darwin_i386_float_state
_STRUCT_X86_FLOAT_STATE32 { _MACH_X86_FPU32; };

#define _STRUCT_X86_AVX_STATE32         struct __darwin_i386_avx_state
_STRUCT_X86_AVX_STATE32 {
	_MACH_X86_FPU32;
	char __avx_reserved1[64];
	_MACH_X86_REGS8(_STRUCT_XMM_REG, __fpu_ymmh);
};

#define _STRUCT_X86_AVX512_STATE32      struct __darwin_i386_avx512_state
_STRUCT_X86_AVX512_STATE32 {
	_MACH_X86_FPU32;
	char __avx_reserved1[64];
	_MACH_X86_REGS8(_STRUCT_XMM_REG, __fpu_ymmh);
	_MACH_X86_REGS8(_STRUCT_OPMASK_REG, __fpu_k);
	_MACH_X86_REGS8(_STRUCT_YMM_REG, __fpu_zmmh);
};

#define _STRUCT_X86_EXCEPTION_STATE32   struct __darwin_i386_exception_state
_STRUCT_X86_EXCEPTION_STATE32 {
	uint16_t __trapno;
	uint16_t __cpu;
	uint32_t __err;
	uint32_t __faultvaddr;
};

#define _STRUCT_X86_DEBUG_STATE32       struct __darwin_x86_debug_state32
_STRUCT_X86_DEBUG_STATE32 {
	unsigned int __dr0, __dr1, __dr2, __dr3, __dr4, __dr5, __dr6, __dr7;
};

/* ---- flavor-independent extras -------------------------------------------- */

/* The bytes around a faulting instruction. */
#define _X86_INSTRUCTION_STATE_MAX_INSN_BYTES   (2448 - 64 - 4)
#define _X86_INSTRUCTION_STATE_CACHELINE_SIZE   64
#define _STRUCT_X86_INSTRUCTION_STATE   struct __x86_instruction_state
_STRUCT_X86_INSTRUCTION_STATE {
	int     __insn_stream_valid_bytes;
	int     __insn_offset;
	int     __out_of_synch;  /* the stream was not read where it ran */
	uint8_t __insn_bytes[_X86_INSTRUCTION_STATE_MAX_INSN_BYTES];
	uint8_t __insn_cacheline[_X86_INSTRUCTION_STATE_CACHELINE_SIZE];
};

#define _STRUCT_LAST_BRANCH_RECORD      struct __last_branch_record
_STRUCT_LAST_BRANCH_RECORD {
	uint64_t __from_ip;
	uint64_t __to_ip;
	uint32_t __mispredict : 1, __tsx_abort : 1, __in_tsx : 1,
	    __cycle_count : 16, __reserved : 13;
};

#define __LASTBRANCH_MAX        32
#define _STRUCT_LAST_BRANCH_STATE       struct __last_branch_state
_STRUCT_LAST_BRANCH_STATE {
	int      __lbr_count;
	uint32_t __lbr_supported_tsx : 1, __lbr_supported_cycle_count : 1,
	    __reserved : 30;
	_STRUCT_LAST_BRANCH_RECORD __lbrs[__LASTBRANCH_MAX];
};

/* Why a page-in on behalf of the thread failed. */
#define _STRUCT_X86_PAGEIN_STATE        struct __x86_pagein_state
_STRUCT_X86_PAGEIN_STATE { int __pagein_error; };

/* ---- 64-bit states ------------------------------------------------------- */

#define _STRUCT_X86_THREAD_STATE64      struct __darwin_x86_thread_state64
_STRUCT_X86_THREAD_STATE64 {
	uint64_t __rax, __rbx, __rcx, __rdx, __rdi, __rsi, __rbp, __rsp;
	uint64_t __r8, __r9, __r10, __r11, __r12, __r13, __r14, __r15;
	uint64_t __rip, __rflags, __cs, __fs, __gs;
};

/* The general state plus the segment registers and the GS base. */
#define _STRUCT_X86_THREAD_FULL_STATE64 struct __darwin_x86_thread_full_state64
_STRUCT_X86_THREAD_FULL_STATE64 {
	_STRUCT_X86_THREAD_STATE64 __ss64;
	uint64_t __ds, __es, __ss, __gsbase;
};

#define _STRUCT_X86_FLOAT_STATE64       struct __darwin_x86_float_state64
_STRUCT_X86_FLOAT_STATE64 { _MACH_X86_FPU64; };

#define _STRUCT_X86_AVX_STATE64         struct __darwin_x86_avx_state64
_STRUCT_X86_AVX_STATE64 {
	_MACH_X86_FPU64;
	char __avx_reserved1[64];
	_MACH_X86_REGS16(_STRUCT_XMM_REG, __fpu_ymmh);
};

#define _STRUCT_X86_AVX512_STATE64      struct __darwin_x86_avx512_state64
_STRUCT_X86_AVX512_STATE64 {
	_MACH_X86_FPU64;
	char __avx_reserved1[64];
	_MACH_X86_REGS16(_STRUCT_XMM_REG, __fpu_ymmh);
	_MACH_X86_REGS8(_STRUCT_OPMASK_REG, __fpu_k);
	_MACH_X86_REGS16(_STRUCT_YMM_REG, __fpu_zmmh);
	_MACH_X86_REGS16_HI(_STRUCT_ZMM_REG, __fpu_zmm);
};

#define _STRUCT_X86_EXCEPTION_STATE64   struct __darwin_x86_exception_state64
_STRUCT_X86_EXCEPTION_STATE64 {
	uint16_t __trapno;
	uint16_t __cpu;
	uint32_t __err;
	uint64_t __faultvaddr;
};

#define _STRUCT_X86_DEBUG_STATE64       struct __darwin_x86_debug_state64
_STRUCT_X86_DEBUG_STATE64 {
	uint64_t __dr0, __dr1, __dr2, __dr3, __dr4, __dr5, __dr6, __dr7;
};

#define _STRUCT_X86_CPMU_STATE64        struct __darwin_x86_cpmu_state64
_STRUCT_X86_CPMU_STATE64 { uint64_t __ctrs[16]; };

#endif /* _MACH_I386__STRUCTS_H_ */
