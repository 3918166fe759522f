/* C types of roundtrip.defs. */
#ifndef ROUNDTRIP_TYPES_H
#define ROUNDTRIP_TYPES_H

#include <stdint.h>
#include <mach/message.h>

typedef struct { int32_t x, y; } rt_point_t;
typedef int32_t *rt_ints_t;
typedef int16_t *rt_shorts_t;
typedef char rt_name_t[40];
typedef char *rt_text_t;
typedef uint8_t *rt_bytes_t;
typedef int32_t *rt_ool_ints_t;
typedef mach_port_t *rt_ports_t;
typedef mach_port_t *rt_ool_ports_t;

#endif
