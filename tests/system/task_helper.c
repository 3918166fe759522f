/* tests/system/task_helper.c — a Mach program the system tests exec.
 *
 *   task_helper exec-check      becomes a task after exec: allocate, send to
 *                               self, receive; exit 0 if all worked
 *   task_helper block-receive   blocks receiving on a fresh port; when the
 *                               call returns, prints its code and exits 0
 *                               (an error is the expected outcome when
 *                               machd goes away)
 *   task_helper host-port       exit 0 if mach_host_self() is host_priv
 *                               (host_processors works), 30 if it is the
 *                               host name port (refused as XNU), 32 if
 *                               it is no task (machd unreachable), 33 if
 *                               TASK_HOST_PORT differs from it, 31 else
 *   task_helper queue-until-refused  queues 1 MiB messages on its own port
 *                               until machd refuses one (see below)
 *   task_helper fast-send-after-death  sends, waits on stdin while machd is
 *                               killed, then counts sends that succeed
 *   task_helper getppid-exit    exits with what getppid() returns (a call
 *                               an emulation may redirect), modulo 256
 */
#include <mach/mach.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int exec_check(void) {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_task_self() == MACH_PORT_NULL) return 10;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return 11;
  struct {
    mach_msg_header_t head;
    int value;
    mach_msg_max_trailer_t trailer;
  } m;
  memset(&m, 0, sizeof m);
  m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MAKE_SEND, 0);
  m.head.msgh_size = sizeof m.head + sizeof m.value;
  m.head.msgh_remote_port = p;
  m.value = 1234;
  if (mach_msg(&m.head, MACH_SEND_MSG, m.head.msgh_size, 0, 0, 0, 0) != MACH_MSG_SUCCESS) return 12;
  memset(&m, 0, sizeof m);
  if (mach_msg(&m.head, MACH_RCV_MSG, 0, sizeof m, p, 0, 0) != MACH_MSG_SUCCESS) return 13;
  return m.value == 1234 ? 0 : 14;
}

static int block_receive(void) {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return 20;
  printf("ready\n");
  fflush(stdout);
  struct {
    mach_msg_header_t head;
    mach_msg_max_trailer_t trailer;
  } m;
  mach_msg_return_t mr = mach_msg(&m.head, MACH_RCV_MSG, 0, sizeof m, p, 0, 0);
  printf("result 0x%x\n", mr);
  return mr == MACH_MSG_SUCCESS ? 21 : 0;
}

/* Queues 1 MiB messages on a port of its own (queue limit 1024) until a
 * send fails; prints how many went and the error. Exit 0 if the error was
 * MACH_SEND_NO_BUFFER and, once one message is received, a send works
 * again; 50 + a step number otherwise. */
static int queue_until_refused_in(mach_msg_header_t* m) {
  enum { kBody = 1 << 20 };
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return 50;
  if (mach_port_insert_right(mach_task_self(), p, p, MACH_MSG_TYPE_MAKE_SEND) != KERN_SUCCESS) return 51;
  mach_port_limits_t lim = {1024};
  if (mach_port_set_attributes(mach_task_self(), p, MACH_PORT_LIMITS_INFO, (mach_port_info_t)&lim,
                               MACH_PORT_LIMITS_INFO_COUNT) != KERN_SUCCESS)
    return 52;
  int sent = 0;
  mach_msg_return_t mr = MACH_MSG_SUCCESS;
  for (; sent < 1000; sent++) {
    m->msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
    m->msgh_size = sizeof *m + kBody;
    m->msgh_remote_port = p;
    m->msgh_local_port = MACH_PORT_NULL;
    mr = mach_msg(m, MACH_SEND_MSG | MACH_SEND_TIMEOUT, m->msgh_size, 0, 0, 0, 0);
    if (mr != MACH_MSG_SUCCESS) break;
  }
  printf("sent %d, then 0x%x\n", sent, mr);
  fflush(stdout);
  if (mr != MACH_SEND_NO_BUFFER) return 54;
  if (mach_msg(m, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof *m + kBody + sizeof(mach_msg_max_trailer_t), p, 0,
               0) != MACH_MSG_SUCCESS)
    return 55;
  m->msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  m->msgh_size = sizeof *m + kBody;
  m->msgh_remote_port = p;
  m->msgh_local_port = MACH_PORT_NULL;
  if (mach_msg(m, MACH_SEND_MSG | MACH_SEND_TIMEOUT, m->msgh_size, 0, 0, 0, 0) != MACH_MSG_SUCCESS) return 56;
  return 0;
}

