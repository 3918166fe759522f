/* tests/system/task_helper.c — a Mach program the system tests exec.
 *
 *   task_helper exec-check      becomes a task after exec: allocate, send to
 *                               self, receive; exit 0 if all worked
 *   task_helper block-receive   blocks receiving on a fresh port; when the
 *                               call returns, prints its code and exits 0
 *                               (an error is the expected outcome when
 *                               machd goes away)
 *   task_helper parked-receive  blocks receiving on a fresh port while a
 *                               second thread suspends it (machd parks it
 *                               in libmach-compat's handler) and prints
 *                               "ready"; when the receive returns, prints
 *                               its code and exits 0 on an error (the
 *                               expected outcome when machd goes away)
 *   task_helper semaphore-wait  creates a semaphore, prints "ready" and
 *                               waits on it with no deadline; when the
 *                               wait returns, signals it and waits twice
 *                               more, prints the three results and exits
 *                               0 if they were KERN_TERMINATED (machd
 *                               killed meanwhile), KERN_SUCCESS (its own
 *                               signal, consumed) and KERN_TERMINATED,
 *                               60-63 if not
 *   task_helper semaphore-timedwait  the same with a 60 s deadline
 *   task_helper corpse-outlives-nothing  makes a corpse of itself
 *                               (task_generate_corpse), prints "ready" and
 *                               waits (10 s at most) for the corpse's
 *                               process, its child, to end; exits 0 if it
 *                               did (machd killed meanwhile), 40-43 if not
 *   task_helper death-fd        takes machd_death_fd, prints "ready" and
 *                               polls it (10 s at most); exits 0 if it
 *                               became readable and one asked for then is
 *                               readable at once, 30-33 if not
 *   task_helper host-port       exit 0 if mach_host_self() is host_priv
 *                               (host_processors works), 30 if it is the
 *                               host name port (refused as XNU), 32 if
 *                               it is no task (machd unreachable), 33 if
 *                               TASK_HOST_PORT differs from it, 31 else
 *   task_helper queue-until-refused  queues 1 MiB messages on its own port
 *                               until machd refuses one (see below)
 *   task_helper send-once-until-refused  sends to send-once rights of its
 *                               own port (which pass the queue limit)
 *                               until machd refuses one (see below)
 *   task_helper ports-until-refused  allocates ports until machd refuses
 *                               one (see below)
 *   task_helper fast-send-after-death  sends, waits on stdin while machd is
 *                               killed, then counts sends that succeed
 *   task_helper getppid-exit    exits with what getppid() returns (a call
 *                               an emulation may redirect), modulo 256
 *   task_helper anon-fill       vm_allocates $ANON_MIB MiB (default 64),
 *                               writes every page, prints "filled <kB>",
 *                               reads every page back, prints
 *                               "verified <kB>" (kB: its RssShmem, the
 *                               memory of machd's anonymous objects it maps
 *                               now); exits 20 on a wrong byte, 21 if
 *                               vm_allocate fails. With $ANON_PAUSE set it
 *                               reads a line from stdin before reading back
 *   task_helper anon-remote-read  fills $ANON_MIB MiB as anon-fill does, then
 *                               a forked child reads its first page with
 *                               task_for_pid + mach_vm_read, retrying while
 *                               machd answers KERN_MEMORY_ERROR (the page is
 *                               being paged in), and writes its last page
 *                               with mach_vm_write; prints "remote <tries>"
 *                               and exits 0 when both worked, 24-27 if not
 *   task_helper dp-object       asks the default pager (default_pager.defs)
 *                               for its info and a 1 MiB object, writes it
 *                               through vm_map, unmaps it, maps it again
 *                               and reads it back, checks default_pager_
 *                               objects/_object_pages, drops its right and
 *                               waits for the object to go; prints
 *                               "dp-object ok" and exits 0, else the exit
 *                               code says which step failed (40-52)
 *   task_helper syscall-faults  lets the kernel touch pages no one touched
 *                               yet, in system calls: vm_allocates 1 MiB and
 *                               reads /dev/zero into it; prints "allocate
 *                               <read's result> <errno> <managed>" (managed:
 *                               1 if the memory is one of machd's anonymous
 *                               objects, i.e. under --memory-limit). With
 *                               $OBJECT_NAME set, maps that object (4
 *                               pages) and writes pages 0-1 into a pipe,
 *                               then reads them from the pipe into pages
 *                               2-3; prints "object <write's result>
 *                               <errno> <read's result> <errno> <same>"
 *                               (same: 1 if pages 2-3 then hold pages 0-1).
 *                               Exits 0 if it got that far, 50-53 if not
 */
