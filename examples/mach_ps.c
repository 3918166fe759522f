/*
 * mach_ps.c - a small ps / vmmap / sample for Mach tasks.
 *
 *   mach_ps              every process that is a Mach task this user may
 *                        inspect (task_for_pid succeeds)
 *   mach_ps PID...       only those
 *   mach_ps -n N PID...  at most N regions per task (default 8)
 *
 * For each task: what task_info reports (memory, CPU time, context
 * switches), its threads with their registers (task_threads,
 * thread_get_state) and its memory regions (mach_vm_region). A call the
 * system does not answer prints its error and the listing goes on: nothing
 * here needs more than the public Mach API.
 *
 * On macOS task_for_pid of another process needs root or an entitlement;
 * on machd it needs the same user or root, as macOS's posix rule.
 * The process list comes from /proc (on macOS: proc_listpids).
 */
#include <mach/mach.h>
#include <mach/mach_error.h>
#include <mach/mach_vm.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int max_regions = 8;

static void show_error(const char* what, kern_return_t kr) {
  printf("    %s: %s (%d)\n", what, mach_error_string(kr), kr);
}

static double seconds(time_value_t t) { return t.seconds + t.microseconds / 1e6; }

static void show_info(task_t task) {
  mach_task_basic_info_data_t b;
  mach_msg_type_number_t n = MACH_TASK_BASIC_INFO_COUNT;
  kern_return_t kr = task_info(task, MACH_TASK_BASIC_INFO, (task_info_t)&b, &n);
  if (kr != KERN_SUCCESS) {
    show_error("task_info(MACH_TASK_BASIC_INFO)", kr);
    return;
  }
  task_thread_times_info_data_t live;
  n = TASK_THREAD_TIMES_INFO_COUNT;
  if (task_info(task, TASK_THREAD_TIMES_INFO, (task_info_t)&live, &n) != KERN_SUCCESS) memset(&live, 0, sizeof live);
  task_events_info_data_t ev;
  n = TASK_EVENTS_INFO_COUNT;
  if (task_info(task, TASK_EVENTS_INFO, (task_info_t)&ev, &n) != KERN_SUCCESS) memset(&ev, 0, sizeof ev);
  /* Basic info counts terminated threads, thread times the live ones. */
  printf("    virtual %llu KiB, resident %llu KiB (peak %llu KiB), user %.2fs, system %.2fs, "
         "faults %d, context switches %d\n",
         (unsigned long long)b.virtual_size / 1024, (unsigned long long)b.resident_size / 1024,
         (unsigned long long)b.resident_size_max / 1024, seconds(b.user_time) + seconds(live.user_time),
         seconds(b.system_time) + seconds(live.system_time), ev.faults, ev.csw);
}

static void show_threads(task_t task) {
  thread_act_array_t threads = NULL;
  mach_msg_type_number_t count = 0;
  kern_return_t kr = task_threads(task, &threads, &count);
  if (kr != KERN_SUCCESS) {
    show_error("task_threads", kr);
    return;
  }
  printf("    %u thread(s)\n", count);
  for (mach_msg_type_number_t i = 0; i < count; i++) {
    x86_thread_state64_t st;
    mach_msg_type_number_t n = x86_THREAD_STATE64_COUNT;
    kr = thread_get_state(threads[i], x86_THREAD_STATE64, (thread_state_t)&st, &n);
    if (kr == KERN_SUCCESS)
      printf("      thread %u: rip 0x%016llx rsp 0x%016llx rbp 0x%016llx\n", i, (unsigned long long)st.__rip,
             (unsigned long long)st.__rsp, (unsigned long long)st.__rbp);
    else
      printf("      thread %u: thread_get_state: %s (%d)\n", i, mach_error_string(kr), kr);
    mach_port_deallocate(mach_task_self(), threads[i]);
  }
  vm_deallocate(mach_task_self(), (vm_address_t)threads, count * sizeof(thread_act_t));
}

static void show_regions(task_t task) {
  mach_vm_address_t addr = 0;
  for (int i = 0; i < max_regions; i++) {
    mach_vm_size_t size = 0;
    vm_region_basic_info_data_64_t info;
    mach_msg_type_number_t n = VM_REGION_BASIC_INFO_COUNT_64;
    mach_port_t object = MACH_PORT_NULL;
    kern_return_t kr = mach_vm_region(task, &addr, &size, VM_REGION_BASIC_INFO_64, (vm_region_info_t)&info, &n, &object);
    if (kr == KERN_INVALID_ADDRESS) break; /* past the last region */
    if (kr != KERN_SUCCESS) {
      show_error("mach_vm_region", kr);
      return;
    }
    if (MACH_PORT_VALID(object)) mach_port_deallocate(mach_task_self(), object);
    printf("      %016llx-%016llx %c%c%c/%c%c%c %s\n", (unsigned long long)addr, (unsigned long long)(addr + size),
           info.protection & VM_PROT_READ ? 'r' : '-', info.protection & VM_PROT_WRITE ? 'w' : '-',
           info.protection & VM_PROT_EXECUTE ? 'x' : '-', info.max_protection & VM_PROT_READ ? 'r' : '-',
           info.max_protection & VM_PROT_WRITE ? 'w' : '-', info.max_protection & VM_PROT_EXECUTE ? 'x' : '-',
           info.shared ? "shared" : "private");
    addr += size;
  }
}

/* Lists one pid; returns 1 if it is a Mach task we could open. */
static int show_pid(int pid, int quiet_denied) {
  task_t task = MACH_PORT_NULL;
  kern_return_t kr = task_for_pid(mach_task_self(), pid, &task);
  if (kr != KERN_SUCCESS) {
    if (!quiet_denied) printf("pid %d: task_for_pid: %s (%d)\n", pid, mach_error_string(kr), kr);
    return 0;
  }
  int check = 0;
  pid_for_task(task, &check);
  printf("pid %d%s (task port 0x%x, pid_for_task %d)\n", pid, pid == getpid() ? " (this program)" : "", task, check);
  show_info(task);
  show_threads(task);
  printf("    regions:\n");
  show_regions(task);
  mach_port_deallocate(mach_task_self(), task);
  return 1;
}

int main(int argc, char** argv) {
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "-n") == 0) {
    max_regions = atoi(argv[2]);
    first = 3;
  }
  if (first < argc) {
    int ok = 1;
    for (int i = first; i < argc; i++) ok &= show_pid(atoi(argv[i]), 0);
    return ok ? 0 : 1;
  }
  DIR* d = opendir("/proc");
  if (!d) {
    perror("/proc");
    return 1;
  }
  int tasks = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL)
    if (isdigit((unsigned char)e->d_name[0])) tasks += show_pid(atoi(e->d_name), 1);
  closedir(d);
  printf("%d Mach task(s)\n", tasks);
  return tasks > 0 ? 0 : 1;
}
