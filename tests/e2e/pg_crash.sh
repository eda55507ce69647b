#!/bin/sh
# No mail lost, none doubled, on PostgreSQL (issue 17): tests/e2e/crash.sh's
# kill -9 storm against a private server (tests/harness/pg.sh; one that
# cannot start is a failure, not a skip). Runs and fetches over a Maildir of
# 1,200 inquiries are killed with SIGKILL at pseudo-random points picked by
# the progress the store shows (rows in intake or messages, counted with
# psql); after each kill nothing is marked seen that the store has not
# committed; a full run then stores every mail once, as one ticket with
# one ack queued, each in the search index once, and db check is clean.
# Then commits that fail (the test hook) and the poison message, as on
# SQLite. The server stopped mid-run is pg_run.sh's case.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/pg.sh"

pg_private

d=$T_DIR/desk
make_config "$d"
printf '%s\n' "$PG_RUN_PASS" >"$d/run.pw"
chmod 0600 "$d/run.pw"
sed -i "s|^path = secdesk.db|url = $PG_URL\npassword_file = run.pw|" "$d/secdesk.conf"
# Batches of 10, so that the store shows a run's progress batch by batch.
sed -i '/^\[mailbox\]/a batch = 10' "$d/secdesk.conf"
# Every ticket's ack queued: the hourly cap on acks above the 1,200 mails.
printf '[ack]\nhourly_limit = 100000\n' >>"$d/secdesk.conf"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { pg_psql -At -F' ' -c "$1"; }
# add_mails FROM TO: inquiries numbered FROM..TO into new/.
add_mails() {
	i=$1
	while [ "$i" -le "$2" ]; do
		make_mail "$d/inbox/new/17$(printf %08d "$i").M$i.host" "crash$i@example.org" "sender$i@example.org" "Crash test $i"
		i=$((i + 1))
	done
}

# The server ends a killed client's session once it sees the socket closed
# (at the end of the statement it was running): until then the mailbox's
# advisory lock is still held. Waits for that, by polling, up to 20 s.
sessions_gone() {
	_w=0
	while [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'secdesk'")" != 0 ]; do
		[ $_w -ge 400 ] && return 1
		sleep 0.05
		_w=$((_w + 1))
	done
}

# pg_kill_at_progress SEED SPREAD CMD...: tests/lib.sh's kill_at_progress
# with the rows counted in PostgreSQL: CMD is killed with SIGKILL once 1 to
# SPREAD more rows are in intake (odd SEED: staged) or in messages (even
# SEED: stored). Returns 0 when it was killed mid-way, 1 when it had ended.
pg_kill_at_progress() {
	_kseed=$1 _kspread=$2
	shift 2
	if [ $((_kseed % 2)) -eq 1 ]; then _ktable=intake; else _ktable=messages; fi
	_ktarget=$(( $(q "SELECT count(*) FROM $_ktable") + 1 + _kseed % _kspread ))
	"$@" >/dev/null 2>&1 &
	_kpid=$!
	while kill -0 "$_kpid" 2>/dev/null && [ "$(q "SELECT count(*) FROM $_ktable")" -lt "$_ktarget" ]; do
		sleep 0.005
	done
	_kkilled=1
	kill -9 "$_kpid" 2>/dev/null || _kkilled=0
	wait "$_kpid" 2>/dev/null
	[ "$_kkilled" -eq 1 ]
}

# The copies marked seen in the Maildir (their keys: the name before ":2,")
# that the store has not committed as stored: none may be.
marked_not_stored() {
	q "SELECT key FROM intake WHERE state = 'stored'" | sort >"$T_DIR/stored.keys"
	ls "$d/inbox/cur" | sed -n 's/^\([^:]*\):2,.*S.*$/\1/p' | sort | comm -23 - "$T_DIR/stored.keys"
}

check_rc "db init" 0 sd db init

# Twelve rounds: 100 new messages each, a run (or, every third round, a
# fetch) killed once the store shows a pseudo-random amount of progress
# (deterministic seed). After each: no copy marked that is not committed.
N=0
seed=7
kills=0
bad=""
for round in 1 2 3 4 5 6 7 8 9 10 11 12; do
	add_mails $((N + 1)) $((N + 100))
	N=$((N + 100))
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	cmd=run
	[ $((round % 3)) -eq 0 ] && cmd=fetch
	if pg_kill_at_progress "$seed" 90 "$SECDESK" -c "$d/secdesk.conf" "$cmd"; then
		kills=$((kills + 1))
	fi
	sessions_gone || bad="$bad round $round: the killed session stayed;"
	m=$(marked_not_stored)
	[ -z "$m" ] || bad="$bad round $round: $(echo "$m" | wc -l) marked, not stored;"
done
echo "# $kills of 12 runs killed mid-way"
check "most runs were killed mid-way ($kills of 12)" test "$kills" -ge 6
check_eq "after each kill: nothing marked seen that is not stored, no session left" "" "$bad"
check_rc "a full run after the kills" 0 sd run
check_eq "no message left in new/" 0 "$(ls "$d/inbox/new" | wc -l)"
check_eq "every message stored exactly once" "$N $N" \
	"$(q "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE direction = 'in'")"
