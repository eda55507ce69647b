/* config.h - the INI configuration (DESIGN.md, "Configuration").
 *
 * config_load() reads the whole file, checks every key against the table in
 * config.c and fills struct config with absolute paths (relative ones are
 * resolved against the config file's folder). Unknown sections or keys,
 * missing required keys and bad values are errors naming file:line and the
 * key (EXIT_CONFIG). Strings are owned by the struct; config_release() frees. */
#ifndef SECDESK_CONFIG_H
#define SECDESK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "strlist.h"

/* The longest [mailbox] trusted_authserv_id (bytes). */
#define CONFIG_AUTHSERV_ID_MAX 255

enum after_mode { AFTER_SEEN, AFTER_MOVE, AFTER_DELETE, AFTER_KEEP };

/* Settings shared by [mailbox] and [send] for talking to a server. */
struct conn_config {
	char *url;
	char *user;                /* NULL when not set (then from the URL) */
	char *password_file;       /* NULL when not set */
	char *oauth_token_command; /* NULL when not set */
	bool tls_none;             /* tls = none, said explicitly */
	char *ca_file;             /* NULL: the system's CAs */
	int timeout;               /* seconds for connect and each read */
};

struct config {
	char *path; /* the file read, absolute */
	char *dir;  /* its folder */

	struct {
		char *name;
		char *address;
		char *tag;
		char *lock_file;    /* default: beside the store */
		struct strlist aliases; /* further addresses of the desk (deskaddr.h) */
		/* the time zone replies state times in ("Europe/Berlin"); NULL:
		 * the system's */
		char *timezone;
	} desk;

	struct {
		struct conn_config conn; /* conn.url NULL: no mailbox (MTA pipe) */
		enum after_mode after;
		char *after_folder; /* for move:FOLDER */
		int batch;          /* messages per transaction, default 100 */
		/* the authserv-id of the desk's own MX: its Authentication-Results
		 * are believed (authres.h); NULL: none are read */
		char *trusted_authserv_id;
		/* seconds a transient failure of the mailbox lasts before quiet
		 * (-q) runs say so again, once an hour (default 1h) */
		int alert_after;
	} mailbox;

	struct {
		char *path;     /* the SQLite file; for PostgreSQL, the url (for messages) */
		char *url;      /* sqlite:PATH or postgresql://...; NULL when path is given */
		char *location; /* what store_open() takes: the url, else the path */
		char *local_base; /* this host's files of the store (crash evidence):
				   * the SQLite file, or CONFIG_DIR/secdesk for a server */
		int busy_timeout; /* seconds to wait for a locked store */
		char *group;      /* NULL: files for the user alone (filemode.h) */
		gid_t gid;        /* that group's id */
		char *password_file; /* PostgreSQL: NULL for libpq's own (PGPASSFILE) */
		char *ca_file;       /* PostgreSQL: the CAs for TLS; NULL: libpq's default */
		bool index_thread;   /* fetch indexes on a helper thread (index_thread.h) */
	} store;

	struct {
		struct conn_config conn;
		int max_attempts;   /* before a mail is failed for good */
		int retry_base;     /* seconds of the first back-off */
		bool immediate;     /* ingest hands its acks to the transport at once */
	} send;

	struct {
		char *dir;
	} rules;

	struct {
		char *dir;
	} templates;

	struct {
		size_t max_message_size; /* bytes; 0 = default */
	} limits;

	struct {
		bool enabled;          /* send acknowledgements at all */
		int per_sender_limit;  /* at most this many per sender per window */
		int per_sender_window; /* seconds */
		int hourly_limit;      /* global breaker */
	} ack;

	struct {
		/* partner notices per queue per hour; past it, an hourly digest
		 * (0: no limit) */
		int hourly_limit_per_partner;
		/* [notice] attach: the inquiry's attachments ride along up to
		 * this many bytes in all; 0: none (no), SIZE_MAX: all (yes) */
		size_t attach_max;
	} notice;

	struct {
		int after;              /* seconds a ticket waits before it is in a digest */
		int min_interval;       /* seconds between two digests to one recipient */
		char *statuses;         /* comma-separated; NULL: "new,open" */
		char *assignee_domain;  /* USER@domain for assignees without '@'; NULL: none */
	} remind;

	int *key_lines; /* the line of each key read, for config_prefix_err() */

	/* [staff "USER"]: how a member of staff signs replies. */
	struct config_staff *staff;
	size_t nstaff;
};

struct config_staff {
	char *user;           /* the Unix user (or SECDESK_USER) */
	char *name;           /* NULL when not set */
	char *signature;      /* "\n" in it made line ends; NULL when not set */
	char *signature_file; /* absolute; NULL when not set */
};

/* The [staff "USER"] section of user; NULL when there is none. */
const struct config_staff *config_staff_find(const struct config *cfg, const char *user);

/* Finds the config file: explicit path, else $SECDESK_CONFIG, else
 * ./secdesk.conf, else /etc/secdesk/secdesk.conf. Returns an allocated path,
 * or NULL when none exists (e->msg says where it looked). */
char *config_find(const char *explicit_path, struct err *e);

int config_load(struct config *cfg, const char *path, struct err *e);
/* 0 when [mailbox] url is set; else -1 with EXIT_CONFIG saying that this
 * desk is fed by ingest: for the commands that read a mailbox. */
int config_need_mailbox(const struct config *cfg, struct err *e);
/* Is addr one of the desk's own addresses ([desk] address and aliases, as
 * deskaddr_is_desk compares them)? */
bool config_is_desk(const struct config *cfg, const char *addr);
void config_release(struct config *cfg);
/* Prefixes e->msg with "FILE:LINE: " of the line that set [section] key (or
 * "FILE: " when the key was not in the file), for checks made after
 * config_load(). */
void config_prefix_err(const struct config *cfg, const char *section, const char *key,
		       struct err *e);

/* Reads a secret: from the file (which must be a regular file of mode 0600
 * or stricter) or, when file is NULL, from the environment variable env.
 * Returns an allocated string without trailing newline, or NULL with e set
 * (EXIT_CONFIG). */
char *config_read_secret(const char *file, const char *env, struct err *e);

#endif
