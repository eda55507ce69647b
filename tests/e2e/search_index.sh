#!/bin/sh
# The search index in its own file (STORE-search) through the real binary:
# fetch and ingest index what they store; search catches up on what was
# stored without it; a missing, damaged, foreign or stale index is rebuilt
# from the store; db reindex and db check report it. Nothing here is lost
# with the index: the store keeps the text.
. "$TOP/tests/lib.sh"
sqlite_only "SQLite's search index file beside the store (STORE-search); PostgreSQL's index is in its database (pg_store.sh)"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
ids() { python3 -c "import json,sys; print(sorted(t['id'] for t in json.load(sys.stdin)))"; }
idx=$d/secdesk.db-search

# Mail whose subject carries one word of its own, to search for.
word_mail() {
	make_mail "$1" "$2@example.org" "$2@example.org" "About the $3 question"
}

for i in 1 2 3; do
	word_mail "$d/inbox/new/$i:2," "f$i" "fetchword$i"
done
sd fetch >/dev/null 2>"$T_DIR/fetch.err"
check_eq "fetch stores three tickets" 0 $?
check "fetch writes the index file beside the store" test -s "$idx"
check_eq "fetch leaves nothing to index" 0 \
	"$(sd db check --json | python3 -c "import json,sys; print(json.load(sys.stdin)['search_index']['pending'])")"
check_eq "a word of the second mail finds its ticket" "[2]" "$(sd search --json fetchword2 | ids)"
check_eq "the index is readable by whom the store is (mode)" \
	"$(stat -c %a "$d/secdesk.db")" "$(stat -c %a "$idx")"

word_mail "$T_DIR/i4.eml" i4 ingestword
sd ingest "$T_DIR/i4.eml" >/dev/null
check_eq "ingest indexes its mail at once" 0 \
	"$(sd db check --json | python3 -c "import json,sys; print(json.load(sys.stdin)['search_index']['pending'])")"
check_eq "search finds the ingested mail" "[4]" "$(sd search --json ingestword | ids)"

# The store changed behind the index's back (here: the sqlite3 shell adds a
# message): search catches up before it looks.
if command -v sqlite3 >/dev/null 2>&1; then
	store_sql "$d" "INSERT INTO messages (ticket_id, direction, kind, subject, body,
		created) VALUES (1, 'in', 'followup', 'later', 'a shellword arrives', 0)"
	check_eq "db check counts the message waiting" 1 \
		"$(sd db check --json | python3 -c "import json,sys; print(json.load(sys.stdin)['search_index']['pending'])")"
	check_eq "search indexes what was stored without it" "[1]" "$(sd search --json shellword | ids)"
else
	skip "search catches up on a message added by the sqlite3 shell" "no sqlite3 shell"
	skip "db check counts the message waiting" "no sqlite3 shell"
fi

# Missing index: built again from the store.
rm -f "$idx" "$idx-wal" "$idx-shm"
check_eq "without its index file, search still finds every ticket" "[1, 2, 3, 4]" \
	"$(sd search --json question | ids)"
check "the index file is back" test -s "$idx"

# Damaged index: replaced, with a warning, and searched.
rm -f "$idx-wal" "$idx-shm"
printf 'this is not a database, it was damaged by a disk or a person %.0s' $(seq 1 200) >"$idx"
sd search --json fetchword3 >"$T_DIR/dmg.json" 2>"$T_DIR/dmg.err"
check_eq "a damaged index: search exits 0" 0 $?
check_eq "a damaged index: search finds the ticket after the rebuild" "[3]" "$(ids <"$T_DIR/dmg.json")"
check "a damaged index: search says it rebuilds it" grep -q "damaged" "$T_DIR/dmg.err"

# An index of another store (copied beside this one) is not used.
d2=$T_DIR/other
make_config "$d2"
word_mail "$d2/inbox/new/1:2," o1 otherword
"$SECDESK" -c "$d2/secdesk.conf" fetch >/dev/null 2>&1
cp "$d2/secdesk.db-search" "$idx"
rm -f "$idx-wal" "$idx-shm"
check_eq "another store's index: its words find nothing here" "[]" \
	"$(sd search --json otherword | ids)"
check_eq "another store's index: this store's words are found" "[2]" \
	"$(sd search --json fetchword2 | ids)"

