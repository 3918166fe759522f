// tests/mig/runtime/serve_c.cc — the C server (server.c: the generated C
// server stubs and rtproof_server() under a mach_msg_server-like loop).
#include "harness.h"
#include "server.h"

int rt::serve(mach_port_t port) { return rp_serve(port); }
