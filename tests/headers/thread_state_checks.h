/*
 * Layouts of the x86 thread states (<mach/i386/thread_status.h>) as macOS
 * x86_64 has them: every flavor's size, count in natural_t, and the
 * offsets a debugger or crash reporter reads.  The sizes follow from XNU's
 * osfmk/mach/i386/_structs.h (natural alignment: 40 bytes of FXSAVE header
 * and reserved words, 16 per x87/XMM register, 32 per ZMM upper half, 64
 * per ZMM16-31); included by layout_checks.h.  SPDX-License-Identifier: MIT
 */
#ifndef MACH_HEADERS_THREAD_STATE_CHECKS_H
#define MACH_HEADERS_THREAD_STATE_CHECKS_H

/* flavors */
CHECK(x86_THREAD_STATE32 == 1 && x86_FLOAT_STATE32 == 2 && x86_EXCEPTION_STATE32 == 3);
CHECK(x86_THREAD_STATE64 == 4 && x86_FLOAT_STATE64 == 5 && x86_EXCEPTION_STATE64 == 6);
CHECK(x86_THREAD_STATE == 7 && x86_FLOAT_STATE == 8 && x86_EXCEPTION_STATE == 9);
CHECK(x86_DEBUG_STATE32 == 10 && x86_DEBUG_STATE64 == 11 && x86_DEBUG_STATE == 12);
CHECK(THREAD_STATE_NONE == 13);
CHECK(x86_AVX_STATE32 == 16 && x86_AVX_STATE64 == 17 && x86_AVX_STATE == 18);
CHECK(x86_AVX512_STATE32 == 19 && x86_AVX512_STATE64 == 20 && x86_AVX512_STATE == 21);
CHECK(x86_PAGEIN_STATE == 22 && x86_THREAD_FULL_STATE64 == 23);
CHECK(x86_INSTRUCTION_STATE == 24 && x86_LAST_BRANCH_STATE == 25);
CHECK(THREAD_STATE_FLAVORS == 26);
CHECK(VALID_THREAD_STATE_FLAVOR(x86_PAGEIN_STATE) && !VALID_THREAD_STATE_FLAVOR(14));

/* registers */
SIZE(struct __darwin_fp_control, 2);
SIZE(struct __darwin_fp_status, 2);
SIZE(struct __darwin_mmst_reg, 16);
SIZE(struct __darwin_xmm_reg, 16);
SIZE(struct __darwin_ymm_reg, 32);
SIZE(struct __darwin_zmm_reg, 64);
SIZE(struct __darwin_opmask_reg, 8);

/* 32-bit */
SIZE(x86_thread_state32_t, 64);
CHECK(x86_THREAD_STATE32_COUNT == 16 && i386_THREAD_STATE_COUNT == 16);
OFF(x86_thread_state32_t, __eip, 40);
SIZE(x86_float_state32_t, 524);
CHECK(x86_FLOAT_STATE32_COUNT == 131);
OFF(x86_float_state32_t, __fpu_xmm7, 280);
OFF(x86_float_state32_t, __fpu_rsrv4, 296);
OFF(x86_float_state32_t, __fpu_reserved1, 520);
SIZE(x86_avx_state32_t, 716);
CHECK(x86_AVX_STATE32_COUNT == 179);
OFF(x86_avx_state32_t, __fpu_ymmh0, 588);
SIZE(x86_avx512_state32_t, 1036);
CHECK(x86_AVX512_STATE32_COUNT == 259);
OFF(x86_avx512_state32_t, __fpu_k0, 716);
OFF(x86_avx512_state32_t, __fpu_zmmh0, 780);
SIZE(x86_exception_state32_t, 12);
CHECK(x86_EXCEPTION_STATE32_COUNT == 3);
SIZE(x86_debug_state32_t, 32);
CHECK(x86_DEBUG_STATE32_COUNT == 8);

