/* lazylib.h - a library secdesk needs, loaded at its first use.
 *
 * libxml2 (with ICU and libstdc++ behind it) and uchardet serve only the
 * reading of mail, libpq (with Kerberos, LDAP and OpenSSL) only a desk on
 * PostgreSQL. Linked as usual, every start would load them, at a cost
 * above a staff command's queries; opened at their first use, only the
 * commands that need them load them. They are no less required: one that
 * cannot be loaded ends the process with its name and the loader's reason,
 * exit EXIT_TEMPFAIL (an installation to mend; a mail being read waits,
 * as when the dynamic loader refuses to start a program, but no MTA
 * bounces it). */
#ifndef SECDESK_LAZYLIB_H
#define SECDESK_LAZYLIB_H

/* The library of that soname (never NULL). */
void *lazylib_open(const char *soname);
/* The function name of lib (opened as soname; never NULL). */
void *lazylib_function(void *lib, const char *soname, const char *name);

/* The struct member of a library function, typed as its declaration. */
#define LAZYLIB_MEMBER(name) __typeof__(name) *name;
/* Opens soname and sets each member of the struct at fns, of the names
 * LIST(F) gives: F(function) F(function) ... (LAZYLIB_MEMBER made them). */
#define LAZYLIB_LOAD(fns, soname, LIST)                       \
	do {                                                  \
		void *lazylib_lib_ = lazylib_open(soname);    \
		__typeof__(fns) lazylib_fns_ = (fns);         \
		const char *lazylib_soname_ = (soname);       \
		LIST(LAZYLIB_SET_)                            \
	} while (0)
#define LAZYLIB_SET_(name)                                                          \
	lazylib_fns_->name = (__typeof__(lazylib_fns_->name))lazylib_function(      \
		lazylib_lib_, lazylib_soname_, #name);

#endif
