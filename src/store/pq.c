/* libpq, opened at its first use (pq.h). */
#include "compat.h"

#include <pthread.h>

#define PQ_DIRECT
#include "pq.h"

_Static_assert(sizeof(LIBPQ_SONAME) > 1, "the build found no libpq to open (Makefile: soname)");

static struct pq_functions pq;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;

static void
pq_load(void)
{
	LAZYLIB_LOAD(&pq, LIBPQ_SONAME, LIBPQ_FUNCTIONS);
}

const struct pq_functions *
pq_functions(void)
{
	pthread_once(&pq_once, pq_load);
	return &pq;
}
