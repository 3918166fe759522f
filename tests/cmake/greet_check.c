/*
 * greet_check.c - the CMake package test's program: built by CMake from
 * stubs that mach_compat_mig() generated, linked with MachCompat::mach-compat.
 * Needs no machd: it checks the generated demux on messages it makes itself.
 * Exits 0 and prints "greet-check: ok" when the demux knows greet_add's id
 * and rejects another with MIG_BAD_ID.
 * SPDX-License-Identifier: MIT
 */
#include <mach/mach.h>
#include <mach/mig_errors.h>
#include <stdio.h>
#include <string.h>

#include "greet.h"
#include "greetServer.h"

/* The server routine the demux calls for greet_add. */
kern_return_t do_greet_add(mach_port_t server, int a, int b, int* sum) {
  (void)server;
  *sum = a + b;
  return KERN_SUCCESS;
}

int main(void) {
  union {
    mach_msg_header_t head;
    char bytes[512];
  } request, reply;

  /* An id the subsystem does not have: no routine, and MIG_BAD_ID. */
  memset(&request, 0, sizeof request);
  memset(&reply, 0, sizeof reply);
  request.head.msgh_size = sizeof(mach_msg_header_t);
  request.head.msgh_id = 4299;
  if (greet_server_routine(&request.head) != NULL) {
    fprintf(stderr, "greet-check: a routine for unknown id 4299\n");
    return 1;
  }
  if (greet_server(&request.head, &reply.head) != FALSE) {
    fprintf(stderr, "greet-check: the demux accepted unknown id 4299\n");
    return 1;
  }
  if (((mig_reply_error_t*)&reply)->RetCode != MIG_BAD_ID) {
    fprintf(stderr, "greet-check: RetCode %d for unknown id, not MIG_BAD_ID\n",
            ((mig_reply_error_t*)&reply)->RetCode);
    return 1;
  }

  /* greet_add's id (the subsystem's first) has a routine. */
  request.head.msgh_id = 4200;
  if (greet_server_routine(&request.head) == NULL) {
    fprintf(stderr, "greet-check: no routine for greet_add (id 4200)\n");
    return 1;
  }

  /* The client stub is linked (its mach_msg comes from libmach-compat). */
  kern_return_t (*volatile stub)(mach_port_t, int, int, int*) = greet_add;
  if (stub == NULL) return 1;

  printf("greet-check: ok\n");
  return 0;
}
