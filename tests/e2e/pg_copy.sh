#!/bin/sh
# secdesk db copy (issue 17, moving a desk): a SQLite desk with tickets,
# attachments, a merge, tags, notes, replies, sent and pending mail is
# copied into an empty PostgreSQL database (a private server,
# tests/harness/pg.sh: one that cannot start is a failure) and from there
# into a new SQLite file; the copy back has every row of the original,
# byte for byte, table by table. A store that is not empty is refused.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/pg.sh"

pg_private
# The ticket and intake areas come from another branch: until they are in,
# the PostgreSQL store opens for what this test does (copy, check) only.
export SECDESK_USER=alice TZ=UTC

d=$T_DIR/desk
make_config "$d"
printf '%s\n' "$PG_RUN_PASS" >"$d/run.pw"
chmod 0600 "$d/run.pw"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
pg_url="$PG_URL?password_file=$d/run.pw"

# A desk: five inquiries, one with two attachments (one binary with every
# byte value), replies sent, one reply still queued, a merge, tags, notes.
i=0
for who in anna marco jan laura pierre; do
	i=$((i + 1))
	if [ "$i" -eq 2 ]; then
		python3 - "$T_DIR/m$i.eml" <<'PY'
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Marco Rossi <marco@unimi.it>"
m["To"] = "secretariat@icpermed.example"
m["Subject"] = "Membership form, Zürich"
m["Message-ID"] = "<copy-2@example.org>"
m["Date"] = "Mon, 2 Nov 2026 10:00:00 +0000"
m.set_content("Please find the form attached.\n\tTabs\\backslashes 'quotes' \"dq\"\n")
m.add_attachment(bytes(range(256)) * 40, maintype="application", subtype="octet-stream",
                 filename="form.bin")
m.add_attachment("Ärger über Öl\n", subtype="plain", filename="notes.txt")
open(sys.argv[1], "wb").write(bytes(m))
PY
	else
		make_mail "$T_DIR/m$i.eml" "<copy-$i@example.org>" "$who@example.org" "Question $i from $who"
	fi
	SECDESK_NOW=$((1793620800 + i * 86400)) sd ingest "$T_DIR/m$i.eml" >/dev/null ||
		not_ok "ingest of mail $i"
done
sd send >/dev/null || not_ok "send the acknowledgements"
sd reply 1 -m "An answer, sent." >/dev/null || not_ok "reply 1"
sd send >/dev/null || not_ok "send the reply"
sd reply 3 -m "An answer still queued." >/dev/null || not_ok "reply 3"
sd tag 2 membership >/dev/null && sd note 2 -m "A note with 'quotes'" >/dev/null &&
	sd status 4 closed >/dev/null && sd merge 5 1 >/dev/null || not_ok "staff changes"

lite() { sqlite3 "$1" "$2"; }
check_eq "the desk has an attachment with every byte" "2" \
	"$(lite "$d/secdesk.db" 'SELECT count(*) FROM attachments')"
check "  and a queued mail and a sent one" test \
	"$(lite "$d/secdesk.db" "SELECT count(DISTINCT status) FROM outbox WHERE status IN ('sent','pending')")" = 2

check_rc "db copy --to postgresql" 0 sd db copy --to "$pg_url"
check "  names every table with its counts" grep -qE '^  attachments +2 +2$' "$T_DIR/.out"
check "  and says both stores are ok" grep -q "ok, schema version 3, the same rows as" "$T_DIR/.out"
check_eq "  the tickets kept their ids" "$(lite "$d/secdesk.db" 'SELECT group_concat(id) FROM (SELECT id FROM tickets ORDER BY id)')" \
	"$(pg_psql -At -c 'SELECT string_agg(id::text, $$,$$ ORDER BY id) FROM tickets')"
check_eq "  the Message-IDs" "$(lite "$d/secdesk.db" "SELECT group_concat(message_id, ' ') FROM (SELECT message_id FROM messages ORDER BY id)")" \
	"$(pg_psql -At -c "SELECT string_agg(message_id, ' ' ORDER BY id) FROM messages")"
check_eq "  the events" "$(lite "$d/secdesk.db" "SELECT count(*), sum(ticket_id), group_concat(what, ',') FROM (SELECT * FROM events ORDER BY id)")" \
	"$(pg_psql -At -F'|' -c "SELECT count(*), sum(ticket_id), string_agg(what, ',' ORDER BY id) FROM events")"
check_eq "  the outbox state" "$(lite "$d/secdesk.db" "SELECT group_concat(id || status || attempts || length(data), ',') FROM (SELECT * FROM outbox ORDER BY id)")" \
	"$(pg_psql -At -c "SELECT string_agg(id || status || attempts || length(data), ',' ORDER BY id) FROM outbox")"
check_eq "  the attachments' bytes" \
	"$(lite "$d/secdesk.db" "SELECT sha256, lower(hex(data)) FROM blobs ORDER BY sha256" | md5sum)" \
	"$(pg_psql -At -c "SELECT sha256, encode(data, 'hex') FROM blobs ORDER BY sha256" | md5sum)"
check_eq "  the searchable words, indexed" "0" \
	"$(pg_psql -At -c "SELECT count(*) FROM messages WHERE search_words IS NULL AND kind NOT IN ('ack','notice','remind')")"
