// libmach-compat/src/misc.cc — small libsyscall leftovers: yielding, panic.
#include <mach/mach.h>
#include <mach/mach_traps.h>
#include <mach/thread_switch.h>
#include <sched.h>
#include <time.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {

boolean_t swtch(void) {
  sched_yield();
  return FALSE;  // whether other threads were runnable is not known here
}

boolean_t swtch_pri(int pri) {
  (void)pri;
  sched_yield();
  return FALSE;
}

// XNU thread_switch: an unknown option is KERN_INVALID_ARGUMENT; the named
// thread is a hint (Linux has no directed hand-off: the caller yields, and
// for the WAIT/DEPRESS options sleeps option_time ms at most).
kern_return_t thread_switch(mach_port_name_t thread_name, int option, mach_msg_timeout_t option_time) {
  (void)thread_name;
  switch (option) {
    case SWITCH_OPTION_NONE:
      sched_yield();
      return KERN_SUCCESS;
    case SWITCH_OPTION_DEPRESS:
    case SWITCH_OPTION_WAIT:
    case SWITCH_OPTION_OSLOCK_DEPRESS:
    case SWITCH_OPTION_OSLOCK_WAIT:
    case SWITCH_OPTION_DISPATCH_CONTENTION: {
      if (option_time == 0) {
        sched_yield();
        return KERN_SUCCESS;
      }
      timespec ts{time_t(option_time / 1000), long(option_time % 1000) * 1000000L};
      nanosleep(&ts, nullptr);
      return KERN_SUCCESS;
    }
    default:
      return KERN_INVALID_ARGUMENT;
  }
}

void panic_init(mach_port_t) {}

void panic(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("panic: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

void safe_gets(char* str, char* prompt, int maxlen) {
  if (prompt) fputs(prompt, stdout);
  if (maxlen <= 0 || fgets(str, maxlen, stdin) == nullptr) {
    if (maxlen > 0) str[0] = '\0';
    return;
  }
  str[strcspn(str, "\n")] = '\0';
}

void slot_name(cpu_type_t, cpu_subtype_t, char** cpu_name, char** cpu_subname) {
  static char unknown[] = "unknown";
  if (cpu_name) *cpu_name = unknown;
  if (cpu_subname) *cpu_subname = unknown;
}

}  // extern "C"
