/* tests/system/machctl_fixture.c — known tasks and ports for machctl's
 * system test (tests/system/machctl_test.py).
 *
 *   machctl_fixture server NAME   checks in service NAME, sets the queue
 *                                 limit of its port to 3, requests a
 *                                 no-senders notification on it, creates
 *                                 the on-demand service NAME.ondemand,
 *                                 prints "ready", then exits when stdin
 *                                 closes (the queue is never drained)
 *   machctl_fixture sink NAME     checks in NAME, prints "ready" and receives
 *                                 (and drops) messages until killed
 *   machctl_fixture client NAME N [ID]
 *                                 looks NAME up, sends it N messages with
 *                                 msgh_id ID (default 4242), prints "ready",
 *                                 then exits when stdin closes
 */
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void wait_stdin_close(void) {
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
}

static int fail(const char* what, kern_return_t kr) {
  fprintf(stderr, "machctl_fixture: %s: %s\n", what, mach_error_string(kr));
  return 1;
}

static int server(const char* name) {
  mach_port_t port = MACH_PORT_NULL;
  kern_return_t kr = bootstrap_check_in(bootstrap_port, name, &port);
  if (kr != KERN_SUCCESS) return fail("bootstrap_check_in", kr);
  mach_port_limits_t limits = {.mpl_qlimit = 3};
  kr = mach_port_set_attributes(mach_task_self(), port, MACH_PORT_LIMITS_INFO, (mach_port_info_t)&limits,
                                MACH_PORT_LIMITS_INFO_COUNT);
  if (kr != KERN_SUCCESS) return fail("mach_port_set_attributes", kr);
  mach_port_t prev = MACH_PORT_NULL;
  kr = mach_port_request_notification(mach_task_self(), port, MACH_NOTIFY_NO_SENDERS, 0, port,
                                      MACH_MSG_TYPE_MAKE_SEND_ONCE, &prev);
  if (kr != KERN_SUCCESS) return fail("mach_port_request_notification", kr);
  char ondemand[128];
  snprintf(ondemand, sizeof ondemand, "%s.ondemand", name);
  mach_port_t od = MACH_PORT_NULL;
  kr = bootstrap_create_service(bootstrap_port, ondemand, &od);
  if (kr != KERN_SUCCESS) return fail("bootstrap_create_service", kr);
  printf("ready\n");
  fflush(stdout);
  wait_stdin_close();
  return 0;
}

struct msg {
  mach_msg_header_t head;
  int value;
  mach_msg_max_trailer_t trailer;
};

static int client(const char* name, int n, int id) {
  mach_port_t port = MACH_PORT_NULL;
  kern_return_t kr = bootstrap_look_up(bootstrap_port, name, &port);
  if (kr != KERN_SUCCESS) return fail("bootstrap_look_up", kr);
  for (int i = 0; i < n; i++) {
    struct msg m;
    memset(&m, 0, sizeof m);
    m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
    m.head.msgh_size = sizeof m.head + sizeof m.value;
    m.head.msgh_remote_port = port;
    m.head.msgh_id = id;
    m.value = i;
    kr = mach_msg(&m.head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, m.head.msgh_size, 0, 0, 1000, 0);
    if (kr != KERN_SUCCESS) return fail("mach_msg send", kr);
  }
  printf("ready\n");
  fflush(stdout);
  wait_stdin_close();
  return 0;
}

static int sink(const char* name) {
  mach_port_t port = MACH_PORT_NULL;
  kern_return_t kr = bootstrap_check_in(bootstrap_port, name, &port);
  if (kr != KERN_SUCCESS) return fail("bootstrap_check_in", kr);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    struct msg m;
    kr = mach_msg(&m.head, MACH_RCV_MSG, 0, sizeof m, port, 0, 0);
    if (kr != KERN_SUCCESS) return fail("mach_msg receive", kr);
  }
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "server") == 0) return server(argv[2]);
  if (argc == 3 && strcmp(argv[1], "sink") == 0) return sink(argv[2]);
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "client") == 0)
    return client(argv[2], atoi(argv[3]), argc == 5 ? atoi(argv[4]) : 4242);
  fprintf(stderr, "usage: machctl_fixture server NAME | sink NAME | client NAME N [ID]\n");
  return 2;
}
