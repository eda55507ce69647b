/* fdio.h - whole reads and writes of a file descriptor. */
#ifndef SECDESK_FDIO_H
#define SECDESK_FDIO_H

#include <stddef.h>

#include "buf.h"

/* Writes all n bytes of data to fd, going on after EINTR and short
 * writes. Returns 0, or -1 with errno set (EIO when write made no
 * progress). */
int fd_write_all(int fd, const void *data, size_t n);

/* Appends what fd gives until its end to b, going on after EINTR.
 * Returns 0, or -1 with errno set: EFBIG when b's cap is reached (what
 * fit is in b), else read's error. */
int fd_read_all(int fd, struct buf *b);

/* fd_read_all of the file at path. */
int file_read_all(const char *path, struct buf *b);

#endif
