#!/bin/sh
# Stores of every earlier schema version migrate forward through the real
# binary with what they hold: a desk fetches mail into a new store, copies
# of it are taken back to versions 5, 4, 3, 2 and 1 (as those versions laid
# their tables out), and each copy, opened by db check, comes back with the
# same rows, the schema of a new store and a search that finds its mail.
# A store newer than the program, or one whose rows break a foreign key, is
# refused and left as it was.
. "$TOP/tests/lib.sh"
sqlite_only "SQLite's own schema versions 1 to 5, laid out by the sqlite3 shell"
umask 077 # the desk's modes, which db check asks for

if ! command -v sqlite3 >/dev/null 2>&1; then
	skip "migration of older stores" "no sqlite3 shell"
	done_testing
	exit 0
fi

d=$T_DIR/desk
make_config "$d"
sd() { _sd_dir=$1; shift; "$SECDESK" -c "$_sd_dir/secdesk.conf" "$@"; }
q() { sqlite3 "$1/secdesk.db" "$2"; }
ids() { python3 -c "import json,sys; print(sorted(t['id'] for t in json.load(sys.stdin)))"; }
jf() { python3 -c "import json,sys; d = json.load(sys.stdin); print($1)"; }

for i in 1 2 3; do
	make_mail "$d/inbox/new/$i:2," "mig$i@example.org" "p$i@example.org" "About the migword$i question"
done
sd "$d" fetch >/dev/null 2>"$T_DIR/fetch.err"
check_eq "fetch stores three tickets" 3 "$(q "$d" "SELECT count(*) FROM tickets")"
# Rows of every kind the migration rebuilds or keeps: a closed ticket, a
# tag, an event, outbox rows in each status.
q "$d" "UPDATE tickets SET status = 'closed' WHERE id = 2;
	INSERT INTO ticket_tags VALUES (1, 'call-2027');
	INSERT INTO events (ticket_id, at, who, what, old_value, new_value)
		VALUES (2, 5, 'maria', 'status', 'new', 'closed');
	UPDATE outbox SET status = 'sent', sent_at = 7 WHERE id = 1;
	UPDATE outbox SET status = 'failed', last_error = '550 no', rejected = 'x 550'
		WHERE id = 2;"
check_eq "the desk has outbox rows in each status, intake rows, logged automatic mail" \
	"failed pending sent 3 3" \
	"$(q "$d" "SELECT group_concat(status, ' ') FROM (SELECT DISTINCT status FROM outbox
		ORDER BY 1); SELECT count(*) FROM intake; SELECT count(*) FROM autoreply_log" |
		tr '\n' ' ' | sed 's/ $//')"
want=$(sd "$d" db check --json | jf "d['expected_schema_version']")
check_eq "the desk's store is of the current version" "$want" "$(q "$d" "PRAGMA user_version")"

# A copy of the desk (store and search index) at schema version $2 in $1.
old_desk() {
	make_config "$1"
	sqlite3 "$d/secdesk.db" ".backup '$1/secdesk.db'"
	[ "$2" -ge 4 ] && cp "$d/secdesk.db-search" "$1/"
	python3 - "$1/secdesk.db" "$2" <<'PY'
import sqlite3, sys
path, version = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path, isolation_level=None)
db.execute("BEGIN")
# Up to version 4 the CHECKs were IN lists: each table is rebuilt with them.
# Up to version 5 the outbox had no 'held' status.
checks = {"tickets": ("status", ["'new'", "'open'", "'pending'", "'resolved'", "'closed'"]),
          "intake": ("state", ["'pending'", "'stored'", "'poison'"]),
          "outbox": ("status", ["'pending'", "'sent'", "'failed'"])}
for table, (col, values) in checks.items():
    (sql,) = db.execute("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?",
                        (table,)).fetchone()
    if table == "outbox":
        assert " OR status = 'held'" in sql, sql
        sql = sql.replace(" OR status = 'held'", "")
        db.execute("DROP INDEX outbox_held")
    elif version > 4:
        continue
    ors = " OR ".join(f"{col} = {v}" for v in values)
    assert ors in sql, sql
    if version <= 4:
        sql = sql.replace(ors, f"{col} IN ({','.join(values)})")
    sql = sql.replace(f'CREATE TABLE "{table}"', f"CREATE TABLE old_{table}")
    indexes = [r[0] for r in db.execute("SELECT sql FROM sqlite_schema WHERE type = 'index'"
                                        " AND tbl_name = ? AND sql IS NOT NULL", (table,))]
    db.execute(sql)
    db.execute(f"INSERT INTO old_{table} SELECT * FROM {table}")
    db.execute(f"DROP TABLE {table}")
    db.execute(f"ALTER TABLE old_{table} RENAME TO {table}")
    for index in indexes:
        db.execute(index)
later = {
    3: ["ALTER TABLE outbox DROP COLUMN quote_at",  # the full-text index inside, no id
        "ALTER TABLE outbox DROP COLUMN quote_of",
        "DELETE FROM state WHERE key = 'store_id'",
        "CREATE VIRTUAL TABLE messages_fts USING fts5(subject, body, names,"
        " content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
        "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
        "INSERT INTO state (key, value) SELECT 'fts_upto', max(id) FROM messages"],
    2: ["DROP INDEX tickets_created", "DROP INDEX tickets_priority"],
    1: ["DROP TABLE autoreply_count",
        "ALTER TABLE outbox DROP COLUMN delivered",
        "ALTER TABLE outbox DROP COLUMN rejected"],
}
for upto in (3, 2, 1):
    if version <= upto:
        for sql in later[upto]:
            db.execute(sql)
