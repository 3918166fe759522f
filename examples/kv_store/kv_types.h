/* kv_types.h — the C types of kv.defs (imported by the generated code). */
#ifndef KV_TYPES_H
#define KV_TYPES_H

typedef char kv_key_t[64];         /* c_string[*:64] */
typedef unsigned char *kv_value_t; /* ^array[] of MACH_MSG_TYPE_BYTE */

#endif
