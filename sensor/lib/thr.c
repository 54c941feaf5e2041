/*
 * thr.c — helper threads that take no asynchronous signal (thr.h).
 */
#include "thr.h"

#include <signal.h>

int
thr_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *name)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	sigset_t all, old;
	int err;

	sigfillset(&all);
	for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
		sigdelset(&all, faults[i]);
	/* The new thread inherits the mask in force at its creation. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err == 0 && name)
		pthread_setname_np(*t, name);
	return err;
}
