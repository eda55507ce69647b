/* fdio.h - whole writes to a file descriptor. */
#ifndef SECDESK_FDIO_H
#define SECDESK_FDIO_H

#include <stddef.h>

/* Writes all n bytes of data to fd, going on after EINTR and short
 * writes. Returns 0, or -1 with errno set (EIO when write made no
 * progress). */
int fd_write_all(int fd, const void *data, size_t n);

#endif