#include <errno.h>
#include <fcntl.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <machd/machd_liveness.h>
#include <servers/bootstrap.h>
#include <dirent.h>
#include <poll.h>
#include "default_pager.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
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

/* Receives once on p (nothing is sent to it: only an error ends the wait);
 * prints the result; 0 for an error, 21 if a message came. */
static int receive_expecting_error(mach_port_t p) {
  struct {
    mach_msg_header_t head;
    mach_msg_max_trailer_t trailer;
  } m;
  mach_msg_return_t mr = mach_msg(&m.head, MACH_RCV_MSG, 0, sizeof m, p, 0, 0);
  printf("result 0x%x\n", mr);
  fflush(stdout);
  return mr == MACH_MSG_SUCCESS ? 21 : 0;
}

static int block_receive(void) {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return 20;
  printf("ready\n");
  fflush(stdout);
  return receive_expecting_error(p);
}

/* parked-receive's second thread: gives the main thread 50 ms to block in
 * its receive, then suspends it. */
static void* suspend_main(void* arg) {
  const thread_act_t main_thread = *(thread_act_t*)arg;
  usleep(50000); /* the main thread is in mach_msg by then */
  const kern_return_t kr = thread_suspend(main_thread);
  printf(kr == KERN_SUCCESS ? "ready\n" : "thread_suspend 0x%x\n", kr);
  fflush(stdout);
  return NULL;
}

static int parked_receive(void) {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return 20;
  thread_act_t self = mach_thread_self();
  pthread_t t;
  if (pthread_create(&t, NULL, suspend_main, &self) != 0) return 22;
  return receive_expecting_error(p);
}

/* semaphore-wait and semaphore-timedwait (see the top). */
static kern_return_t semaphore_wait_long(semaphore_t s, int timed) {
  const mach_timespec_t minute = {60, 0};
  return timed ? semaphore_timedwait(s, minute) : semaphore_wait(s);
}

static int semaphore_wait_until_machd_ends(int timed) {
  semaphore_t s = MACH_PORT_NULL;
  if (semaphore_create(mach_task_self(), &s, SYNC_POLICY_FIFO, 0) != KERN_SUCCESS) return 60;
  /* The semaphore's page is mapped by its first operations, before "ready". */
  if (semaphore_signal(s) != KERN_SUCCESS || semaphore_wait(s) != KERN_SUCCESS) return 61;
  printf("ready\n");
  fflush(stdout);
  const kern_return_t blocked = semaphore_wait_long(s, timed);
  const kern_return_t signalled = semaphore_signal(s) == KERN_SUCCESS ? semaphore_wait_long(s, timed) : -1;
  const kern_return_t after = semaphore_wait_long(s, timed);
  printf("result 0x%x, then 0x%x 0x%x\n", blocked, signalled, after);
  fflush(stdout);
  if (blocked != KERN_TERMINATED) return 62;
  return signalled == KERN_SUCCESS && after == KERN_TERMINATED ? 0 : 63;
}

/* The pid of this process's only child (the corpse's process), 0 if none. */
static pid_t only_child(void) {
  char path[320];
  pid_t found = 0;
  DIR* d = opendir("/proc/self/task");
  if (d == NULL) return 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
    FILE* f = fopen(path, "r");
    int pid = 0;
    if (f != NULL && fscanf(f, "%d", &pid) == 1) found = (pid_t)pid;
    if (f != NULL) fclose(f);
  }
  closedir(d);
  return found;
}