/* 64-bit */
SIZE(x86_thread_state64_t, 168);
CHECK(x86_THREAD_STATE64_COUNT == 42);
OFF(x86_thread_state64_t, __r8, 64);
OFF(x86_thread_state64_t, __rip, 128);
OFF(x86_thread_state64_t, __gs, 160);
SIZE(x86_thread_full_state64_t, 200);
CHECK(x86_THREAD_FULL_STATE64_COUNT == 50);
OFF(x86_thread_full_state64_t, __ds, 168);
OFF(x86_thread_full_state64_t, __gsbase, 192);
SIZE(x86_float_state64_t, 524);
CHECK(x86_FLOAT_STATE64_COUNT == 131);
OFF(x86_float_state64_t, __fpu_fcw, 8);
OFF(x86_float_state64_t, __fpu_fsw, 10);
OFF(x86_float_state64_t, __fpu_ftw, 12);
OFF(x86_float_state64_t, __fpu_fop, 14);
OFF(x86_float_state64_t, __fpu_ip, 16);
OFF(x86_float_state64_t, __fpu_dp, 24);
OFF(x86_float_state64_t, __fpu_mxcsr, 32);
OFF(x86_float_state64_t, __fpu_mxcsrmask, 36);
OFF(x86_float_state64_t, __fpu_stmm0, 40);
OFF(x86_float_state64_t, __fpu_xmm0, 168);
OFF(x86_float_state64_t, __fpu_xmm15, 408);
OFF(x86_float_state64_t, __fpu_rsrv4, 424);
OFF(x86_float_state64_t, __fpu_reserved1, 520);
SIZE(x86_avx_state64_t, 844);
CHECK(x86_AVX_STATE64_COUNT == 211);
OFF(x86_avx_state64_t, __avx_reserved1, 524);
OFF(x86_avx_state64_t, __fpu_ymmh0, 588);
OFF(x86_avx_state64_t, __fpu_ymmh15, 828);
SIZE(x86_avx512_state64_t, 2444);
CHECK(x86_AVX512_STATE64_COUNT == 611);
OFF(x86_avx512_state64_t, __fpu_k0, 844);
OFF(x86_avx512_state64_t, __fpu_zmmh0, 908);
OFF(x86_avx512_state64_t, __fpu_zmm16, 1420);
OFF(x86_avx512_state64_t, __fpu_zmm31, 2380);
SIZE(x86_exception_state64_t, 16);
CHECK(x86_EXCEPTION_STATE64_COUNT == 4);
OFF(x86_exception_state64_t, __faultvaddr, 8);
SIZE(x86_debug_state64_t, 64);
CHECK(x86_DEBUG_STATE64_COUNT == 16);

/* the rest */
SIZE(x86_pagein_state_t, 4);
CHECK(x86_PAGEIN_STATE_COUNT == 1);
SIZE(x86_instruction_state_t, 2456);
CHECK(x86_INSTRUCTION_STATE_COUNT == 614);     /* the largest: I386_THREAD_STATE_MAX */
SIZE(struct __last_branch_record, 24);
SIZE(last_branch_state_t, 776);
CHECK(x86_LAST_BRANCH_STATE_COUNT == 194);
SIZE(struct __darwin_x86_cpmu_state64, 128);

/* flavor-tagged forms: an 8-byte header, then the union */
SIZE(x86_state_hdr_t, 8);
SIZE(x86_thread_state_t, 176);
CHECK(x86_THREAD_STATE_COUNT == 44);
OFF(x86_thread_state_t, uts, 8);
SIZE(x86_float_state_t, 532);
CHECK(x86_FLOAT_STATE_COUNT == 133);
SIZE(x86_exception_state_t, 24);
CHECK(x86_EXCEPTION_STATE_COUNT == 6);
SIZE(x86_debug_state_t, 72);
CHECK(x86_DEBUG_STATE_COUNT == 18);
SIZE(x86_avx_state_t, 852);
CHECK(x86_AVX_STATE_COUNT == 213);
SIZE(x86_avx512_state_t, 2452);
CHECK(x86_AVX512_STATE_COUNT == 613);

CHECK(I386_THREAD_STATE_MAX == 614);
CHECK(MACHINE_THREAD_STATE == x86_THREAD_STATE);

#endif /* MACH_HEADERS_THREAD_STATE_CHECKS_H */
