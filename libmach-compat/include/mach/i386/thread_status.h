/* mach/i386/thread_status.h - see mach/machine/thread_status.h. MIT. */
#include <mach/machine/thread_status.h>
