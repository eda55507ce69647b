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
/* Sets the member of a library function in the struct at fns. */
#define LAZYLIB_SET(fns, lib, soname, name) \
	(fns)->name = (__typeof__((fns)->name))lazylib_function(lib, soname, #name);

#endif
