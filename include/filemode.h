/* filemode.h - who may read the files the desk makes.
 *
 * The store, its search index, backups, the outbox folder and its mails,
 * the run lock and reports hold mail or what is derived from it. They are
 * made for the desk's user alone (files 0600, folders 0700), or for a
 * group of staff too when [store] group is set (files 0660, folders 2770,
 * given to that group), whatever the umask: the mode is set with fchmod
 * after the file is made, never left to the umask. */
#ifndef SECDESK_FILEMODE_H
#define SECDESK_FILEMODE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/* Shares the desk's files with group gid from now on, for the whole
 * process (main calls it once the config is read, as it sets the store's
 * busy timeout), and clears the group bits of the umask, so that the files
 * SQLite makes beside the store are the group's to write from the moment
 * they exist. Without a call the files are the user's alone. */
void filemode_set_group(gid_t gid);

/* The modes of the desk's files and folders: 0600 / 0700, or 0660 / 02770
 * with a group. */
mode_t filemode_file(void);
mode_t filemode_dir(void);

/* Creates path (relative to dirfd, or AT_FDCWD) with O_CREAT | O_EXCL
 * added to flags, then gives it the desk's file mode and group. Returns the
 * fd, or -1 with errno set; a file whose mode or group cannot be set is
 * removed again. */
int filemode_create(int dirfd, const char *path, int flags);

/* Opens path, creating it as filemode_create() does when it is missing; a
 * file that exists keeps its mode (db check reports a loose one). Returns
 * the fd, or -1 with errno set. */
int filemode_open(const char *path, int flags);

/* Creates the folder path with the desk's folder mode and group. -1 with
 * errno set (EEXIST when it exists: it is left as it is). */
int filemode_mkdir(const char *path);

/* Gives the file open as fd the desk's file mode and group. -1 with errno. */
int filemode_fix_fd(int fd);

/* For files another library made (a database's side files: the store
 * lists them): with a group set, path, when this process owns it and it
 * has another group, is given the desk's group; a missing path is skipped.
 * Returns 0, or -1 with e set (EXIT_CANTCREAT) when its group cannot be
 * changed. */
int filemode_adopt(const char *path, struct err *e);

/* Whether st (of a file, or of a folder) lets more people in than the
 * rule: permission bits beyond the desk's mode, or group bits for another
 * group than [store] group. When it does, *want gets the mode wanted and
 * fix the shell command that makes it right (path quoted for sh). */
bool filemode_too_loose(const struct stat *st, const char *path, mode_t *want, struct buf *fix);

#endif
