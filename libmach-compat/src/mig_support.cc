// libmach-compat/src/mig_support.cc — what MIG-generated code calls.
//
// One reply port per thread (created on first use, destroyed by
// mig_dealloc_reply_port after a failed RPC, as Apple's libsyscall does).
#include <mach/mach.h>
#include <mach/mig.h>
#include <mach/ndr.h>

#include <cstring>

#include "connection.h"

extern "C" {

// NDR_record: little-endian, ASCII, IEEE floats (what x86_64 macOS sends).
NDR_record_t NDR_record = {
    0,  // mig_reserved
    0,  // mig_reserved
    0,  // mig_reserved
    NDR_PROTOCOL_2_0,
    NDR_INT_LITTLE_ENDIAN,
    NDR_CHAR_ASCII,
    NDR_FLOAT_IEEE,
    0,  // reserved
};

}  // extern "C"

namespace {
struct ReplyPort {
  uint64_t generation = 0;
  mach_port_t port = MACH_PORT_NULL;
};
thread_local ReplyPort t_reply;
}  // namespace

extern "C" {

mach_port_t mig_get_reply_port(void) {
  uint64_t gen = machcompat::generation();
  if (t_reply.generation != gen || t_reply.port == MACH_PORT_NULL) {
    t_reply.port = mach_reply_port();
    t_reply.generation = gen;
  }
  return t_reply.port;
}

void mig_dealloc_reply_port(mach_port_t reply_port) {
  (void)reply_port;
  if (t_reply.generation == machcompat::generation() && t_reply.port != MACH_PORT_NULL)
    mach_port_mod_refs(mach_task_self(), t_reply.port, MACH_PORT_RIGHT_RECEIVE, -1);
  t_reply.port = MACH_PORT_NULL;
}

void mig_put_reply_port(mach_port_t reply_port) { (void)reply_port; }

int mig_strncpy(char* dest, const char* src, int len) {
  if (len <= 0) return 0;
  int i = 0;
  for (; i < len - 1 && src[i] != '\0'; ++i) dest[i] = src[i];
  dest[i] = '\0';
  return i + 1;
}

int mig_strncpy_zerofill(char* dest, const char* src, int len) {
  if (len <= 0) return 0;
  int n = mig_strncpy(dest, src, len);
  if (n < len) memset(dest + n, 0, size_t(len - n));
  return n;
}

void mig_allocate(vm_address_t* addr, vm_size_t size) {
  if (vm_allocate(mach_task_self(), addr, size, VM_FLAGS_ANYWHERE) != KERN_SUCCESS) *addr = 0;
}

void mig_deallocate(vm_address_t addr, vm_size_t size) { vm_deallocate(mach_task_self(), addr, size); }

}  // extern "C"