/* queue_until_refused_in with its buffer (a header and 1 MiB), freed on
 * every path. */
static int queue_until_refused(void) {
  mach_msg_header_t* m = calloc(1, sizeof(mach_msg_header_t) + (1 << 20) + sizeof(mach_msg_max_trailer_t));
  if (m == NULL) return 53;
  const int rc = queue_until_refused_in(m);
  free(m);  // every path (LeakSanitizer in the sanitizer build)
  return rc;
}

/* Streams small messages to a port of its own (fast lanes once machd grants
 * credits), prints "ready", waits for a byte on stdin (machd is killed
 * meanwhile), then tries 1000 more sends and prints how many succeeded. */
static int fast_send_after_death(void) {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return 60;
  if (mach_port_insert_right(mach_task_self(), p, p, MACH_MSG_TYPE_MAKE_SEND) != KERN_SUCCESS) return 61;
  mach_port_limits_t lim = {MACH_PORT_QLIMIT_LARGE};
  if (mach_port_set_attributes(mach_task_self(), p, MACH_PORT_LIMITS_INFO, (mach_port_info_t)&lim,
                               MACH_PORT_LIMITS_INFO_COUNT) != KERN_SUCCESS)
    return 62;
  mach_msg_header_t m;
  int ok = 0;
  for (int i = 0; i < 200; i++) {
    memset(&m, 0, sizeof m);
    m.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
    m.msgh_size = sizeof m;
    m.msgh_remote_port = p;
    if (mach_msg(&m, MACH_SEND_MSG, sizeof m, 0, 0, 0, 0) == MACH_MSG_SUCCESS) ok++;
  }
  if (ok != 200) return 63;
  printf("ready\n");
  fflush(stdout);
  char c;
  if (read(0, &c, 1) != 1) return 64;
  ok = 0;
  for (int i = 0; i < 1000; i++) {
    memset(&m, 0, sizeof m);
    m.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
    m.msgh_size = sizeof m;
    m.msgh_remote_port = p;
    if (mach_msg(&m, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof m, 0, 0, 100, 0) == MACH_MSG_SUCCESS) ok++;
  }
  printf("after %d\n", ok);
  fflush(stdout);
  return 0;
}

/* A forked child holds its task port and bootstrap port and nothing else
 * (0), or says how many names more it holds. */
static int fork_names(void) {
  pid_t pid = fork();
  if (pid == 0) {
    mach_port_name_array_t names = NULL;
    mach_port_type_array_t types = NULL;
    mach_msg_type_number_t n = 0, nt = 0;
    if (mach_port_names(mach_task_self(), &names, &n, &types, &nt) != KERN_SUCCESS) _exit(40);
    int extra = 0;
    for (mach_msg_type_number_t i = 0; i < n; i++)
      if (names[i] != mach_task_self() && names[i] != bootstrap_port) extra++;
    _exit(extra);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 41;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (strcmp(argv[1], "exec-check") == 0) return exec_check();
  if (strcmp(argv[1], "queue-until-refused") == 0) return queue_until_refused();
  if (strcmp(argv[1], "fast-send-after-death") == 0) return fast_send_after_death();
  if (strcmp(argv[1], "getppid-exit") == 0) return (int)(syscall(SYS_getppid) & 0xff);
  if (strcmp(argv[1], "block-receive") == 0) return block_receive();
  if (strcmp(argv[1], "fork-names") == 0) return fork_names();
  if (strcmp(argv[1], "breakpoint") == 0) { /* resumed after the int3 by a handler, or killed by SIGTRAP */
    __asm__ volatile("int3");
    return 0;
  }
  if (strcmp(argv[1], "host-port") == 0) {
    processor_array_t list = NULL;
    mach_msg_type_number_t n = 0;
    mach_port_t host = mach_host_self();
    mach_port_t special = MACH_PORT_NULL;
    if (host == MACH_PORT_NULL) return 32; /* not connected to machd */
    if (task_get_special_port(mach_task_self(), TASK_HOST_PORT, &special) != KERN_SUCCESS || special != host)
      return 33; /* TASK_HOST_PORT is not mach_host_self() */
    kern_return_t kr = host_processors(host, &list, &n);
    if (kr != KERN_SUCCESS && kr != KERN_INVALID_ARGUMENT) fprintf(stderr, "host-port: %#x\n", kr);
    return kr == KERN_SUCCESS ? 0 : kr == KERN_INVALID_ARGUMENT ? 30 : 31;
  }
  return 2;
}
