// libmach-compat/src/pthread_np.cc — pthread_mach_thread_np() and
// pthread_from_mach_thread_np() (<pthread/mach_np.h>).
//
// Placeholders: threads have no Mach ports yet, so neither direction has
// an answer and both return the "none" value (MACH_PORT_NULL, a null
// pthread_t).  They go away when thread ports are wired in (machd's thread
// objects): then a thread's port is kept per pthread, as mach_thread_self()
// will return it.
#include <pthread/mach_np.h>

extern "C" {

mach_port_t pthread_mach_thread_np(pthread_t thread)
{
	(void)thread;
	return MACH_PORT_NULL;
}

pthread_t pthread_from_mach_thread_np(mach_port_t thread)
{
	(void)thread;
	return pthread_t{};
}

}  // extern "C"
