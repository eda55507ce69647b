/* lock.h - the run lock: runs never overlap. */
#ifndef SECDESK_LOCK_H
#define SECDESK_LOCK_H

#include "err.h"

/* Takes an exclusive lock on path (created as filemode.h says) without
 * waiting; a held
 * lock is EXIT_TEMPFAIL naming the holder's PID. Returns the fd to keep. */
int lock_take(const char *path, struct err *e);
void lock_release(int fd);

#endif
