/* tests/mig/runtime/server.h — the rtproof server (server.c), for the test. */
#ifndef RTPROOF_SERVER_H
#define RTPROOF_SERVER_H

#include <mach/mach.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Serves rtproof requests on `port` until quit(); 0 on a clean exit. */
int rp_serve(mach_port_t port);

/* FNV-1a over len bytes (client and server agree on it). */
uint32_t rp_checksum(const void *data, size_t len);

/* Is any page of [addr, addr+len) mapped in this process? */
int rp_is_mapped(vm_offset_t addr, size_t len);

#ifdef __cplusplus
}
#endif

#endif