check_eq "  new ids follow the copied" "$(($(lite "$d/secdesk.db" 'SELECT max(id) FROM tickets') + 1))" \
	"$(pg_psql -At -c "SELECT nextval(pg_get_serial_sequence('tickets', 'id'))")"
check_eq "  the target keeps its own store id" "2" \
	"$(printf '%s\n%s\n' "$(lite "$d/secdesk.db" "SELECT value FROM state WHERE key = 'store_id'")" \
		"$(pg_psql -At -c "SELECT value FROM state WHERE key = 'store_id'")" | sort -u | wc -l)"

check_rc "a second copy into the same database is refused" 73 sd db copy --to "$pg_url"
check "  saying it is not empty" grep -q "is not empty" "$T_DIR/.err"
check_eq "  and changes nothing" "5" "$(pg_psql -At -c 'SELECT count(*) FROM tickets')"

# db check on the PostgreSQL store.
p=$T_DIR/pgdesk
make_config "$p"
cp "$d/run.pw" "$p/run.pw"
sed -i "s|^path = secdesk.db|url = $PG_URL\npassword_file = run.pw|" "$p/secdesk.conf"
pd() { "$SECDESK" -c "$p/secdesk.conf" "$@"; }
check_rc "db check on the copy" 0 pd db check
check "  ok" grep -q "ok, schema version 3" "$T_DIR/.out"
check "  its search index in the store, nothing waiting" grep -qx \
	"search index $PG_URL (messages.search_words): ok, 0 messages waiting to be indexed" "$T_DIR/.out"
check_rc "db reindex on the copy" 0 pd db reindex
people=$(lite "$d/secdesk.db" "SELECT count(*) FROM messages WHERE kind NOT IN ('ack','notice','remind')")
check "  indexes every message people wrote ($people)" grep -qx \
	"search index $PG_URL: $people messages indexed" "$T_DIR/.out"
check_rc "db check --json on the copy" 0 pd db check --json
check_eq "  integrity and references ok" "True [] True" "$(python3 -c "import json,sys; d=json.load(sys.stdin); print(d['integrity_ok'], d['foreign_keys'], d['search_index']['ok'])" <"$T_DIR/.out")"

check_rc "db backup of the PostgreSQL store (pg_dump)" 0 pd db backup "$T_DIR/pg.dump"
check "  a dump pg_restore reads, with the tickets' rows" sh -c \
	"'$PG_BIN/pg_restore' --list '$T_DIR/pg.dump' | grep -q 'TABLE DATA public tickets'"
check_eq "  readable by its owner only" "600" "$(stat -c %a "$T_DIR/pg.dump")"
check "  no temporary file left" test ! -e "$T_DIR/pg.dump.tmp"
check_rc "db backup into a folder that is not there" 73 pd db backup "$T_DIR/nowhere/pg.dump"

# And back: from PostgreSQL into a new SQLite file, the same rows.
check_rc "db copy --to sqlite:FILE from the PostgreSQL store" 0 pd db copy --to "sqlite:$T_DIR/back.db"
check_rc "db check on the copy back" 0 sqlite3 "$T_DIR/back.db" 'PRAGMA integrity_check'
for t in raws tickets ticket_tags watchers messages intake events blobs attachments outbox \
	autoreply_log autoreply_count state; do
	where=""
	[ "$t" = state ] && where="WHERE key <> 'store_id'"
	q="SELECT * FROM $t $where ORDER BY 1, 2"
	# .mode quote: every value typed and whole (blobs as X'...').
	sqlite3 -cmd '.mode quote' "$d/secdesk.db" "$q" >"$T_DIR/a.rows"
	sqlite3 -cmd '.mode quote' "$T_DIR/back.db" "$q" >"$T_DIR/b.rows"
	check "  $t: the same rows after the round trip" \
		cmp -s "$T_DIR/a.rows" "$T_DIR/b.rows"
done
check_eq "  none of them empty where the desk has rows" "5 5 1 1 2 2" \
	"$(lite "$T_DIR/back.db" "SELECT (SELECT count(*) FROM raws), (SELECT count(*) FROM tickets),
		(SELECT count(*) FROM ticket_tags), (SELECT count(*) FROM watchers),
		(SELECT count(*) FROM blobs), (SELECT count(*) FROM attachments)" | tr '|' ' ')"
check_eq "  with the same value types" \
	"$(lite "$d/secdesk.db" "SELECT group_concat(typeof(data) || typeof(quote_of) || typeof(sent_at)) FROM outbox")" \
	"$(lite "$T_DIR/back.db" "SELECT group_concat(typeof(data) || typeof(quote_of) || typeof(sent_at)) FROM outbox")"
b=$T_DIR/backdesk
make_config "$b"
cp "$T_DIR/back.db" "$b/secdesk.db"
bd() { "$SECDESK" -c "$b/secdesk.conf" "$@"; }
check_rc "the copy back is a working desk: db check" 0 bd db check
check_eq "  search finds the attachment's mail" "[2]" \
	"$(bd search --json membership | python3 -c "import json,sys; print(sorted(t['id'] for t in json.load(sys.stdin)))")"
check_rc "  show of a merged ticket" 0 bd show 1
done_testing