db.execute("COMMIT")
db.execute(f"PRAGMA user_version = {version}")
PY
}

# Rows a migration from version $2 must keep, of the store in $1.
rows() {
	_cols="id, ticket_id, message_id, kind, env_from, rcpts, hex(data), status, attempts,"
	_cols="$_cols next_try, last_error, created, sent_at"
	[ "$2" -ge 2 ] && _cols="$_cols, rejected, delivered"
	[ "$2" -ge 4 ] && _cols="$_cols, quote_of, quote_at"
	_state="key <> 'fts_upto'"
	[ "$2" -le 3 ] && _state="$_state AND key <> 'store_id'"
	for _t in raws intake tickets ticket_tags watchers messages events blobs attachments \
		autoreply_log; do
		echo "-- $_t"
		q "$1" "SELECT * FROM $_t ORDER BY 1, 2"
	done
	[ "$2" -ge 2 ] && echo "-- autoreply_count" && q "$1" "SELECT * FROM autoreply_count ORDER BY 1"
	echo "-- outbox"
	q "$1" "SELECT $_cols FROM outbox ORDER BY id"
	echo "-- state"
	q "$1" "SELECT * FROM state WHERE $_state ORDER BY key"
}
schema() { q "$1" ".schema" | sort; }

for v in 5 4 3 2 1; do
	o=$T_DIR/v$v
	old_desk "$o" "$v"
	check_eq "v$v: a store of schema version $v" "$v" "$(q "$o" "PRAGMA user_version")"
	rows "$o" "$v" >"$T_DIR/before$v"
	rows "$d" "$v" >"$T_DIR/desk$v"
	check "v$v: before the migration it holds the desk's rows" cmp -s "$T_DIR/desk$v" "$T_DIR/before$v"
	check_rc "v$v: db check migrates it and passes" 0 sd "$o" db check
	check_eq "v$v: now at the current version" "$want" "$(q "$o" "PRAGMA user_version")"
	rows "$o" "$v" >"$T_DIR/after$v"
	check "v$v: every row kept" cmp -s "$T_DIR/before$v" "$T_DIR/after$v"
	check_eq "v$v: automatic mail counted per minute as the log says" \
		"$(q "$o" "SELECT at / 60, count(*) FROM autoreply_log GROUP BY 1 ORDER BY 1")" \
		"$(q "$o" "SELECT * FROM autoreply_count ORDER BY 1")"
	schema "$d" >"$T_DIR/schema.new"
	schema "$o" >"$T_DIR/schema$v"
	check "v$v: the schema of a new store" cmp -s "$T_DIR/schema.new" "$T_DIR/schema$v"
	check_eq "v$v: search finds a migrated mail" "[2]" \
		"$(sd "$o" search --json migword2 | ids)"
	check_eq "v$v: the search index is ok and has nothing waiting" "True 0" \
		"$(sd "$o" db check --json | jf "d['search_index']['ok'], d['search_index']['pending']" | tr -d '(),')"
	make_mail "$o/inbox/new/9:2," "new$v@example.org" "n$v@example.org" "About the after$v question"
	sd "$o" fetch >/dev/null 2>&1
	check_eq "v$v: new mail is stored after it, as a new ticket" "4 new" \
		"$(q "$o" "SELECT id || ' ' || status FROM tickets WHERE subject LIKE '%after$v%'")"
	check_rc "v$v: and db check still passes" 0 sd "$o" db check
done

# Newer than this program: refused, both versions named, nothing changed.
n=$T_DIR/newer
make_config "$n"
sqlite3 "$d/secdesk.db" ".backup '$n/secdesk.db'"
q "$n" "PRAGMA user_version = $((want + 1))"
schema "$n" >"$T_DIR/schema.newer"
check_rc "a newer store is refused (data error)" 65 sd "$n" db check
check "the error names the store's version and this program's" \
	grep -q "schema version $((want + 1)), newer than this secdesk ($want)" "$T_DIR/.err"
check_eq "the newer store keeps its version" "$((want + 1))" "$(q "$n" "PRAGMA user_version")"
check "the newer store keeps its schema" cmp -s "$T_DIR/schema.newer" "$T_DIR/schema.new"

# Rows that break a foreign key: the check before the commit refuses the
# migration, which leaves the store at its version with its tables.
b=$T_DIR/broken
old_desk "$b" 4
q "$b" "INSERT INTO events (ticket_id, at, who, what) VALUES (404, 1, 'x', 'y')"
schema "$b" >"$T_DIR/schema.broken"
check_rc "a store with a dangling foreign key is not migrated" 65 sd "$b" db check
check "the error says which table" grep -q "events" "$T_DIR/.err"
check_eq "it stays at version 4" 4 "$(q "$b" "PRAGMA user_version")"
schema "$b" >"$T_DIR/schema.broken2"
check "and keeps its old tables" cmp -s "$T_DIR/schema.broken" "$T_DIR/schema.broken2"

done_testing