static int corpse_outlives_nothing(void) {
  mach_port_t corpse = MACH_PORT_NULL;
  if (task_generate_corpse(mach_task_self(), &corpse) != KERN_SUCCESS) return 40;
  const pid_t child = only_child();
  if (child <= 0) return 41;
  printf("ready\n");
  fflush(stdout);
  for (int i = 0; i < 1000; ++i) {
    const pid_t r = (pid_t)syscall(SYS_wait4, child, NULL, __WCLONE | WNOHANG, NULL);
    if (r == child) return 0;
    if (r < 0) return 42;
    usleep(10000);
  }
  return 43;
}

static int death_fd(void) {
  const int fd = machd_death_fd();
  if (fd < 0) return 30;
  printf("ready\n");
  fflush(stdout);
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, 10000) != 1) return 31;
  char c;
  if (read(fd, &c, 1) != 0) return 32; /* EOF */
  struct pollfd later = {machd_death_fd(), POLLIN, 0};
  return later.fd >= 0 && poll(&later, 1, 0) == 1 ? 0 : 33;
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

static long rss_shmem_kb(void) {
  FILE* f = fopen("/proc/self/status", "re");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "RssShmem: %ld", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

static uint64_t page_word(uint64_t page) { return page * 0x9E3779B97F4A7C15ull + 0x5bd1e995; }

static int anon_fill(void) {
  const char* mib = getenv("ANON_MIB");
  const uint64_t size = (uint64_t)(mib ? atol(mib) : 64) << 20;
  const uint64_t page = (uint64_t)getpagesize();
  vm_address_t base = 0;
  if (vm_allocate(mach_task_self(), &base, size, VM_FLAGS_ANYWHERE) != KERN_SUCCESS) return 21;
  for (uint64_t p = 0; p < size / page; p++) {
    uint64_t* w = (uint64_t*)(base + p * page);
    w[0] = page_word(p);
    w[page / 8 - 1] = ~page_word(p);
  }
  printf("filled %ld\n", rss_shmem_kb());
  fflush(stdout);
  if (getenv("ANON_PAUSE")) {
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 23;
  }
  for (uint64_t p = 0; p < size / page; p++) {
    const uint64_t* w = (const uint64_t*)(base + p * page);
    if (w[0] != page_word(p) || w[page / 8 - 1] != ~page_word(p) || w[1] != 0) {
      printf("bad page %lu\n", (unsigned long)p);
      return 20;
    }
  }
  printf("verified %ld\n", rss_shmem_kb());
  fflush(stdout);
  return vm_deallocate(mach_task_self(), base, size) == KERN_SUCCESS ? 0 : 22;
}

/* A child reads and writes pages of its parent that the default pager holds
 * (the parent filled more than the budget): each call waits for its pages
 * and succeeds the first time, as a Mach kernel's copy waits for the page. */
static int anon_remote_read(void) {
  const char* mib = getenv("ANON_MIB");
  const uint64_t size = (uint64_t)(mib ? atol(mib) : 64) << 20;
  const uint64_t page = (uint64_t)getpagesize();
  vm_address_t base = 0;
  if (vm_allocate(mach_task_self(), &base, size, VM_FLAGS_ANYWHERE) != KERN_SUCCESS) return 21;
  for (uint64_t p = 0; p < size / page; p++) *(uint64_t*)(base + p * page) = page_word(p);
  const pid_t parent = getpid();
  const pid_t child = fork();
  if (child == 0) {
    mach_port_t task = MACH_PORT_NULL;
    if (task_for_pid(mach_task_self(), parent, &task) != KERN_SUCCESS) _exit(24);
    /* The first pages, one call each, then the first 256 pages in one call. */
    for (uint64_t p = 0; p < 8; p++) {
      vm_offset_t data = 0;
      mach_msg_type_number_t count = 0;
      if (mach_vm_read(task, base + p * page, page, &data, &count) != KERN_SUCCESS || count != page ||
          *(uint64_t*)data != page_word(p))
        _exit(25);
      vm_deallocate(mach_task_self(), data, count);
    }
    vm_offset_t data = 0;
    mach_msg_type_number_t count = 0;
    if (mach_vm_read(task, base, 256 * page, &data, &count) != KERN_SUCCESS || count != 256 * page) _exit(25);
    for (uint64_t p = 0; p < 256; p++)
      if (*(uint64_t*)(data + p * page) != page_word(p)) _exit(25);
    const uint64_t word = 0x1234567890abcdefull;
    if (mach_vm_write(task, base + 512 * page, (vm_offset_t)&word, sizeof word) != KERN_SUCCESS) _exit(26);
    printf("remote 1\n");
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return WIFEXITED(status) ? WEXITSTATUS(status) : 28;
  return *(volatile uint64_t*)(base + 512 * page) == 0x1234567890abcdefull ? 0 : 27;
}

static int dp_object(void) {
  mach_port_t dp = MACH_PORT_NULL;
  if (host_default_memory_manager(mach_host_self(), &dp, 0) != KERN_SUCCESS || !MACH_PORT_VALID(dp)) return 40;
  default_pager_info_t info;
  if (default_pager_info(dp, &info) != KERN_SUCCESS) return 41;
  if (info.dpi_page_size != (vm_size_t)getpagesize() || info.dpi_free_space > info.dpi_total_space) return 42;
  const vm_size_t size = 1 << 20, page = (vm_size_t)getpagesize();
  mach_port_t object = MACH_PORT_NULL;
  if (default_pager_object_create(dp, &object, size) != KERN_SUCCESS || !MACH_PORT_VALID(object)) return 43;
  for (int round = 0; round < 2; round++) {
    mach_vm_address_t at = 0;
    if (mach_vm_map(mach_task_self(), &at, size, 0, VM_FLAGS_ANYWHERE, object, 0, FALSE,
                    VM_PROT_READ | VM_PROT_WRITE, VM_PROT_ALL, VM_INHERIT_NONE) != KERN_SUCCESS)
      return 44;
    for (vm_size_t p = 0; p < size / page; p += 2) {  /* every other page */
      uint64_t* w = (uint64_t*)(at + p * page);
      if (round == 0)
        *w = page_word(p);
      else if (*w != page_word(p))
        return 45;
      if (round == 1 && *(uint64_t*)(at + (p + 1) * page) != 0) return 46;
    }
    /* The object outlives the mapping: its pages go to the store. */
    if (mach_vm_deallocate(mach_task_self(), at, size) != KERN_SUCCESS) return 47;
  }
  default_pager_object_array_t objects = NULL;
  mach_port_array_t ports = NULL;
  mach_msg_type_number_t nobjects = 0, nports = 0;
  if (default_pager_objects(dp, &objects, &nobjects, &ports, &nports) != KERN_SUCCESS || nobjects != nports) return 48;
  int found = 0;
  for (mach_msg_type_number_t i = 0; i < nports; i++) {
    if (ports[i] == object) found = objects[i].dpo_size >= size / 2;
    if (MACH_PORT_VALID(ports[i])) mach_port_deallocate(mach_task_self(), ports[i]);
  }
  vm_deallocate(mach_task_self(), (vm_address_t)objects, nobjects * sizeof *objects);
  vm_deallocate(mach_task_self(), (vm_address_t)ports, nports * sizeof *ports);
  if (!found) return 49;
  default_pager_page_array_t pages = NULL;
  mach_msg_type_number_t npages = 0;
  if (default_pager_object_pages(dp, object, &pages, &npages) != KERN_SUCCESS || npages != size / page / 2) return 50;
  vm_deallocate(mach_task_self(), (vm_address_t)pages, npages * sizeof *pages);
  default_pager_filename_t file = "/dev/sdz";
  if (default_pager_paging_file(dp, MACH_PORT_NULL, file, TRUE) != KERN_NOT_SUPPORTED) return 51;
  /* Our last send right goes: the pager forgets the object. */
  mach_port_deallocate(mach_task_self(), object);
  for (int tries = 0; tries < 200; tries++) {
    if (default_pager_objects(dp, &objects, &nobjects, &ports, &nports) != KERN_SUCCESS) return 48;
    for (mach_msg_type_number_t i = 0; i < nports; i++)
      if (MACH_PORT_VALID(ports[i])) mach_port_deallocate(mach_task_self(), ports[i]);
    vm_deallocate(mach_task_self(), (vm_address_t)objects, nobjects * sizeof *objects);
    vm_deallocate(mach_task_self(), (vm_address_t)ports, nports * sizeof *ports);
    if (nobjects == 0) {
      printf("dp-object ok\n");
      fflush(stdout);
      return 0;
    }
    usleep(10000);
  }
  return 52;
}

/* Sends empty messages to send-once rights made from a port of its own
 * (the default queue limit of 5 does not stop them) until a send fails;
 * prints how many went and the error. Exit 0 if the error was
 * MACH_SEND_NO_BUFFER and, once one message is received, a send works
 * again; 60 + a step number otherwise. */
static int send_once_until_refused(void) {
  mach_port_t p = MACH_PORT_NULL;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return 60;
  struct {
    mach_msg_header_t head;
    mach_msg_max_trailer_t trailer;
  } m;
  int sent = 0;
  mach_msg_return_t mr = MACH_MSG_SUCCESS;
  for (; sent < 100000; sent++) {
    memset(&m, 0, sizeof m);
    m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MAKE_SEND_ONCE, 0);
    m.head.msgh_size = sizeof m.head;
    m.head.msgh_remote_port = p;
    mr = mach_msg(&m.head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof m.head, 0, 0, 0, 0);
    if (mr != MACH_MSG_SUCCESS) break;
  }
  printf("sent %d, then 0x%x\n", sent, mr);
  fflush(stdout);
  if (mr != MACH_SEND_NO_BUFFER) return 61;
  if (mach_msg(&m.head, MACH_RCV_MSG | MACH_RCV_TIMEOUT, 0, sizeof m, p, 0, 0) != MACH_MSG_SUCCESS) return 62;
  memset(&m, 0, sizeof m);
  m.head.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MAKE_SEND_ONCE, 0);
  m.head.msgh_size = sizeof m.head;
  m.head.msgh_remote_port = p;
  if (mach_msg(&m.head, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof m.head, 0, 0, 0, 0) != MACH_MSG_SUCCESS) return 63;
  return 0;
}

