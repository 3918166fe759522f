/* tests/mig/runtime/rtproof_types.h — C types of test.defs. */
#ifndef RTPROOF_TYPES_H
#define RTPROOF_TYPES_H

#include <mach/mach.h>
#include <stdint.h>

typedef int32_t rp_ints_t[16];
typedef int32_t rp_quad_t[4];
typedef int32_t *rp_ool_ints_t;
typedef mach_port_t *rp_move_send_array_t;
typedef mach_port_t *rp_copy_send_array_t;
typedef mach_port_t *rp_make_send_array_t;
typedef mach_port_t rp_copy_send_few_t[4];
typedef char rp_text_t[64];
typedef char rp_name_t[32];
typedef natural_t *rp_names_t;

#endif
