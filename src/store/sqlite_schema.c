/* The schema, as a list of migrations: migrations[i] takes user_version i
 * to i + 1. Append, never edit a step that has shipped. */
#include "compat.h"

#include "sqlite_schema.h"

static const char *const migrations[] = {
	/* 0 -> 1: the foundation */
	"CREATE TABLE raws ("
	"  id INTEGER PRIMARY KEY,"
	"  sha256 TEXT NOT NULL UNIQUE,"
	"  size INTEGER NOT NULL,"
	"  data BLOB NOT NULL);"

	/* Intake state per source message: what was taken from where, and
	 * whether the source copy was marked done ([mailbox] after). */
	"CREATE TABLE intake ("
	"  id INTEGER PRIMARY KEY,"
	"  source TEXT NOT NULL,"          /* source id (URL, UIDVALIDITY) */
	"  key TEXT NOT NULL,"             /* the backend's key of the message */
	"  raw_id INTEGER NOT NULL REFERENCES raws(id),"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending','stored','poison')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  message_id INTEGER REFERENCES messages(id),"
	"  done INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (source, key));"
	"CREATE INDEX intake_pending ON intake(state) WHERE state = 'pending';"
	"CREATE INDEX intake_raw ON intake(raw_id);"

	"CREATE TABLE tickets ("
	"  id INTEGER PRIMARY KEY,"
	"  status TEXT NOT NULL DEFAULT 'new'"
	"    CHECK (status IN ('new','open','pending','resolved','closed')),"
	"  queue TEXT NOT NULL DEFAULT 'secretariat',"
	"  category TEXT NOT NULL DEFAULT 'general',"
	"  priority TEXT NOT NULL DEFAULT 'normal',"
	"  language TEXT NOT NULL DEFAULT '',"
	"  subject TEXT NOT NULL DEFAULT '',"
	"  requester TEXT NOT NULL DEFAULT '',"
	"  requester_name TEXT NOT NULL DEFAULT '',"
	"  assignee TEXT NOT NULL DEFAULT '',"
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  merged_into INTEGER REFERENCES tickets(id),"
	"  related_to INTEGER REFERENCES tickets(id),"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL);"
	"CREATE INDEX tickets_updated ON tickets(updated);"
	"CREATE INDEX tickets_status ON tickets(status, queue);"

	"CREATE TABLE ticket_tags ("
	"  ticket_id INTEGER NOT NULL REFERENCES tickets(id),"
	"  tag TEXT NOT NULL,"
	"  PRIMARY KEY (ticket_id, tag)) WITHOUT ROWID;"

	/* People who follow a ticket besides its requester (Cc). */
	"CREATE TABLE watchers ("
	"  ticket_id INTEGER NOT NULL REFERENCES tickets(id),"
	"  addr TEXT NOT NULL COLLATE NOCASE,"
	"  PRIMARY KEY (ticket_id, addr)) WITHOUT ROWID;"

	/* kind: inquiry, followup, partner, bounce, autoreply (in);
	 *       ack, notice, reply, remind (out). */
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  ticket_id INTEGER NOT NULL REFERENCES tickets(id),"
	"  direction TEXT NOT NULL CHECK (direction IN ('in','out')),"
	"  kind TEXT NOT NULL,"
	"  from_name TEXT NOT NULL DEFAULT '',"
	"  from_addr TEXT NOT NULL DEFAULT '',"
	"  to_addrs TEXT NOT NULL DEFAULT '',"
	"  cc_addrs TEXT NOT NULL DEFAULT '',"
	"  subject TEXT NOT NULL DEFAULT '',"
	"  date INTEGER,"
	"  message_id TEXT NOT NULL DEFAULT '',"
	"  in_reply_to TEXT NOT NULL DEFAULT '',"
	"  refs TEXT NOT NULL DEFAULT '',"
	"  body TEXT NOT NULL DEFAULT '',"
	"  names TEXT NOT NULL DEFAULT '',"     /* names and addresses, for search */
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  parse_note TEXT,"
	"  raw_id INTEGER REFERENCES raws(id),"
	"  created INTEGER NOT NULL);"
	"CREATE INDEX messages_ticket ON messages(ticket_id);"
	"CREATE INDEX messages_msgid ON messages(message_id);"
	"CREATE INDEX messages_raw ON messages(raw_id);"

	"CREATE VIRTUAL TABLE messages_fts USING fts5("
	"  subject, body, names,"
	"  content='messages', content_rowid='id',"
	"  tokenize='unicode61 remove_diacritics 2');"

	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  ticket_id INTEGER NOT NULL REFERENCES tickets(id),"
	"  at INTEGER NOT NULL,"
	"  who TEXT NOT NULL,"
	"  what TEXT NOT NULL,"
	"  old_value TEXT,"
	"  new_value TEXT);"
	"CREATE INDEX events_ticket ON events(ticket_id);"

	/* Decoded attachment contents, stored once by SHA-256. */
	"CREATE TABLE blobs ("
	"  sha256 TEXT PRIMARY KEY,"
	"  size INTEGER NOT NULL,"
	"  data BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE attachments ("
	"  id INTEGER PRIMARY KEY,"
	"  message_id INTEGER NOT NULL REFERENCES messages(id),"
	"  idx INTEGER NOT NULL,"
	"  filename TEXT NOT NULL DEFAULT '',"
	"  content_type TEXT NOT NULL DEFAULT '',"
	"  size INTEGER NOT NULL,"
	"  sha256 TEXT REFERENCES blobs(sha256),"   /* NULL: not kept (oversize) */
	"  UNIQUE (message_id, idx));"

	/* Outgoing mail, queued in the ingest transaction. status: pending,
	 * sent, failed (permanent). */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  ticket_id INTEGER REFERENCES tickets(id),"
	"  message_id INTEGER REFERENCES messages(id),"
	"  kind TEXT NOT NULL,"
	"  env_from TEXT NOT NULL DEFAULT '',"
	"  rcpts TEXT NOT NULL,"                   /* comma-separated */
	"  data BLOB NOT NULL,"                    /* the whole RFC 5322 message */
	"  status TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (status IN ('pending','sent','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  created INTEGER NOT NULL,"
	"  sent_at INTEGER);"
	"CREATE INDEX outbox_due ON outbox(next_try) WHERE status = 'pending';"

	/* Automatic mail sent per address, for RFC 3834 rate limits. */
	"CREATE TABLE autoreply_log ("
	"  addr TEXT NOT NULL COLLATE NOCASE,"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX autoreply_log_addr ON autoreply_log(addr, at);"

	/* Small key/value state of the program (breaker, last remind, ...). */
	"CREATE TABLE state ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT) WITHOUT ROWID;",

	/* 1 -> 2: delivery per recipient, and the hourly breaker's count.
	 * A server may take a mail for some recipients and refuse others:
	 * rejected holds those refused for good, one "addr reply" per line;
	 * delivered those that took it on an earlier attempt, while rcpts
	 * keeps those still to try (comma-separated). */
	"ALTER TABLE outbox ADD COLUMN rejected TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE outbox ADD COLUMN delivered TEXT NOT NULL DEFAULT '';"
	/* Automatic mail per minute (unix time / 60): the breaker sums at
	 * most the last 60 rows instead of counting the log. */
	"CREATE TABLE autoreply_count ("
	"  minute INTEGER PRIMARY KEY,"
	"  n INTEGER NOT NULL);"
	"INSERT INTO autoreply_count (minute, n)"
	"  SELECT at / 60, count(*) FROM autoreply_log GROUP BY at / 60;",

	/* 2 -> 3: list --sort created and --sort priority walk an index and
	 * stop at the limit instead of sorting every ticket. The expression
	 * is the one src/cli/list.c sorts by, word for word. */
	"CREATE INDEX IF NOT EXISTS tickets_created ON tickets(created);"
	"CREATE INDEX IF NOT EXISTS tickets_priority ON tickets((CASE priority WHEN 'low' THEN 0"
	"  WHEN 'normal' THEN 1 WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END));",

	/* 3 -> 4: the full-text index moves to a file of its own, out of the
	 * ingest transaction (search_index.c). The store gets an id, which
	 * the index records: an index beside another store is not used. */
	"DROP TABLE IF EXISTS messages_fts;"
	"DELETE FROM state WHERE key = 'fts_upto';"
	"INSERT OR IGNORE INTO state (key, value)"
	"  VALUES ('store_id', lower(hex(randomblob(16))));"
	/* A partner notice quotes the inquiry by reference: the outbox
	 * keeps its text around the quote, delivery puts the quote in
	 * (struct outbox_item in outbox.h). */
	"ALTER TABLE outbox ADD COLUMN quote_of INTEGER REFERENCES messages(id);"
	"ALTER TABLE outbox ADD COLUMN quote_at INTEGER;",

	/* 4 -> 5: the CHECKs of a status or state against three or more
	 * values become ORs of the same tests. SQLite codes "x IN (list)" of
	 * more than two constants as a temporary b-tree, built each time the
	 * statement runs: four of them per stored mail (its ticket, its intake
	 * row inserted and updated, a notice's outbox row). A constraint
	 * changes, so each table is rebuilt the documented way
	 * (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table
	 * Schema Changes"): new table, copy, drop, rename, indexes again.
	 * migrate() turns foreign keys off around it and checks them before
	 * the commit. No trigger or view refers to these tables. */
	"CREATE TABLE new_intake ("
	"  id INTEGER PRIMARY KEY,"
	"  source TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  raw_id INTEGER NOT NULL REFERENCES raws(id),"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state = 'pending' OR state = 'stored' OR state = 'poison'),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  message_id INTEGER REFERENCES messages(id),"
	"  done INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (source, key));"
	"INSERT INTO new_intake (id, source, key, raw_id, state, attempts, message_id, done,"
	"    created)"
	"  SELECT id, source, key, raw_id, state, attempts, message_id, done, created"
	"  FROM intake;"
	"DROP TABLE intake;"
	"ALTER TABLE new_intake RENAME TO intake;"
	"CREATE INDEX intake_pending ON intake(state) WHERE state = 'pending';"
	"CREATE INDEX intake_raw ON intake(raw_id);"

	"CREATE TABLE new_tickets ("
	"  id INTEGER PRIMARY KEY,"
	"  status TEXT NOT NULL DEFAULT 'new'"
	"    CHECK (status = 'new' OR status = 'open' OR status = 'pending'"
	" OR status = 'resolved' OR status = 'closed'),"
	"  queue TEXT NOT NULL DEFAULT 'secretariat',"
	"  category TEXT NOT NULL DEFAULT 'general',"
	"  priority TEXT NOT NULL DEFAULT 'normal',"
	"  language TEXT NOT NULL DEFAULT '',"
	"  subject TEXT NOT NULL DEFAULT '',"
	"  requester TEXT NOT NULL DEFAULT '',"
	"  requester_name TEXT NOT NULL DEFAULT '',"
	"  assignee TEXT NOT NULL DEFAULT '',"
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  merged_into INTEGER REFERENCES tickets(id),"
	"  related_to INTEGER REFERENCES tickets(id),"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL);"
	"INSERT INTO new_tickets (id, status, queue, category, priority, language, subject,"
	"    requester, requester_name, assignee, flags, merged_into, related_to, created,"
	"    updated)"
	"  SELECT id, status, queue, category, priority, language, subject, requester,"
	"    requester_name, assignee, flags, merged_into, related_to, created, updated"
	"  FROM tickets;"
	"DROP TABLE tickets;"
	"ALTER TABLE new_tickets RENAME TO tickets;"
	"CREATE INDEX tickets_updated ON tickets(updated);"
	"CREATE INDEX tickets_status ON tickets(status, queue);"
	"CREATE INDEX tickets_created ON tickets(created);"
	"CREATE INDEX tickets_priority ON tickets((CASE priority WHEN 'low' THEN 0"
	"  WHEN 'normal' THEN 1 WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END));"

	/* The columns steps 1 and 3 added stay last, as ADD COLUMN put them. */
	"CREATE TABLE new_outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  ticket_id INTEGER REFERENCES tickets(id),"
	"  message_id INTEGER REFERENCES messages(id),"
	"  kind TEXT NOT NULL,"
	"  env_from TEXT NOT NULL DEFAULT '',"
	"  rcpts TEXT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (status = 'pending' OR status = 'sent' OR status = 'failed'),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  created INTEGER NOT NULL,"
	"  sent_at INTEGER,"
	" rejected TEXT NOT NULL DEFAULT '',"
	" delivered TEXT NOT NULL DEFAULT '',"
	" quote_of INTEGER REFERENCES messages(id),"
	" quote_at INTEGER);"
	"INSERT INTO new_outbox (id, ticket_id, message_id, kind, env_from, rcpts, data, status,"
	"    attempts, next_try, last_error, created, sent_at, rejected, delivered, quote_of,"
	"    quote_at)"
	"  SELECT id, ticket_id, message_id, kind, env_from, rcpts, data, status, attempts,"
	"    next_try, last_error, created, sent_at, rejected, delivered, quote_of, quote_at"
	"  FROM outbox;"
	"DROP TABLE outbox;"
	"ALTER TABLE new_outbox RENAME TO outbox;"
	"CREATE INDEX outbox_due ON outbox(next_try) WHERE status = 'pending';",

	/* 5 -> 6: an outbox row may be 'held': an acknowledgement or notice
	 * that no template can render waits there, unrendered, until a run
	 * finds one that works (outbox_hold in outbox.h). The CHECK changes:
	 * the table is rebuilt as in 4 -> 5. */
	"CREATE TABLE new_outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  ticket_id INTEGER REFERENCES tickets(id),"
	"  message_id INTEGER REFERENCES messages(id),"
	"  kind TEXT NOT NULL,"
	"  env_from TEXT NOT NULL DEFAULT '',"
	"  rcpts TEXT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (status = 'pending' OR status = 'sent' OR status = 'failed'"
	" OR status = 'held'),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  created INTEGER NOT NULL,"
	"  sent_at INTEGER,"
	" rejected TEXT NOT NULL DEFAULT '',"
	" delivered TEXT NOT NULL DEFAULT '',"
	" quote_of INTEGER REFERENCES messages(id),"
	" quote_at INTEGER);"
	"INSERT INTO new_outbox SELECT * FROM outbox;"
	"DROP TABLE outbox;"
	"ALTER TABLE new_outbox RENAME TO outbox;"
	"CREATE INDEX outbox_due ON outbox(next_try) WHERE status = 'pending';"
	"CREATE INDEX outbox_held ON outbox(id) WHERE status = 'held';",
};

int
store_schema_steps(void)
{
	return (int)ARRAY_SIZE(migrations);
}

const char *
store_schema_step(int from_version)
{
	if (from_version < 0 || from_version >= (int)ARRAY_SIZE(migrations))
		return NULL;
	return migrations[from_version];
}
