/* C types named by the golden .defs files. */
#ifndef GOLDEN_TYPES_H
#define GOLDEN_TYPES_H

#include <stdint.h>
#include <mach/message.h>
#include <mach/mach_types.h>

typedef int32_t *int_array_t;
typedef int32_t int_fixed_t[4];
typedef struct { int32_t x, y; } point_t;
typedef point_t *point_array_t;
typedef char small_name_t[30];
typedef char *message_text_t;
typedef uint8_t *byte_ool_t;
typedef int32_t *int_ool_t;
typedef mach_port_t *port_list_t;
typedef mach_port_t *port_ool_t;
typedef struct { uint64_t a, b, c; } triple_t;
typedef triple_t *triple_ptr_t;
typedef int64_t big_t;
typedef int16_t half_t;
typedef uint8_t tiny_t;
typedef double real_t;
typedef struct widget *widget_t;

widget_t golden_port_to_widget(mach_port_t port);
mach_port_t golden_widget_to_port(widget_t w);
void golden_widget_release(widget_t w);

extern mach_msg_timeout_t golden_default_timeout;
extern mach_msg_timeout_t golden_send_timeout;

#endif
