/* compat.h - included first by every .c file of secdesk.
 *
 * Feature macros, the common system headers, and the list of calls that are
 * banned in this tree (as git's banned.h): unbounded copies and formatting
 * into fixed buffers are compile errors here. */
#ifndef SECDESK_COMPAT_H
#define SECDESK_COMPAT_H

#define _GNU_SOURCE 1

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#define SECDESK_VERSION "0.1.0"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* sysexits.h values, named here so that the CLI speaks the contract. */
#define EXIT_OK 0
#define EXIT_USAGE 64
#define EXIT_DATAERR 65
#define EXIT_NOINPUT 66 /* an input file missing or unreadable */
#define EXIT_UNAVAILABLE 69
#define EXIT_SOFTWARE 70
#define EXIT_CANTCREAT 73
#define EXIT_IOERR 74
#define EXIT_TEMPFAIL 75
#define EXIT_CONFIG 78

#define BANNED(func) sorry_##func##_is_a_banned_function
#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
#undef strtok
#define strtok(x, y) BANNED(strtok)

#endif
