/* tests/headers/warning_free_use.c — a program using the public headers the
 * way users write it must compile without a warning under
 * -Wall -Wextra -Werror, with gcc and with clang, as C and as C++
 * (warning_free_use.cpp): every public header included (every_public_header.h,
 * generated from the installed list), and the bootstrap calls given string
 * literals, the common case gcc 12 used to flag (-Wstringop-overread on
 * name_t parameters). Compiled only, never run.
 * SPDX-License-Identifier: MIT */
#include "every_public_header.h"

#include <string.h>

int warning_free_use(void);
int warning_free_use(void) {
  mach_port_t port = MACH_PORT_NULL;
  bootstrap_status_t status = 0;
  kern_return_t kr = bootstrap_check_in(bootstrap_port, "com.example.service", &port);
  kr |= bootstrap_look_up(bootstrap_port, "com.example.service", &port);
  /* register, create_service and status take a modifiable name, as Apple's. */
  char name[] = "com.example.other";
  kr |= bootstrap_register(bootstrap_port, name, port);
  kr |= bootstrap_create_service(bootstrap_port, name, &port);
  kr |= bootstrap_status(bootstrap_port, name, &status);
  /* A full name_t still works. */
  name_t full;
  memset(full, 0, sizeof full);
  strncpy(full, "com.example.full", sizeof full - 1);
  kr |= bootstrap_look_up(bootstrap_port, full, &port);
  kr |= bootstrap_check_in(bootstrap_port, full, &port);
  mach_error("bootstrap:", kr);
  return (int)kr + (int)status;
}