/* Allocates receive rights until machd refuses one; prints how many it got
 * and the error. Exit 0 if the error was KERN_RESOURCE_SHORTAGE and, once
 * one port is destroyed, an allocation works again; 70 + a step number
 * otherwise. */
static int ports_until_refused(void) {
  mach_port_t p = MACH_PORT_NULL, last = MACH_PORT_NULL;
  int got = 0;
  kern_return_t kr = KERN_SUCCESS;
  for (; got < 100000; got++) {
    kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p);
    if (kr != KERN_SUCCESS) break;
    last = p;
  }
  printf("ports %d, then 0x%x\n", got, kr);
  fflush(stdout);
  if (kr != KERN_RESOURCE_SHORTAGE || last == MACH_PORT_NULL) return 71;
  if (mach_port_mod_refs(mach_task_self(), last, MACH_PORT_RIGHT_RECEIVE, -1) != KERN_SUCCESS) return 72;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p) != KERN_SUCCESS) return 73;
  return 0;
}

/* 1 if the mapping holding `addr` is one of machd's anonymous objects
 * (memfd:mach-anonymous), 0 if not (the library's own memfd:mach-vm), -1 if
 * /proc/self/maps does not show it. */
static int mapped_from_memfd(uintptr_t addr) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  int found = -1;
  while (f && found < 0 && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && addr >= lo && addr < hi) found = strstr(line, "memfd:mach-anonymous") != NULL;
  }
  if (f) fclose(f);
  return found;
}

