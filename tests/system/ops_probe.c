/* tests/system/ops_probe.c — a Mach program the operating tests
 * (operating_test.py) run, often as another user or in a user namespace.
 *
 *   ops_probe call            mach_port_allocate twice; prints each result
 *                             ("kr=<n>") and exits 0 if both succeeded, 1 else
 *   ops_probe check-in NAME   bootstrap_check_in(NAME); prints "kr=<n>"; on
 *                             success prints "ready", then keeps the name
 *                             until stdin closes
 *   ops_probe look-up NAME    bootstrap_look_up(NAME); prints "kr=<n>";
 *                             exits 0 if found, 3 if unknown, 1 else
 */
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc == 2 && strcmp(argv[1], "call") == 0) {
    int ok = 1;
    for (int i = 0; i < 2; ++i) {
      mach_port_t p = MACH_PORT_NULL;
      kern_return_t kr = mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &p);
      printf("kr=%d\n", kr);
      ok = ok && kr == KERN_SUCCESS;
    }
    return ok ? 0 : 1;
  }
  if (argc == 3 && strcmp(argv[1], "check-in") == 0) {
    mach_port_t p = MACH_PORT_NULL;
    kern_return_t kr = bootstrap_check_in(bootstrap_port, argv[2], &p);
    printf("kr=%d\n", kr);
    if (kr != KERN_SUCCESS) return 1;
    printf("ready\n");
    char c;
    while (read(0, &c, 1) > 0) {
    }
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "look-up") == 0) {
    mach_port_t p = MACH_PORT_NULL;
    kern_return_t kr = bootstrap_look_up(bootstrap_port, argv[2], &p);
    printf("kr=%d\n", kr);
    return kr == KERN_SUCCESS ? 0 : kr == BOOTSTRAP_UNKNOWN_SERVICE ? 3 : 1;
  }
  fprintf(stderr, "usage: ops_probe call | check-in NAME | look-up NAME\n");
  return 2;
}
