/* Libraries opened at their first use (lazylib.h). */
#include "compat.h"

#include <dlfcn.h>
#include <unistd.h>

#include "lazylib.h"

static void __attribute__((noreturn))
cannot_load(const char *soname, const char *why)
{
	fprintf(stderr, "secdesk: cannot load %s, which secdesk needs (%s): the installation is"
			" incomplete\n", soname, why ? why : "no reason given");
	/* No exit handlers: other threads may be reading mail with the
	 * libraries those handlers tear down. What is not committed is
	 * redone, as after a crash. */
	_exit(EXIT_TEMPFAIL);
}

void *
lazylib_open(const char *soname)
{
	/* Never closed: its functions serve until the process ends. */
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		cannot_load(soname, dlerror());
	return lib;
}

void *
lazylib_function(void *lib, const char *soname, const char *name)
{
	void *fn;

	dlerror();
	fn = dlsym(lib, name);
	if (!fn)
		cannot_load(soname, dlerror());
	return fn;
}
