// libmach-compat/src/misc.cc — small libsyscall leftovers: yielding, panic.
#include <mach/mach.h>
#include <mach/mach_traps.h>
#include <sched.h>

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

kern_return_t thread_switch(mach_port_name_t thread_name, int option, mach_msg_timeout_t option_time) {
  (void)option;
  (void)option_time;
  if (thread_name != MACH_PORT_NULL) return KERN_NOT_SUPPORTED;  // no handoff to a named thread
  sched_yield();
  return KERN_SUCCESS;
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
