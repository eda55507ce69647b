#!/bin/sh
# The hourly breaker of automatic mail ([ack] hourly_limit), counted per
# minute in autoreply_count (schema step 2): it holds at the limit, still
# holds within the hour, lets mail through again once the hour has passed,
# limits set to 0 keep no records, and a store of schema version 1 keeps
# its count across the migration.
. "$TOP/tests/lib.sh"

d=$T_DIR/desk
make_config "$d"
printf '[ack]\nhourly_limit = 3\nper_sender_limit = 0\n' >>"$d/secdesk.conf"
q() { store_sql "$d" "$1"; }
t0=1794999960 # a fixed clock (SECDESK_NOW), at the start of a minute
at() { # SECONDS-AFTER-t0 ARGS...: secdesk with the clock set
	_at=$1
	shift
	env SECDESK_NOW=$((t0 + _at)) "$SECDESK" -c "$d/secdesk.conf" "$@"
}
acks() { q "SELECT count(*) FROM outbox WHERE kind = 'ack'"; }

for i in 1 2 3 4 5; do
	make_mail "$T_DIR/m$i.eml" "br-$i@example.org" "p$i@example.org" "Question $i"
	at $((i * 10)) -q ingest "$T_DIR/m$i.eml" >/dev/null 2>&1
done
check_eq "three acks, then the breaker holds" 3 "$(acks)"
check_eq "counted per minute" "29916666 3" "$(q "SELECT minute || ' ' || n FROM autoreply_count")"
check_eq "the two held back say why" 2 \
	"$(q "SELECT count(*) FROM events WHERE what = 'no-ack' AND new_value LIKE 'hourly limit%'")"
check_eq "staff are told (state row)" 1 "$(q "SELECT count(*) FROM state WHERE key = 'ack_breaker'")"

make_mail "$T_DIR/m6.eml" "br-6@example.org" "p6@example.org" "Question 6"
at 1800 -q ingest "$T_DIR/m6.eml" >/dev/null 2>&1
check_eq "half an hour later: still held" 3 "$(acks)"

make_mail "$T_DIR/m7.eml" "br-7@example.org" "p7@example.org" "Question 7"
at 3700 -q ingest "$T_DIR/m7.eml" >/dev/null 2>&1
check_eq "an hour later: automatic mail goes out again" 4 "$(acks)"
check_eq "in a new minute row" 2 "$(q "SELECT count(*) FROM autoreply_count")"

# send prunes the counts older than two hours (and the log as before).
at 20000 -q send >/dev/null 2>&1
check_eq "send prunes old minutes" 0 "$(q "SELECT count(*) FROM autoreply_count")"

# --- limits set to 0 are off and keep no records ---
d=$T_DIR/desk0
make_config "$d"
printf '[ack]\nhourly_limit = 0\nper_sender_limit = 0\n' >>"$d/secdesk.conf"
at 0 -q ingest "$T_DIR/m1.eml" >/dev/null 2>&1
check_eq "limits off: acked, nothing logged or counted" "1 0 0" \
	"$(acks) $(q "SELECT count(*) FROM autoreply_log") $(q "SELECT count(*) FROM autoreply_count")"

# --- migration: a store of schema version 1 with automatic mail logged ---
if store_is_pg; then
	skip "sqlite only: SQLite's schema version 1 laid out by hand"
	done_testing
	exit
fi
d=$T_DIR/desk1
make_config "$d"
printf '[ack]\nhourly_limit = 3\nper_sender_limit = 0\n' >>"$d/secdesk.conf"
"$SECDESK" -q -c "$d/secdesk.conf" db init >/dev/null 2>&1
store_sql "$d" "ALTER TABLE outbox DROP COLUMN rejected;
ALTER TABLE outbox DROP COLUMN delivered; DROP TABLE autoreply_count;
ALTER TABLE outbox DROP COLUMN quote_of; ALTER TABLE outbox DROP COLUMN quote_at;
DROP INDEX tickets_created; DROP INDEX tickets_priority;
PRAGMA user_version = 1;
INSERT INTO autoreply_log (addr, at) VALUES ('a@example.org', $t0 - 600),
 ('b@example.org', $t0 - 500), ('c@example.org', $t0 - 400);"
check_eq "a version 1 store" 1 "$(q "PRAGMA user_version")"
make_mail "$T_DIR/n1.eml" "mig-1@example.org" "q1@example.org" "Question after upgrade"
check_rc "ingest migrates it" 0 at 0 ingest "$T_DIR/n1.eml"
check_eq "now the current version" \
	"$("$SECDESK" -c "$d/secdesk.conf" db check --json | python3 -c "import json,sys; print(json.load(sys.stdin)['expected_schema_version'])")" \
	"$(q "PRAGMA user_version")"
check_eq "with the list indexes of step 3" 2 \
	"$(q "SELECT count(*) FROM sqlite_master WHERE name IN ('tickets_created', 'tickets_priority')")"
check_eq "the log became counts" 3 "$(q "SELECT sum(n) FROM autoreply_count")"
check_eq "so the breaker still holds" 0 "$(acks)"
check_eq "the outbox has the new columns" 2 \
	"$(q "SELECT count(*) FROM pragma_table_info('outbox') WHERE name IN ('rejected', 'delivered')")"
done_testing