static int syscall_faults(void) {
  const size_t page = (size_t)getpagesize();
  vm_address_t buf = 0;
  if (vm_allocate(mach_task_self(), &buf, 1 << 20, VM_FLAGS_ANYWHERE) != KERN_SUCCESS) return 50;
  int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  if (zero < 0) return 51;
  errno = 0;
  ssize_t got = read(zero, (void*)(buf + 16 * page), 2 * page);
  printf("allocate %zd %d %d\n", got, got < 0 ? errno : 0, mapped_from_memfd(buf));
  fflush(stdout);
  const char* name = getenv("OBJECT_NAME");
  if (name == NULL) return 0;
  mach_port_t object = MACH_PORT_NULL;
  if (bootstrap_look_up(bootstrap_port, name, &object) != KERN_SUCCESS) return 52;
  mach_vm_address_t at = 0;
  if (mach_vm_map(mach_task_self(), &at, 4 * page, 0, VM_FLAGS_ANYWHERE, object, 0, FALSE,
                  VM_PROT_READ | VM_PROT_WRITE, VM_PROT_ALL, VM_INHERIT_NONE) != KERN_SUCCESS)
    return 53;
  uint8_t* p = (uint8_t*)(uintptr_t)at;
  int fds[2];
  if (pipe(fds) != 0) return 51;
  errno = 0;
  const ssize_t wrote = write(fds[1], p, 2 * page);
  const int write_errno = wrote < 0 ? errno : 0;
  if (wrote < 0) { /* give the read below something to move */
    static uint8_t filler[2 * 4096];
    (void)!write(fds[1], filler, sizeof filler);
  }
  errno = 0;
  got = read(fds[0], p + 2 * page, 2 * page);
  const int read_errno = got < 0 ? errno : 0;
  const int same = wrote == (ssize_t)(2 * page) && got == (ssize_t)(2 * page) && memcmp(p, p + 2 * page, 2 * page) == 0;
  printf("object %zd %d %zd %d %d\n", wrote, write_errno, got, read_errno, same);
  fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (strcmp(argv[1], "syscall-faults") == 0) return syscall_faults();
  if (strcmp(argv[1], "dp-object") == 0) return dp_object();
  if (strcmp(argv[1], "anon-remote-read") == 0) return anon_remote_read();
  if (strcmp(argv[1], "anon-fill") == 0) return anon_fill();
  if (strcmp(argv[1], "exec-check") == 0) return exec_check();
  if (strcmp(argv[1], "queue-until-refused") == 0) return queue_until_refused();
  if (strcmp(argv[1], "send-once-until-refused") == 0) return send_once_until_refused();
  if (strcmp(argv[1], "ports-until-refused") == 0) return ports_until_refused();
  if (strcmp(argv[1], "fast-send-after-death") == 0) return fast_send_after_death();
  if (strcmp(argv[1], "getppid-exit") == 0) return (int)(syscall(SYS_getppid) & 0xff);
  if (strcmp(argv[1], "block-receive") == 0) return block_receive();
  if (strcmp(argv[1], "parked-receive") == 0) return parked_receive();
  if (strcmp(argv[1], "death-fd") == 0) return death_fd();
  if (strcmp(argv[1], "corpse-outlives-nothing") == 0) return corpse_outlives_nothing();
  if (strcmp(argv[1], "semaphore-wait") == 0) return semaphore_wait_until_machd_ends(0);
  if (strcmp(argv[1], "semaphore-timedwait") == 0) return semaphore_wait_until_machd_ends(1);
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