# A store restored from a backup: the index saw messages the store no longer
# has, and the store reuses their ids for other mail.
sd db backup "$T_DIR/backup.db" >/dev/null
word_mail "$T_DIR/i5.eml" i5 lostword
sd ingest "$T_DIR/i5.eml" >/dev/null
check_eq "before the restore, the later mail is found" "[5]" "$(sd search --json lostword | ids)"
cp "$T_DIR/backup.db" "$d/secdesk.db"
rm -f "$d/secdesk.db-wal" "$d/secdesk.db-shm"
check_eq "after the restore, the mail the store lost is not found" "[]" \
	"$(sd search --json lostword | ids)"
word_mail "$T_DIR/i6.eml" i6 newword
sd ingest "$T_DIR/i6.eml" >/dev/null
check_eq "after the restore, new mail under the reused ids is found" "[5]" \
	"$(sd search --json newword | ids)"
check_eq "after the restore, no stale word finds the reused ticket" "[]" \
	"$(sd search --json lostword | ids)"

# db reindex
sd db reindex >"$T_DIR/reindex.out"
check_eq "db reindex exits 0" 0 $?
check "db reindex says how many messages it indexed" \
	grep -q "secdesk.db-search: [0-9][0-9]* messages indexed" "$T_DIR/reindex.out"
check_eq "after db reindex, search finds the same" "[1, 2, 3, 4, 5]" \
	"$(sd search --json question | ids)"
check_rc "db reindex with an argument is a usage error" 64 sd db reindex x

# A store of schema version 3 kept its index inside (messages_fts): the
# migration drops it, gives the store an id, and search works from the file.
if command -v sqlite3 >/dev/null 2>&1; then
	d3=$T_DIR/v3
	make_config "$d3"
	"$SECDESK" -q -c "$d3/secdesk.conf" db init >/dev/null 2>&1
	store_sql "$d3" "CREATE VIRTUAL TABLE messages_fts USING fts5(subject, body,
		names, content='messages', content_rowid='id',
		tokenize='unicode61 remove_diacritics 2');
		DELETE FROM state WHERE key = 'store_id';
		ALTER TABLE outbox DROP COLUMN quote_of; ALTER TABLE outbox DROP COLUMN quote_at;
		INSERT INTO state (key, value) VALUES ('fts_upto', '0');
		PRAGMA user_version = 3;"
	word_mail "$d3/inbox/new/1:2," v3 upgradeword
	"$SECDESK" -c "$d3/secdesk.conf" fetch >/dev/null 2>&1
	check_eq "a version 3 store: the old index table and its state are gone" "0 0" \
		"$(store_sql "$d3" "SELECT count(*) FROM sqlite_master WHERE name LIKE 'messages_fts%'; SELECT count(*) FROM state WHERE key = 'fts_upto'" | tr '\n' ' ' | sed 's/ $//')"
	check_eq "a version 3 store: it has an id now" 32 \
		"$(store_sql "$d3" "SELECT length(value) FROM state WHERE key = 'store_id'")"
	check_eq "a version 3 store: search finds its mail" "[1]" \
		"$("$SECDESK" -c "$d3/secdesk.conf" search --json upgradeword | ids)"
else
	for n in 1 2 3; do skip "migration from schema version 3 ($n)" "no sqlite3 shell"; done
fi

# An index made before words were folded (tokenizer unicode61), and up to
# date by its state: its table is made again and filled, so that a folded
# spelling finds the mail.
make_mail "$T_DIR/fold.eml" fold@example.org fold@example.org "Grüße aus Łódź"
sd ingest "$T_DIR/fold.eml" >/dev/null
check_eq "an ASCII spelling of ß and Ł finds the mail" 1 \
	"$(sd search --json grusse lodz | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")"
sqlite3 "$idx" "DROP TABLE messages_fts;
	CREATE VIRTUAL TABLE messages_fts USING fts5(subject, body, names, content='',
		tokenize='unicode61 remove_diacritics 2');"
check_eq "with an index of the old tokenizer too" 1 \
	"$(sd search --json grusse lodz | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")"
check "the index's table has the folding tokenizer again" \
	sh -c "sqlite3 '$idx' \"SELECT sql FROM sqlite_schema WHERE name = 'messages_fts'\" | grep -q \"tokenize='secdesk'\""

sd db check >"$T_DIR/check.out"
check_eq "db check exits 0" 0 $?
check "db check reports the index on its own line" \
	grep -q "^search index $idx: ok, 0 messages waiting to be indexed" "$T_DIR/check.out"

done_testing