check_eq "every message has its own ticket" "$N" "$(q "SELECT count(*) FROM tickets")"
check_eq "every source message is marked done" "$N" \
	"$(q "SELECT count(*) FROM intake WHERE done = 1 AND state = 'stored'")"
check_eq "  and marked seen in the Maildir" "$N" "$(ls "$d/inbox/cur" | grep -c ':2,.*S')"
check_eq "one acknowledgement queued per ticket" "$N 0" \
	"$(q "SELECT count(DISTINCT ticket_id), count(*) - count(DISTINCT ticket_id) FROM outbox WHERE kind = 'ack'")"
check_eq "kills from outside set no message aside as poison" 0 \
	"$(q "SELECT count(*) FROM tickets WHERE flags & 16 <> 0")"
check_eq "every message in the search index" 0 \
	"$(q "SELECT count(*) FROM messages WHERE direction = 'in' AND search_words IS NULL")"
ids=$(for k in 17 399 1200; do sd search "from:sender$k@example.org" | sed -n 's/^#\([0-9]*\) .*/\1/p'; done | wc -l)
check_eq "  a search finds each sender's one ticket" 3 "$ids"
check_rc "db check" 0 sd db check

# A commit's copies are marked done only once that commit is in the store:
# when a commit fails, the fetch stops with nothing marked that it held,
# and the next run stores nothing twice.
before=$(q "SELECT count(*) FROM messages WHERE direction = 'in'")
add_mails 5001 5030
check_rc "a fetch whose first commit fails exits 74" 74 env SECDESK_FAULT_COMMIT=1 "$SECDESK" -c "$d/secdesk.conf" fetch
check "with a clear message" grep -q "cannot commit: disk I/O error" "$T_DIR/.err"
check_eq "no copy is marked done" 30 "$(ls "$d/inbox/new" | wc -l)"
check_eq "nothing of it is in the store" 0 \
	"$(q "SELECT count(*) - $before FROM messages WHERE direction = 'in'")"
add_mails 5031 5080
check_rc "a fetch whose third commit fails exits 74" 74 env SECDESK_FAULT_COMMIT=3 "$SECDESK" -c "$d/secdesk.conf" fetch
check "though batches were committed" \
	test "$(q "SELECT count(*) FROM intake WHERE state = 'stored'")" -ge $((before + 10))
marked=$(ls "$d/inbox/cur" | sed -n 's/^\(1700005[0-9]*\.M\([0-9]*\)\.[^:]*\).*/\2 \1/p' |
	awk '$1 > 5000 && $1 <= 5080 { print $2 }')
echo "# $(echo "$marked" | grep -c .) of the 80 new copies marked before the third commit failed"
check "some were marked" test "$(echo "$marked" | grep -c .)" -ge 10
check_eq "every copy marked done is stored" "" "$(marked_not_stored)"
check_rc "then a fetch without faults" 0 sd fetch
check_eq "no message left in new/" 0 "$(ls "$d/inbox/new" | wc -l)"
check_eq "each of the 80 is stored once" "80 80" \
	"$(q "SELECT count(*) - $before, count(DISTINCT message_id) - $before FROM messages WHERE direction = 'in'")"
check_eq "and every copy is marked done" 0 "$(q "SELECT count(*) FROM intake WHERE done = 0")"

# The poison message: it kills the parser each time; after three attempts it
# is set aside, flagged, and the messages around it are stored.
make_mail "$d/inbox/new/1800000001.M1.host" "before@example.org" before@example.org "Before"
make_mail "$d/inbox/new/1800000002.M2.host" "poison@example.org" poison@example.org "POISON-PILL"
make_mail "$d/inbox/new/1800000003.M3.host" "after@example.org" after@example.org "After"
runs=0
while [ $runs -lt 6 ]; do
	SECDESK_FAULT_PARSE_CRASH=POISON-PILL sd run >/dev/null 2>&1 && break
	runs=$((runs + 1))
	sessions_gone || true
done
check "the crashing runs end within six tries ($runs crashed)" test $runs -lt 6
check_eq "the poison message is set aside as a flagged ticket" 1 \
	"$(q "SELECT count(*) FROM tickets WHERE flags & 16 <> 0")"
check_eq "its raw bytes are kept" 1 \
	"$(q "SELECT count(*) FROM messages m JOIN raws r ON r.id = m.raw_id WHERE m.flags & 128 <> 0 AND position('POISON-PILL'::bytea IN r.data) > 0")"
check_eq "the messages around it are stored" 2 \
	"$(q "SELECT count(*) FROM messages WHERE message_id IN ('before@example.org', 'after@example.org')")"
check_eq "the poison ticket gets no acknowledgement" 0 \
	"$(q "SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE t.flags & 16 <> 0")"
check_eq "nothing left in new/" 0 "$(ls "$d/inbox/new" | wc -l)"
check_rc "db check at the end" 0 sd db check
done_testing
